"""Use cases of accounts: invite to a review, revoke, accept; the first account; sign-up.

Each validates first and writes in one transaction; e-mail goes out after the commit, and a
failure to send never loses the invitation (the lead gets the link to pass on).
"""

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from smtplib import SMTPException

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Invitation, InvitationState, token_hash
from review.models import Membership, Review
from review.services import membership_create

logger = logging.getLogger(__name__)


class InvitationClosed(Exception):
    """The invitation was accepted, revoked or has expired: its link no longer works."""

    def __init__(self, invitation: Invitation):
        self.invitation = invitation
        super().__init__(f"Invitation {invitation.pk} is {invitation.state()}.")


class FirstRunOver(Exception):
    """An account exists already: the first-run page creates none."""


@dataclass(frozen=True)
class InvitationSent:
    invitation: Invitation
    link: str
    sent: bool
    error: str = ""


def invitation_create(
    *, review: Review, email: str, role: str, invited_by, link_for: Callable[[str], str]
) -> InvitationSent:
    """Invite `email` to the review's team as `role` and e-mail them the link.

    `link_for(token)` builds the absolute accept link. Inviting an address with an open
    invitation replaces it (the old link stops working). The token exists only in the link:
    the row keeps its hash.
    """
    email = BaseUserManager.normalize_email(email.strip())
    member = review.memberships.filter(user__email__iexact=email).select_related("user").first()
    if member is not None:
        raise ValidationError(f"{email} is already in the team ({member.user.username}).")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    try:
        with transaction.atomic():
            review.invitations.filter(
                email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
            ).update(revoked_at=now)
            invitation = Invitation(
                review=review,
                email=email,
                role=role,
                token_hash=token_hash(token),
                invited_by=invited_by,
                created_at=now,
                expires_at=now + timedelta(days=settings.INVITATION_DAYS),
            )
            invitation.full_clean()
            invitation.save()
    except IntegrityError:  # another lead invited the same address at this very moment
        raise ValidationError(f"{email} was invited a moment ago: see the list below.") from None
    link = link_for(token)
    try:
        invitation_email_send(invitation=invitation, link=link)
    except (SMTPException, OSError) as error:
        logger.warning("Invitation e-mail to %s not sent: %s", email, error)
        return InvitationSent(
            invitation, link, sent=False, error=str(error) or type(error).__name__
        )
    return InvitationSent(invitation, link, sent=True)


def invitation_email_send(*, invitation: Invitation, link: str) -> None:
    context = {"invitation": invitation, "review": invitation.review, "link": link}
    subject = render_to_string("accounts/invitation_email_subject.txt", context)
    body = render_to_string("accounts/invitation_email.txt", context)
    send_mail(" ".join(subject.split()), body, None, [invitation.email])


def invitation_revoke(*, invitation: Invitation) -> Invitation:
    """Stop the link working. Accepted or already revoked invitations stay as they are."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is None and invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
    return invitation


def _lock_pending(invitation: Invitation) -> Invitation:
    """The invitation's row, locked for this transaction, if its link still works."""
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    locked.review = invitation.review
    if locked.state() != InvitationState.PENDING:
        raise InvitationClosed(locked)
    return locked


def _accept(invitation: Invitation, user) -> Membership:
    membership = membership_create(review=invitation.review, user=user, role=invitation.role)
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def invitation_accept(*, invitation: Invitation, user) -> Membership:
    """A logged-in user joins the team with the invited role, whatever their own e-mail (the
    link is the proof: whoever holds it was given it). Refused if they are in the team."""
    with transaction.atomic():
        return _accept(_lock_pending(invitation), user)


def invitation_accept_as_new_user(
    *, invitation: Invitation, username: str, password: str, full_name: str = ""
) -> AbstractBaseUser:
    """Create the invitee's account (with the invited e-mail) and make them a member, at once.

    The password has been through the password validators (the form's job).
    """
    User = get_user_model()
    first, _, last = " ".join(full_name.split()).partition(" ")
    try:
        with transaction.atomic():
            invitation = _lock_pending(invitation)
            if User.objects.filter(email__iexact=invitation.email).exists():
                raise ValidationError(
                    f"An account with the e-mail {invitation.email} already exists. Log in with "
                    "it (or reset its password), then open this link again."
                )
            if User.objects.filter(username__iexact=username).exists():
                raise ValidationError({"username": "A user with that username already exists."})
            user = User(
                username=username,
                email=invitation.email,
                first_name=first[:150],
                last_name=last[:150],
            )
            user.set_password(password)
            user.save()
            _accept(invitation, user)
    except IntegrityError:  # the same username taken at this very moment
        raise ValidationError({"username": "A user with that username already exists."}) from None
    return user


def _lock_user_table() -> None:
    """Serialise first-run attempts. SQLite's transactions already hold the write lock from
    their start (transaction_mode IMMEDIATE); PostgreSQL needs the table locked against inserts."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(get_user_model()._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")


def superuser_create_first(*, username: str, email: str, password: str) -> AbstractBaseUser:
    """Create the very first account, a superuser; refused once any account exists."""
    User = get_user_model()
    with transaction.atomic():
        _lock_user_table()
        if User.objects.exists():
            raise FirstRunOver("An account exists already.")
        return User.objects.create_superuser(username=username, email=email, password=password)


EMAIL_TAKEN = "An account with this e-mail already exists: log in, or reset its password."


def user_create(*, username: str, email: str, password: str) -> AbstractBaseUser:
    """Open sign-up: a plain account, one per e-mail address (so a password reset finds it)."""
    User = get_user_model()
    email = BaseUserManager.normalize_email(email.strip())
    try:
        with transaction.atomic():
            if User.objects.filter(email__iexact=email).exists():
                raise ValidationError({"email": EMAIL_TAKEN})
            return User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError:
        raise ValidationError({"username": "A user with that username already exists."}) from None
