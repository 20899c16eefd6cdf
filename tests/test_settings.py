"""config.settings reads the environment: each case imports it afresh in a subprocess."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "workbench.example.org",
}
IGNORED = {
    "DATABASE_URL",
    "DEBUG",
    "SECRET_KEY",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}

PROBE = """
import json
from config import settings as s
db = s.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST", ""),
    "user": db.get("USER", ""), "options": db.get("OPTIONS", {}), "debug": s.DEBUG,
    "hosts": s.ALLOWED_HOSTS, "static": s.STORAGES["staticfiles"]["BACKEND"],
    "upload": s.IMPORT_MAX_UPLOAD_BYTES, "ssl_redirect": getattr(s, "SECURE_SSL_REDIRECT", False),
}))
"""


def run(code_or_args, **env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in IGNORED}
    env.update(env_overrides)
    args = code_or_args if isinstance(code_or_args, list) else ["-c", code_or_args]
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def probe(**env):
    result = run(PROBE, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_default_is_sqlite_in_the_project_folder_tuned_for_concurrent_writers():
    s = probe(**PRODUCTION)
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["name"] == str(ROOT / "db.sqlite3")
    assert s["options"]["transaction_mode"] == "IMMEDIATE"
    assert "busy_timeout" in s["options"]["init_command"]


def test_database_url_switches_to_postgresql():
    s = probe(**PRODUCTION, DATABASE_URL="postgres://postgres@127.0.0.1:5432/test")
    assert s["engine"] == "django.db.backends.postgresql"
    assert (s["name"], s["host"], s["user"]) == ("test", "127.0.0.1", "postgres")
    assert s["options"] == {}


def test_production_web_server_needs_a_secret_key():
    result = run("import config.wsgi", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set in the environment when DEBUG is off." in result.stderr
    assert run("import config.wsgi", **PRODUCTION).returncode == 0


def test_terminal_commands_run_without_a_secret_key(tmp_path):
    data = tmp_path / "studies.csv"
    data.write_text("study,yi,vi\nA,0.1,0.01\nB,0.3,0.02\nC,0.2,0.015\n")
    result = run(
        ["manage.py", "meta_analyze", str(data), "--measure", "GEN", "--json"], DEBUG="false"
    )
    assert result.returncode == 0, result.stderr
    assert '"k": 3' in result.stdout


def test_debug_mode_works_with_no_configuration():
    s = probe(DEBUG="true")
    assert s["debug"] is True
    assert "127.0.0.1" in s["hosts"]
    assert s["static"] == "django.contrib.staticfiles.storage.StaticFilesStorage"
    assert s["ssl_redirect"] is False


def test_production_serves_hashed_static_files_over_https():
    s = probe(**PRODUCTION)
    assert s["debug"] is False and s["hosts"] == ["workbench.example.org"]
    assert s["static"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert s["ssl_redirect"] is True


def test_upload_limit_comes_from_the_environment():
    assert probe(**PRODUCTION)["upload"] == 200 * 1024 * 1024
    assert probe(**PRODUCTION, IMPORT_MAX_UPLOAD_MB="5")["upload"] == 5 * 1024 * 1024


def test_check_deploy_passes_without_warnings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


PROXY_PROBE = """
import json
from config import settings as s
print(json.dumps({
    "proxies": s.TRUSTED_PROXIES, "csrf": s.CSRF_TRUSTED_ORIGINS, "hosts": s.ALLOWED_HOSTS,
    "ssl_header": list(getattr(s, "SECURE_PROXY_SSL_HEADER", None) or []),
    "sessions": getattr(s, "SESSION_ENGINE", "django.contrib.sessions.backends.db"),
}))
"""


def test_behind_a_reverse_proxy_every_setting_it_needs_comes_from_the_environment():
    """docs/operations.md's nginx set-up: hosts, CSRF origins, the HTTPS header, the proxies."""
    result = run(
        PROXY_PROBE,
        **{**PRODUCTION, "ALLOWED_HOSTS": "workbench.example.org,www.workbench.example.org"},
        CSRF_TRUSTED_ORIGINS="https://workbench.example.org",
        SECURE_PROXY_SSL_HEADER_HTTPS="true",
        TRUSTED_PROXIES="127.0.0.1,10.0.0.0/24",
    )
    assert result.returncode == 0, result.stderr
    s = json.loads(result.stdout)
    assert s["hosts"] == ["workbench.example.org", "www.workbench.example.org"]
    assert s["csrf"] == ["https://workbench.example.org"]
    assert s["ssl_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert s["proxies"] == ["127.0.0.1", "10.0.0.0/24"]


def test_by_default_no_proxy_is_trusted_and_no_proxy_header_read():
    s = json.loads(run(PROXY_PROBE, **PRODUCTION).stdout)
    assert s["proxies"] == [] and s["ssl_header"] == [] and s["csrf"] == []


def test_a_bad_trusted_proxy_stops_the_start_up_naming_it():
    result = run(PROXY_PROBE, **PRODUCTION, TRUSTED_PROXIES="127.0.0.1,nginx.local")
    assert result.returncode != 0
    assert "TRUSTED_PROXIES: 'nginx.local' is not an IP address or network." in result.stderr


def test_sessions_live_in_the_database_so_every_web_server_shares_them():
    """Several gunicorns (docs/operations.md) share nothing but the database."""
    s = json.loads(run(PROXY_PROBE, **PRODUCTION).stdout)
    assert s["sessions"] in (
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
    )


def test_check_deploy_passes_behind_a_proxy():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        **PRODUCTION,
        SECURE_PROXY_SSL_HEADER_HTTPS="true",
        CSRF_TRUSTED_ORIGINS="https://workbench.example.org",
        TRUSTED_PROXIES="127.0.0.1",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_wsgi_module_imports_the_url_configuration_before_any_request():
    """A cold web worker's first request imported the URL conf (scikit-learn, scipy, matplotlib:
    seconds of CPU). Four workers doing it at once on a busy 2-core machine overran gunicorn's
    30 s timeout and the login page answered 500 (bench scale); now it happens at start-up, once
    in the master with `gunicorn --preload`."""
    code = "import sys, config.wsgi; print('config.urls' in sys.modules, 'sklearn' in sys.modules)"
    result = run(code, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]
