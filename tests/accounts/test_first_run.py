"""First run: with no user at all, / and the login page lead to /setup/, which creates the
first account as a superuser exactly once."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from accounts import services
from tests import factories
from tests.accounts.conftest import STRONG

pytestmark = pytest.mark.django_db
User = get_user_model()
SETUP = {"username": "root", "email": "root@example.org", "password1": STRONG, "password2": STRONG}


def test_with_no_user_the_home_and_login_pages_lead_to_setup(client):
    response = client.get(reverse("review:list"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts:setup")
    assert client.get(reverse("login")).url == reverse("accounts:setup")
    assert "Create the first account" in response.content.decode()


def test_setup_creates_a_superuser_logs_them_in_and_then_answers_404(client):
    response = client.post(reverse("accounts:setup"), SETUP)
    assert response.url == reverse("review:list")
    user = User.objects.get()
    assert (user.username, user.email, user.is_superuser, user.is_staff) == (
        "root",
        "root@example.org",
        True,
        True,
    )
    assert int(client.session["_auth_user_id"]) == user.pk
    assert client.get(reverse("accounts:setup")).status_code == 404
    client.logout()
    again = {**SETUP, "username": "root2"}
    assert client.post(reverse("accounts:setup"), again).status_code == 404
    assert User.objects.count() == 1
    assert client.get(reverse("login")).status_code == 200


def test_setup_checks_its_form(client):
    response = client.post(reverse("accounts:setup"), {**SETUP, "password2": "other"})
    assert response.status_code == 400
    assert "The two password fields didn’t match." in response.content.decode()
    assert not User.objects.exists()


def test_once_any_user_exists_setup_is_404(client):
    factories.UserFactory()
    assert client.get(reverse("accounts:setup")).status_code == 404
    assert client.post(reverse("accounts:setup"), SETUP).status_code == 404
    with pytest.raises(services.FirstRunOver):
        services.superuser_create_first(username="x", email="x@example.org", password=STRONG)
    assert User.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent connections need PostgreSQL"
)
def test_two_simultaneous_setups_create_one_superuser():
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(name):
        try:
            barrier.wait()
            services.superuser_create_first(username=name, email="", password=STRONG)
            outcomes.append("created")
        except services.FirstRunOver:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created", "refused"]
    assert User.objects.filter(is_superuser=True).count() == 1
