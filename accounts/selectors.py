"""Reads of invitations."""

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from accounts.models import Invitation, token_hash
from review.models import Review


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link's token belongs to, whatever its state; None for a bad token."""
    return (
        Invitation.objects.select_related("review", "invited_by")
        .filter(token_hash=token_hash(token))
        .first()
    )


def invitations_open(review: Review) -> QuerySet[Invitation]:
    """Invitations neither accepted nor revoked, expired ones included (a lead sends them
    again), newest first."""
    return review.invitations.filter(
        accepted_at__isnull=True, revoked_at__isnull=True
    ).select_related("invited_by")


def first_run() -> bool:
    """No account exists yet: /setup/ creates the first one."""
    return not get_user_model().objects.exists()
