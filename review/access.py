"""The one way a view or API endpoint loads a review: only for its members, with a role check.

    review = review_for_user(request.user, slug, need="screen")

A user who is not a member gets a 404, exactly as if the review did not exist, so nothing leaks
about other teams' reviews. A member whose role is too low gets a 403.

Blind screening (`results_visibility`): while a stage is screened by two reviewers blind (dual
mode with its blind flag on), nothing a reviewer can observe may depend on another reviewer's
vote there. Votes are filtered by `screening.services.visible_decisions`; what the votes settle
(the stage's results, and everything downstream of them: retrieval, full-text screening of the
records included, the included reports, the PRISMA counts past identification, agreement and
conflicts) is shown only to leads and the reviewers the lead chose to resolve conflicts, until a
lead lifts the stage's blinding. docs/architecture.md ("Blind screening") states the rules.
"""

from dataclasses import dataclass

import rules
from django.core.exceptions import PermissionDenied
from django.http import Http404

from review.models import DATABASES_AND_REGISTERS, Review
from review.params import id_param
from review.rules import role_of

NEEDS = ("view", "screen", "manage", "resolve")


STAGE_FLAGS = {
    "title_abstract": ("title_abstract_mode", "title_abstract_blind"),
    "full_text": ("full_text_mode", "full_text_blind"),
}


def stage_is_blind(review: Review, stage: str) -> bool:
    """Is the stage screened by two reviewers who may not see each other's votes?"""
    mode, blind = STAGE_FLAGS[stage]
    return getattr(review, mode) == "dual" and getattr(review, blind)


@dataclass(frozen=True)
class ResultsVisibility:
    """Which stages' settled results (and what follows from them) a user may see.

    `full_text` covers full-text results of other-methods records; those of database and
    register records passed title/abstract screening first, so they need `title_abstract` too.
    """

    title_abstract: bool = True
    full_text: bool = True

    @property
    def everything(self) -> bool:
        return self.title_abstract and self.full_text

    def stage(self, stage: str) -> bool:
        return self.title_abstract if stage == "title_abstract" else self.full_text

    def downstream(self, arm: str) -> bool:
        """May the later stages (retrieval, full text, study) of a record from a source of this
        arm be seen? A database or register record reached them through title/abstract
        screening; an other-methods record skips it."""
        return self.title_abstract or arm not in DATABASES_AND_REGISTERS

    def whole_stage(self, stage: str) -> bool:
        """Every record's results at the stage (full text: database records' too)."""
        return self.title_abstract and (stage == "title_abstract" or self.full_text)


def results_visibility(user, review: Review) -> ResultsVisibility:
    """A lead or chosen resolver sees every result; any other member sees a blind stage's
    results only once a lead has lifted its blinding."""
    if rules.test_rule("review.resolve", user, review):
        return ResultsVisibility()
    return ResultsVisibility(
        title_abstract=not stage_is_blind(review, "title_abstract"),
        full_text=not stage_is_blind(review, "full_text"),
    )


@dataclass(frozen=True)
class Abilities:
    """What the current user may do in a review, precomputed for templates."""

    role: str
    can_screen: bool
    can_manage: bool
    can_resolve: bool = False
    results: ResultsVisibility = ResultsVisibility()


def review_for_user(user, slug_or_id: str | int, *, need: str = "view") -> Review:
    """Return the review identified by slug (or numeric id) if `user` may `need` it.

    Raises Http404 for non-members (and unknown reviews) and PermissionDenied when the
    member's role does not allow `need` ("view", "screen", "manage" or "resolve": leads and
    the reviewers they chose to resolve conflicts).
    """
    if need not in NEEDS:
        raise ValueError(f"need must be one of {NEEDS}, not {need!r}")
    reviews = Review.objects.for_user(user)
    pk = id_param(slug_or_id)
    lookup = {"pk": pk} if pk is not None else {"slug": slug_or_id}
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
        results=results_visibility(user, review),
    )
