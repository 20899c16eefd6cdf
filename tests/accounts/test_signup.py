"""Open sign-up is off by default (404, no link) and creates a plain user when ALLOW_SIGNUP."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.urls import reverse

from tests import factories
from tests.accounts.conftest import STRONG

pytestmark = pytest.mark.django_db
User = get_user_model()
DATA = {"username": "sol", "email": "sol@example.org", "password1": STRONG, "password2": STRONG}


def test_signup_is_off_by_default(client):
    factories.UserFactory()
    assert settings.ALLOW_SIGNUP is False
    assert client.get(reverse("accounts:signup")).status_code == 404
    assert client.post(reverse("accounts:signup"), DATA).status_code == 404
    assert reverse("accounts:signup") not in client.get(reverse("login")).content.decode()
    assert not User.objects.filter(username="sol").exists()


@override_settings(ALLOW_SIGNUP=True)
def test_with_signup_on_anyone_creates_a_plain_account(client):
    factories.UserFactory()
    assert reverse("accounts:signup") in client.get(reverse("login")).content.decode()
    response = client.post(reverse("accounts:signup"), DATA)
    assert response.url == reverse("review:list")
    user = User.objects.get(username="sol")
    assert user.email == "sol@example.org" and user.check_password(STRONG)
    assert not user.is_staff and not user.is_superuser and not user.memberships.exists()
    assert int(client.session["_auth_user_id"]) == user.pk


@override_settings(ALLOW_SIGNUP=True)
def test_signup_refuses_an_email_that_has_an_account(client):
    factories.UserFactory(email="sol@example.org")
    response = client.post(reverse("accounts:signup"), {**DATA, "email": "SOL@example.org"})
    assert response.status_code == 400
    assert "An account with this e-mail already exists" in response.content.decode()
    assert not User.objects.filter(username="sol").exists()
