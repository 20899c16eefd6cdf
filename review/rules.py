"""Who may do what in a review, derived from `Membership.role` (nothing stored per object).

Rules (tested with `rules.test_rule(name, user, review)`; loaded by rules' autodiscovery):
    review.view    any member (lead, reviewer, viewer) reads the review
    review.screen  leads and reviewers record screening decisions
    review.manage  leads change settings, sources and the team
    review.resolve leads, and reviewers the lead chose (`Membership.can_resolve`), resolve
                   conflicts (the service refuses a non-lead a conflict they voted in)

`rules.test_rule` is used rather than `user.has_perm`, so a superuser gets no silent
bypass: site administrators use the Django admin, not membership of every review.
"""

import rules

from review.models import Membership, Role

ROLE_RANK = {Role.VIEWER: 1, Role.REVIEWER: 2, Role.LEAD: 3}


def role_of(user, review) -> str | None:
    """The user's role in the review; read from `review.user_role` when a selector annotated it."""
    if user is None or not user.is_authenticated or review is None:
        return None
    annotated = getattr(review, "user_role", None)
    if annotated is not None:
        return annotated
    return (
        Membership.objects.filter(review=review, user=user).values_list("role", flat=True).first()
    )


def has_role(user, review, minimum: str) -> bool:
    role = role_of(user, review)
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]


@rules.predicate
def is_member(user, review) -> bool:
    return has_role(user, review, Role.VIEWER)


@rules.predicate
def is_screener(user, review) -> bool:
    return has_role(user, review, Role.REVIEWER)


@rules.predicate
def is_lead(user, review) -> bool:
    return has_role(user, review, Role.LEAD)


@rules.predicate
def is_chosen_resolver(user, review) -> bool:
    """A reviewer the lead chose to resolve conflicts (the flag counts only for reviewers)."""
    if role_of(user, review) != Role.REVIEWER:
        return False
    annotated = getattr(review, "user_can_resolve", None)
    if annotated is not None:
        return bool(annotated)
    return Membership.objects.filter(review=review, user=user, can_resolve=True).exists()


rules.add_rule("review.view", is_member)
rules.add_rule("review.screen", is_screener)
rules.add_rule("review.manage", is_lead)
rules.add_rule("review.resolve", is_lead | is_chosen_resolver)
