"""Password change (logged in) and reset (by e-mail, single-use link) with Django's own views."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests import factories
from tests.accounts.conftest import STRONG

pytestmark = pytest.mark.django_db


def test_the_top_bar_links_to_password_change_and_it_works(client):
    user = factories.UserFactory(username="pia")
    client.force_login(user)
    assert reverse("password_change") in client.get(reverse("review:list")).content.decode()
    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": STRONG, "new_password2": STRONG},
    )
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    response = client.post(
        reverse("password_change"),
        {"old_password": "pw-for-tests", "new_password1": STRONG, "new_password2": STRONG},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("password_change_done")
    assert "Your password was changed" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(STRONG)


def test_password_reset_full_flow_with_a_single_use_link(client):
    user = factories.UserFactory(username="quin", email="quin@example.org")
    login_page = client.get(reverse("login")).content.decode()
    assert "Forgot your password?" in login_page and reverse("password_reset") in login_page

    response = client.post(reverse("password_reset"), {"email": "QUIN@example.org"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("password_reset_done")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["quin@example.org"]
    assert "Prisma Workbench" in mail.outbox[0].subject
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    assert "quin" in mail.outbox[0].body  # the username, which they may have forgotten too

    form = client.get(link, follow=True)
    set_url = form.redirect_chain[-1][0]
    assert "Choose a new password" in form.content.decode()
    response = client.post(set_url, {"new_password1": STRONG, "new_password2": STRONG}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert Client().login(username="quin", password=STRONG)

    again = Client().get(link, follow=True)
    assert "This password reset link is not valid" in again.content.decode()


def test_a_reset_for_an_unknown_email_reveals_nothing_and_sends_nothing(client):
    response = client.post(reverse("password_reset"), {"email": "ghost@example.org"})
    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []


def test_changing_a_password_needs_a_login(client):
    factories.UserFactory()
    response = client.get(reverse("password_change"))
    assert response.url == reverse("login") + "?next=" + reverse("password_change")
