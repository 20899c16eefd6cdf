"""The default mailer (MAILERS) comes from the environment: console in debug, SMTP otherwise."""

import json

from tests.test_settings import PRODUCTION, run

PROBE = """
import json
from config import settings as s
mailer = s.MAILERS["default"]
print(json.dumps({"backend": mailer["BACKEND"], **mailer.get("OPTIONS", {}), **{
    k: getattr(s, k) for k in ("DEFAULT_FROM_EMAIL", "INVITATION_DAYS", "ALLOW_SIGNUP")}}))
"""
SMTP = "django.core.mail.backends.smtp.EmailBackend"


def probe(**env):
    result = run(PROBE, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_debug_prints_emails_to_the_console():
    s = probe(DEBUG="true")
    assert s["backend"] == "django.core.mail.backends.console.EmailBackend"
    assert (s["INVITATION_DAYS"], s["ALLOW_SIGNUP"]) == (14, False)


def test_production_sends_by_smtp_from_email_url():
    s = probe(
        **PRODUCTION,
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.org:587",
        DEFAULT_FROM_EMAIL="Workbench <wb@example.org>",
    )
    assert s["backend"] == SMTP
    assert (s["host"], s["port"], s["use_tls"]) == ("smtp.example.org", 587, True)
    assert (s["username"], s["password"]) == ("mailer", "secret")
    assert s["DEFAULT_FROM_EMAIL"] == "Workbench <wb@example.org>"
    assert s["timeout"] == 10


def test_smtp_from_separate_variables_even_in_debug():
    s = probe(
        DEBUG="true",
        EMAIL_HOST="mail.example.org",
        EMAIL_PORT="2525",
        EMAIL_HOST_USER="u",
        EMAIL_HOST_PASSWORD="p",
        EMAIL_USE_TLS="true",
        INVITATION_DAYS="7",
        ALLOW_SIGNUP="true",
    )
    assert s["backend"] == SMTP
    assert (s["host"], s["port"], s["use_tls"]) == ("mail.example.org", 2525, True)
    assert (s["INVITATION_DAYS"], s["ALLOW_SIGNUP"]) == (7, True)


def test_production_without_configuration_uses_smtp_on_localhost():
    s = probe(**PRODUCTION)
    assert (s["backend"], s["host"], s["port"]) == (SMTP, "localhost", 25)
