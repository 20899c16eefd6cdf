"""Password-reset throttling: reset mails per e-mail address and per client address, counted in
the database, with the same neutral answer whether a mail was sent, refused or never possible."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests import factories

pytestmark = pytest.mark.django_db


def ask(client, email, address="10.0.0.1"):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)


def mails_to(email):
    return [m for m in mail.outbox if email in m.to]


def neutral(response):
    """What the asker sees: the status and where it leads, the same for every answer."""
    return response.status_code, response.headers.get("Location")


@pytest.fixture
def ada(db):
    return factories.UserFactory(username="ada", email="ada@example.org")


@pytest.fixture
def later(monkeypatch):
    real_now = timezone.now

    def _later(minutes):
        monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(minutes=minutes))

    return _later


def test_fifty_requests_send_at_most_the_limit_of_mails_with_the_same_answer(client, ada, settings):
    settings.PASSWORD_RESET_LIMIT = 3
    first = ask(client, "ada@example.org")
    answers = {neutral(first)} | {neutral(ask(client, "ada@example.org")) for _ in range(49)}
    assert answers == {(302, reverse("password_reset_done"))}
    assert len(mails_to("ada@example.org")) == 3


def test_the_default_limit_is_a_few_mails_an_hour(client, ada):
    for _ in range(20):
        ask(client, "ada@example.org")
    assert 1 <= len(mails_to("ada@example.org")) <= 5


def test_the_e_mail_limit_holds_across_addresses_and_letter_case(client, ada, settings):
    settings.PASSWORD_RESET_LIMIT = 2
    ask(client, "ada@example.org", "10.0.0.1")
    ask(client, "ADA@example.org", "10.0.0.2")
    ask(client, "Ada@Example.org", "10.0.0.3")
    assert len(mails_to("ada@example.org")) == 2


def test_the_address_limit_counts_requests_for_many_e_mails(client, ada, settings):
    settings.PASSWORD_RESET_LIMIT = 100
    settings.PASSWORD_RESET_LIMIT_ADDRESS = 4
    for n in range(4):
        ask(client, f"someone{n}@example.org", "10.0.0.9")
    assert neutral(ask(client, "ada@example.org", "10.0.0.9")) == (
        302,
        reverse("password_reset_done"),
    )
    assert mails_to("ada@example.org") == []
    # another address may still ask for ada
    ask(client, "ada@example.org", "10.0.0.10")
    assert len(mails_to("ada@example.org")) == 1


def test_an_unknown_e_mail_counts_and_gets_the_same_answer(client, ada, settings):
    settings.PASSWORD_RESET_LIMIT = 2
    ghost = [neutral(ask(client, "ghost@example.org")) for _ in range(3)]
    real = [neutral(ask(client, "ada@example.org")) for _ in range(3)]
    assert ghost == real
    from accounts.models import PasswordResetRequest

    assert PasswordResetRequest.objects.filter(email="ghost@example.org").count() == 2


def test_the_limit_lifts_after_the_window(client, ada, settings, later):
    settings.PASSWORD_RESET_LIMIT = 2
    settings.PASSWORD_RESET_WINDOW_MINUTES = 60
    for _ in range(3):
        ask(client, "ada@example.org")
    assert len(mails_to("ada@example.org")) == 2
    later(30)
    ask(client, "ada@example.org")
    assert len(mails_to("ada@example.org")) == 2
    later(61)
    ask(client, "ada@example.org")
    assert len(mails_to("ada@example.org")) == 3


def test_x_forwarded_for_is_not_trusted(client, ada, settings):
    settings.PASSWORD_RESET_LIMIT = 100
    settings.PASSWORD_RESET_LIMIT_ADDRESS = 2
    for n in range(2):
        client.post(
            reverse("password_reset"),
            {"email": f"x{n}@example.org"},
            REMOTE_ADDR="10.0.0.7",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )
    ask(client, "ada@example.org", "10.0.0.7")
    assert mails_to("ada@example.org") == []


def test_zero_turns_a_limit_off(client, ada, settings):
    settings.PASSWORD_RESET_LIMIT = 0
    settings.PASSWORD_RESET_LIMIT_ADDRESS = 0
    for _ in range(8):
        ask(client, "ada@example.org")
    assert len(mails_to("ada@example.org")) == 8


def test_old_requests_are_pruned(client, ada, later):
    from accounts.models import PasswordResetRequest

    for _ in range(2):
        ask(client, "ada@example.org")
    assert PasswordResetRequest.objects.count() == 2
    later(24 * 60)
    ask(client, "bo@example.org")
    assert list(PasswordResetRequest.objects.values_list("email", flat=True)) == ["bo@example.org"]


def test_an_invalid_e_mail_is_a_form_error_not_a_count(client, ada):
    from accounts.models import PasswordResetRequest

    response = client.post(reverse("password_reset"), {"email": "not an address"})
    assert response.status_code == 200
    assert "Enter a valid email address" in response.content.decode()
    assert PasswordResetRequest.objects.count() == 0


def test_behind_a_trusted_proxy_the_address_limit_is_per_client(client, ada, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    settings.PASSWORD_RESET_LIMIT = 100
    settings.PASSWORD_RESET_LIMIT_ADDRESS = 2
    for n in range(2):
        client.post(
            reverse("password_reset"),
            {"email": f"x{n}@example.org"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="198.51.100.1",
        )
    client.post(
        reverse("password_reset"),
        {"email": "ada@example.org"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.2",
    )
    assert len(mails_to("ada@example.org")) == 1
