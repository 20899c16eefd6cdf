"""The one way a view or API endpoint loads a review: only for its members, with a role check.

    review = review_for_user(request.user, slug, need="screen")

A user who is not a member gets a 404, exactly as if the review did not exist, so nothing leaks
about other teams' reviews. A member whose role is too low gets a 403.
"""

from dataclasses import dataclass

import rules
from django.core.exceptions import PermissionDenied
from django.http import Http404

from review.models import Review
from review.rules import role_of

NEEDS = ("view", "screen", "manage", "resolve")


@dataclass(frozen=True)
class Abilities:
    """What the current user may do in a review, precomputed for templates."""

    role: str
    can_screen: bool
    can_manage: bool
    can_resolve: bool = False


def review_for_user(user, slug_or_id: str | int, *, need: str = "view") -> Review:
    """Return the review identified by slug (or numeric id) if `user` may `need` it.

    Raises Http404 for non-members (and unknown reviews) and PermissionDenied when the
    member's role does not allow `need` ("view", "screen", "manage" or "resolve": leads and
    the reviewers they chose to resolve conflicts).
    """
    if need not in NEEDS:
        raise ValueError(f"need must be one of {NEEDS}, not {need!r}")
    reviews = Review.objects.for_user(user)
    lookup = {"pk": int(slug_or_id)} if str(slug_or_id).isdigit() else {"slug": slug_or_id}
    try:
        review = reviews.get(**lookup)
    except Review.DoesNotExist:
        raise Http404("No such review.") from None
    if not rules.test_rule(f"review.{need}", user, review):
        raise PermissionDenied(f"Your role in this review ({review.user_role}) cannot {need} it.")
    return review


def abilities(user, review: Review) -> Abilities:
    return Abilities(
        role=role_of(user, review) or "",
        can_screen=rules.test_rule("review.screen", user, review),
        can_manage=rules.test_rule("review.manage", user, review),
        can_resolve=rules.test_rule("review.resolve", user, review),
    )
