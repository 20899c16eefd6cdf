"""Login throttling: failed logins per account and per client address, kept in the database."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.accounts.conftest import STRONG

pytestmark = pytest.mark.django_db

LOCKED_ACCOUNT = "Too many failed logins for this account"
LOCKED_ADDRESS = "Too many failed logins from your address"


def attempt(client, username, password, address="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def ada(db):
    return factories.UserFactory(username="ada", email="ada@example.org")


@pytest.fixture
def later(monkeypatch):
    """Move the clock forward by `minutes` (django.utils.timezone.now, which the code reads)."""
    real_now = timezone.now

    def _later(minutes):
        monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(minutes=minutes))

    return _later


def test_fifty_wrong_passwords_then_the_right_one_is_refused_with_the_message(client, ada):
    for _ in range(50):
        assert attempt(client, "ada", "guess").status_code == 200
    response = attempt(client, "ada", "pw-for-tests")
    assert response.status_code == 200
    assert not logged_in(client)
    page = response.content.decode()
    assert LOCKED_ACCOUNT in page
    assert re.search(r"try again in 1[45] minutes, or reset your password", page), page


def test_below_the_limit_the_right_password_logs_in(client, ada, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(2):
        attempt(client, "ada", "guess")
    response = attempt(client, "ada", "pw-for-tests")
    assert response.status_code == 302
    assert logged_in(client)


def test_the_lock_starts_at_the_limit_and_is_per_account(client, ada, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    factories.UserFactory(username="bo")
    for _ in range(3):
        attempt(client, "ada", "guess")
    assert LOCKED_ACCOUNT in attempt(client, "ada", "pw-for-tests").content.decode()
    assert not logged_in(client)
    # another account from the same address is not locked
    assert attempt(client, "bo", "pw-for-tests").status_code == 302


def test_the_lock_expires_after_the_window(client, ada, settings, later):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_LOCKOUT_MINUTES = 15
    for _ in range(3):
        attempt(client, "ada", "guess")
    later(10)
    response = attempt(client, "ada", "pw-for-tests")
    assert "try again in 5 minutes" in response.content.decode()
    assert not logged_in(client)
    later(16)
    assert attempt(client, "ada", "pw-for-tests").status_code == 302
    assert logged_in(client)


def test_success_resets_the_accounts_counter(client, ada, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(2):
        attempt(client, "ada", "guess")
    assert attempt(client, "ada", "pw-for-tests").status_code == 302
    client.logout()
    for _ in range(2):
        attempt(client, "ada", "guess")
    # 4 failures in the window, but only 2 since the last success
    assert attempt(client, "ada", "pw-for-tests").status_code == 302


def test_the_address_limit_counts_failures_across_many_accounts(client, ada, settings):
    settings.LOGIN_FAILURE_LIMIT = 100
    settings.LOGIN_FAILURE_LIMIT_ADDRESS = 5
    for n in range(5):
        attempt(client, f"someone{n}", "guess", address="10.0.0.9")
    response = attempt(client, "ada", "pw-for-tests", address="10.0.0.9")
    assert LOCKED_ADDRESS in response.content.decode()
    assert not logged_in(client)
    # the account itself is not locked: from another address it logs in
    assert attempt(client, "ada", "pw-for-tests", address="10.0.0.10").status_code == 302


def test_an_unknown_username_counts_and_gets_the_same_message(client, ada, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        attempt(client, "ghost", "guess")
        attempt(client, "ada", "guess")
    ghost = attempt(client, "ghost", "anything").content.decode()
    real = attempt(client, "ada", "anything").content.decode()
    assert LOCKED_ACCOUNT in ghost and LOCKED_ACCOUNT in real
    message = re.compile(r"Too many failed logins[^<]*")
    assert message.findall(ghost) == message.findall(real)


def test_the_username_is_counted_whatever_its_case(client, ada, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for name in ("ada", "ADA", "Ada"):
        attempt(client, name, "guess")
    assert LOCKED_ACCOUNT in attempt(client, "ada", "pw-for-tests").content.decode()


def test_x_forwarded_for_is_not_trusted(client, ada, settings):
    settings.LOGIN_FAILURE_LIMIT = 100
    settings.LOGIN_FAILURE_LIMIT_ADDRESS = 3
    for n in range(3):
        client.post(
            reverse("login"),
            {"username": f"x{n}", "password": "guess"},
            REMOTE_ADDR="10.0.0.7",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )
    assert LOCKED_ADDRESS in attempt(client, "ada", "pw-for-tests", "10.0.0.7").content.decode()


def test_old_failures_are_pruned(client, ada, later):
    from accounts.models import LoginFailure

    for _ in range(3):
        attempt(client, "ada", "guess")
    assert LoginFailure.objects.count() == 3
    later(60)
    attempt(client, "bo", "guess")
    assert list(LoginFailure.objects.values_list("username", flat=True)) == ["bo"]


def test_password_reset_works_during_a_lockout_and_lifts_it(client, ada, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        attempt(client, "ada", "guess")
    assert LOCKED_ACCOUNT in attempt(client, "ada", "pw-for-tests").content.decode()
    response = client.post(reverse("password_reset"), {"email": "ada@example.org"})
    assert response.status_code == 302
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[-1].body)[1]
    form_page = client.get(link, follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": STRONG, "new_password2": STRONG}
    )
    assert response.status_code == 302
    fresh = Client()
    assert attempt(fresh, "ada", STRONG).status_code == 302


def test_the_admin_login_is_throttled_too(client, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    factories.UserFactory(username="root", is_staff=True, is_superuser=True)
    for _ in range(3):
        client.post(reverse("admin:login"), {"username": "root", "password": "guess"})
    response = client.post(reverse("admin:login"), {"username": "root", "password": "pw-for-tests"})
    assert LOCKED_ACCOUNT in response.content.decode()
    assert not logged_in(client)


# Behind a reverse proxy (nginx in front of gunicorn) every request comes from the proxy's
# address: TRUSTED_PROXIES names the proxies whose X-Forwarded-For is read.

PROXY = "10.0.0.2"


def via_proxy(client, username, password, forwarded_for, peer=PROXY):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=peer,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_behind_a_trusted_proxy_each_client_has_its_own_address_count(client, ada, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    settings.LOGIN_FAILURE_LIMIT = 100
    settings.LOGIN_FAILURE_LIMIT_ADDRESS = 3
    for n in range(3):
        via_proxy(client, f"x{n}", "guess", "198.51.100.1")
    locked = via_proxy(client, "ada", "pw-for-tests", "198.51.100.1")
    assert LOCKED_ADDRESS in locked.content.decode()
    # another client behind the same proxy is not locked out with the first
    assert via_proxy(client, "ada", "pw-for-tests", "198.51.100.2").status_code == 302


def test_a_forged_x_forwarded_for_entry_before_the_proxys_own_is_ignored(client, ada, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    settings.LOGIN_FAILURE_LIMIT = 100
    settings.LOGIN_FAILURE_LIMIT_ADDRESS = 3
    # the client sends its own X-Forwarded-For; nginx appends the address it saw
    for n in range(3):
        via_proxy(client, f"x{n}", "guess", f"192.0.2.{n}, 198.51.100.1")
    locked = via_proxy(client, "ada", "pw-for-tests", "192.0.2.77, 198.51.100.1")
    assert LOCKED_ADDRESS in locked.content.decode()


def test_x_forwarded_for_from_a_peer_that_is_not_a_trusted_proxy_is_ignored(client, settings):
    from accounts.login_throttle import client_address

    settings.TRUSTED_PROXIES = [PROXY]
    request = client.get("/").wsgi_request
    request.META.update(REMOTE_ADDR="10.0.0.99", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client_address(request) == "10.0.0.99"
    request.META.update(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client_address(request) == "198.51.100.1"
    # a chain of trusted proxies: the nearest untrusted entry from the right
    settings.TRUSTED_PROXIES = [PROXY, "10.0.0.3"]
    request.META.update(HTTP_X_FORWARDED_FOR="192.0.2.9, 198.51.100.1, 10.0.0.3")
    assert client_address(request) == "198.51.100.1"
    # garbage, or nothing but proxies: the proxy's own address
    request.META.update(HTTP_X_FORWARDED_FOR="not-an-address")
    assert client_address(request) == PROXY
    request.META.update(HTTP_X_FORWARDED_FOR="10.0.0.3")
    assert client_address(request) == PROXY
    # a proxy given as a network
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    request.META.update(HTTP_X_FORWARDED_FOR="198.51.100.4, 10.0.0.3")
    assert client_address(request) == "198.51.100.4"
