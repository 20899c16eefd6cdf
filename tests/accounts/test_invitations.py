"""A lead invites people by e-mail; the invitee accepts through a single-use, expiring link."""

import hashlib
from datetime import timedelta
from smtplib import SMTPException

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation
from review.models import Membership
from tests import factories
from tests.accounts.conftest import STRONG, invitation_path

pytestmark = pytest.mark.django_db


class FailingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise SMTPException("Connection refused")


def token_of(path):
    return path.rstrip("/").rsplit("/", 1)[1]


def logged_in_user(client):
    return get_user_model().objects.get(pk=client.session["_auth_user_id"])


def test_a_lead_invites_by_email_and_a_new_person_accepts(client, review, lead, invite):
    path = invite("nia@example.org", role="reviewer")

    message = mail.outbox[0]
    assert message.to == ["nia@example.org"]
    assert review.title in message.subject
    assert lead.username in message.body
    invitation = Invitation.objects.get()
    # Only a hash of the token is stored.
    assert invitation.token_hash == hashlib.sha256(token_of(path).encode()).hexdigest()
    assert token_of(path) not in str(Invitation.objects.values().get())
    assert invitation.invited_by == lead

    page = client.get(path)
    assert page.status_code == 200
    assert "nia@example.org" in page.content.decode()
    response = client.post(
        path,
        {"username": "nia", "full_name": "Nia Ewe", "password1": STRONG, "password2": STRONG},
    )
    assert response.status_code == 302
    assert response.url == reverse("review:dashboard", args=[review.slug])
    user = get_user_model().objects.get(username="nia")
    assert (user.email, user.get_full_name()) == ("nia@example.org", "Nia Ewe")
    assert user.check_password(STRONG)
    assert not user.is_staff and not user.is_superuser
    assert Membership.objects.get(review=review, user=user).role == "reviewer"
    assert logged_in_user(client) == user
    invitation.refresh_from_db()
    assert invitation.accepted_by == user and invitation.accepted_at is not None
    assert client.get(reverse("review:dashboard", args=[review.slug])).status_code == 200


def test_the_link_is_shown_once_to_the_lead_and_the_pending_list_has_revoke(client, review, lead):
    client.force_login(lead)
    response = client.post(
        reverse("review:invite", args=[review.slug]),
        {"email": "ora@example.org", "role": "viewer"},
        follow=True,
    )
    page = response.content.decode()
    assert "Invitation sent to ora@example.org" in page
    assert invitation_path(page) == invitation_path(mail.outbox[0].body)
    pending = response.context["invitations"]
    assert [(i.email, i.role) for i in pending] == [("ora@example.org", "viewer")]
    assert reverse("review:invitation-revoke", args=[review.slug, pending[0].pk]) in page
    again = client.get(reverse("review:team", args=[review.slug])).content.decode()
    assert "ora@example.org" in again and "/accounts/invitations/" not in again


@override_settings(
    MAILERS={"default": {"BACKEND": "tests.accounts.test_invitations.FailingBackend"}}
)
def test_when_the_email_cannot_be_sent_the_invitation_stays_and_the_lead_gets_the_link(
    client, review, lead
):
    client.force_login(lead)
    response = client.post(
        reverse("review:invite", args=[review.slug]),
        {"email": "pat@example.org", "role": "reviewer"},
        follow=True,
    )
    page = response.content.decode()
    assert "could not be sent" in page and "Connection refused" in page
    path = invitation_path(page)
    assert Invitation.objects.get().email == "pat@example.org"
    client.logout()
    assert client.get(path).status_code == 200


@override_settings(INVITATION_DAYS=3)
def test_an_invitation_expires_after_INVITATION_DAYS(client, review, lead, invite):
    invite("q@example.org")
    invitation = Invitation.objects.get()
    assert invitation.expires_at - invitation.created_at == timedelta(days=3)


def test_inviting_a_member_says_so_and_sends_nothing(client, review, lead, reviewer):
    reviewer.email = "Rev@Example.org"
    reviewer.save()
    client.force_login(lead)
    response = client.post(
        reverse("review:invite", args=[review.slug]),
        {"email": "rev@example.org", "role": "viewer"},
    )
    assert response.status_code == 400
    assert f"rev@example.org is already in the team ({reviewer.username})" in (
        response.content.decode()
    )
    assert not Invitation.objects.exists() and not mail.outbox


def test_a_bad_email_is_refused_naming_the_field(client, review, lead):
    client.force_login(lead)
    response = client.post(
        reverse("review:invite", args=[review.slug]), {"email": "not an email", "role": "lead"}
    )
    assert response.status_code == 400
    assert response.context["invite_form"].errors["email"] == ["Enter a valid email address."]
    assert not Invitation.objects.exists()


def test_inviting_the_same_email_again_replaces_the_old_link(client, review, lead, invite):
    first = invite("sam@example.org")
    second = invite("sam@example.org", role="viewer")
    assert first != second
    assert client.get(first).status_code == 410
    assert "revoked" in client.get(first).content.decode()
    assert client.get(second).status_code == 200
    assert Invitation.objects.filter(revoked_at__isnull=True).get().role == "viewer"


def test_an_existing_user_joins_by_clicking_join(client, review, invite):
    ken = factories.UserFactory(username="ken", email="ken@example.org")
    path = invite("ken@example.org", role="viewer")
    client.force_login(ken)
    page = client.get(path).content.decode()
    assert "Join" in page and "was sent to" not in page
    response = client.post(path)
    assert response.url == reverse("review:dashboard", args=[review.slug])
    assert Membership.objects.get(review=review, user=ken).role == "viewer"
    assert Invitation.objects.get().accepted_by == ken


def test_a_logged_in_user_with_another_email_may_join_and_is_told(client, review, invite):
    path = invite("lee@example.org")
    other = factories.UserFactory(username="lee2", email="lee@elsewhere.org")
    client.force_login(other)
    page = client.get(path).content.decode()
    assert "This invitation was sent to lee@example.org" in page
    assert "you are signed in as lee2" in page
    client.post(path)
    assert Membership.objects.get(review=review, user=other).role == "reviewer"


def test_an_existing_member_is_told_and_the_invitation_stays_open(client, review, reviewer, invite):
    path = invite("mo@example.org")
    client.force_login(reviewer)
    response = client.post(path)
    assert response.status_code == 400
    assert "already in the team" in response.content.decode()
    assert Invitation.objects.get().accepted_at is None


def test_an_invitee_whose_email_has_an_account_is_asked_to_log_in(client, review, invite):
    factories.UserFactory(username="una", email="una@example.org")
    path = invite("UNA@example.org")
    response = client.post(path, {"username": "una2", "password1": STRONG, "password2": STRONG})
    assert response.status_code == 400
    page = response.content.decode()
    assert "An account with the e-mail UNA@example.org already exists" in page
    assert reverse("login") + f"?next={path}" in page
    assert not get_user_model().objects.filter(username="una2").exists()


def test_a_taken_username_or_weak_password_is_refused_and_nothing_is_written(
    client, review, lead, invite
):
    path = invite("vi@example.org")
    response = client.post(
        path, {"username": lead.username.upper(), "password1": STRONG, "password2": STRONG}
    )
    assert response.status_code == 400
    assert "A user with that username already exists." in response.content.decode()
    response = client.post(
        path, {"username": "vi", "password1": "password", "password2": "password"}
    )
    assert response.status_code == 400
    assert "This password is too common." in response.content.decode()
    assert not get_user_model().objects.filter(username="vi").exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_expired_link_gives_a_clear_page_and_creates_nothing(client, review, invite):
    path = invite("wu@example.org")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    page = client.get(path)
    assert page.status_code == 410
    assert "This invitation expired on" in page.content.decode()
    response = client.post(path, {"username": "wu", "password1": STRONG, "password2": STRONG})
    assert response.status_code == 410
    assert not get_user_model().objects.filter(username="wu").exists()


def test_a_used_link_cannot_be_used_again(client, review, invite):
    path = invite("xi@example.org")
    client.post(path, {"username": "xi", "password1": STRONG, "password2": STRONG})
    other = Client()
    response = other.post(path, {"username": "xi2", "password1": STRONG, "password2": STRONG})
    assert response.status_code == 410
    assert "This invitation has already been used" in response.content.decode()
    assert not get_user_model().objects.filter(username="xi2").exists()
    assert Membership.objects.filter(review=review).count() == 2  # the lead and xi


def test_a_tampered_link_gives_a_clear_page(client, review, invite):
    path = invite("yo@example.org")
    for bad in (path[:-2] + "x/", "/accounts/invitations/nonsense/"):
        response = client.get(bad)
        assert response.status_code == 404
        assert "This invitation link is not valid" in response.content.decode()
        assert client.post(bad, {"username": "yo"}).status_code == 404


def test_a_lead_revokes_an_invitation(client, review, lead, invite):
    path = invite("zed@example.org")
    invitation = Invitation.objects.get()
    client.force_login(lead)
    response = client.post(
        reverse("review:invitation-revoke", args=[review.slug, invitation.pk]), follow=True
    )
    assert "Invitation to zed@example.org revoked." in response.content.decode()
    assert list(response.context["invitations"]) == []
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    client.logout()
    response = client.get(path)
    assert response.status_code == 410
    assert "This invitation was revoked" in response.content.decode()


def test_only_a_lead_invites_or_revokes_and_sees_the_pending_list(
    client, review, reviewer, viewer, outsider, invite
):
    invite("ann@example.org")
    invitation = Invitation.objects.get()
    invite_url = reverse("review:invite", args=[review.slug])
    revoke_url = reverse("review:invitation-revoke", args=[review.slug, invitation.pk])
    data = {"email": "bob@example.org", "role": "lead"}
    for user in (reviewer, viewer):
        client.force_login(user)
        assert client.post(invite_url, data).status_code == 403
        assert client.post(revoke_url).status_code == 403
        team = client.get(reverse("review:team", args=[review.slug]))
        assert "ann@example.org" not in team.content.decode()
    client.force_login(outsider)
    assert client.post(invite_url, data).status_code == 404
    assert client.post(revoke_url).status_code == 404
    assert Invitation.objects.count() == 1 and invitation.revoked_at is None


def test_a_lead_cannot_revoke_another_reviews_invitation(client, lead, outsider, invite):
    invite("cy@example.org")
    theirs = Membership.objects.get(user=outsider).review
    client.force_login(outsider)
    url = reverse("review:invitation-revoke", args=[theirs.slug, Invitation.objects.get().pk])
    assert client.post(url).status_code == 404
    assert Invitation.objects.get().revoked_at is None


def test_adding_an_existing_user_still_works(client, review, lead):
    factories.UserFactory(username="dee")
    client.force_login(lead)
    response = client.post(
        reverse("review:member-add", args=[review.slug]), {"username": "dee", "role": "viewer"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(review=review, user__username="dee").role == "viewer"


def test_the_team_page_lists_invitations_in_constant_queries(
    client, review, lead, django_assert_max_num_queries
):
    from accounts import services

    def invite_n(n):
        for i in range(n):
            services.invitation_create(
                review=review,
                email=f"p{Invitation.objects.count()}-{i}@example.org",
                role="reviewer",
                invited_by=factories.UserFactory(),
                link_for=lambda token: token,
            )

    client.force_login(lead)
    url = reverse("review:team", args=[review.slug])
    invite_n(2)
    client.get(url)  # warm the session
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    invite_n(8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["invitations"]) == 10


def test_the_new_account_form_asks_name_then_password(client, invite):
    path = invite("ed@example.org")
    assert list(client.get(path).context["form"].fields) == [
        "username",
        "full_name",
        "password1",
        "password2",
    ]
