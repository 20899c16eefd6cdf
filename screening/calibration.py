"""Calibration rounds: two reviewers screen the same random sample first, then the lead reads
their agreement (Cohen's kappa, percent agreement, PABAK, Gwet's AC1) and starts screening.

Only for dual-mode stages. While a round is open at a stage, `services.next_record` serves its
two reviewers the sample only (then nothing until the lead closes the round) and skips the
sample for everyone else; `services.decision_record` refuses other reviewers a sample record.
The votes are ordinary votes: they settle or conflict as usual, under the same blind rules.
Starting and closing are `CalibrationEvent` rows (who, when, the seed). `docs/agreement.md`.
"""

import random
import secrets
from dataclasses import dataclass, replace

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from review.models import Membership, Review, Role, ScreeningMode
from screening.agreement import BINARY_CATEGORIES, AgreementStats, agreement, to_binary
from screening.models import (
    CalibrationAction,
    CalibrationEvent,
    CalibrationRound,
    CalibrationSample,
    ScreeningDecision,
    Stage,
    StageResult,
)
from screening.services import eligible_records, stage_mode

DEFAULT_SAMPLE_SIZE = 20
MAX_SAMPLE_SIZE = 1000


def open_round(review: Review, stage: str) -> CalibrationRound | None:
    return (
        CalibrationRound.objects.filter(review=review, stage=stage, closed_at__isnull=True)
        .select_related("reviewer_a", "reviewer_b", "created_by")
        .first()
    )


def calibration_candidates(review: Review, stage: str):
    """Records open at the stage that nobody has ever voted on (no vote, current or not) and
    that have no result: the pool a sample is drawn from."""
    voted = ScreeningDecision.objects.filter(record=OuterRef("pk"), stage=stage)
    settled = StageResult.objects.filter(
        record=OuterRef("pk"), stage=stage, superseded_at__isnull=True
    )
    return eligible_records(review, stage).exclude(Exists(voted)).exclude(Exists(settled))


def _can_screen(review: Review, user) -> bool:
    return Membership.objects.filter(
        review=review, user=user, role__in=[Role.LEAD, Role.REVIEWER]
    ).exists()


@transaction.atomic
def calibration_start(
    *,
    review: Review,
    stage: str,
    reviewer_a,
    reviewer_b,
    user,
    size: int = DEFAULT_SAMPLE_SIZE,
    seed: int | None = None,
) -> CalibrationRound:
    """Open a round: draw `size` records (capped by the records available) at random, with a
    stored seed, from the records nobody has voted on at the stage."""
    if stage not in Stage.values:
        raise ValidationError("Unknown stage.")
    mode, _blind = stage_mode(review, stage)
    if mode != ScreeningMode.DUAL:
        raise ValidationError("A calibration round needs dual screening at this stage.")
    if reviewer_a is None or reviewer_b is None or reviewer_a.pk == reviewer_b.pk:
        raise ValidationError("Choose two different reviewers.")
    for person in (reviewer_a, reviewer_b):
        if not _can_screen(review, person):
            raise ValidationError(f"{person.username} does not screen in this review.")
    if not 1 <= size <= MAX_SAMPLE_SIZE:
        raise ValidationError(f"The sample size is between 1 and {MAX_SAMPLE_SIZE}.")
    if CalibrationRound.objects.filter(review=review, stage=stage, closed_at__isnull=True).exists():
        raise ValidationError("A calibration round is already open at this stage.")
    # Sorted ids and a stored seed: the same candidates and seed draw the same sample.
    candidates = list(
        calibration_candidates(review, stage).order_by("pk").values_list("pk", flat=True)
    )
    if not candidates:
        raise ValidationError("No record at this stage is still unscreened: nothing to sample.")
    seed = secrets.randbits(62) if seed is None else seed
    draw = random.Random(seed)  # noqa: S311  (a reproducible sample, not a secret)
    sample = sorted(draw.sample(candidates, min(size, len(candidates))))
    try:
        with transaction.atomic():
            round_ = CalibrationRound.objects.create(
                review=review, stage=stage, reviewer_a=reviewer_a, reviewer_b=reviewer_b,
                requested_size=size, seed=seed, created_by=user,
            )  # fmt: skip
    except IntegrityError:  # another lead opened one at the same moment
        raise ValidationError("A calibration round is already open at this stage.") from None
    CalibrationSample.objects.bulk_create(
        [CalibrationSample(round=round_, record_id=pk) for pk in sample]
    )
    CalibrationEvent.objects.create(
        round=round_, action=CalibrationAction.START, user=user,
        detail={"stage": stage, "reviewer_a": reviewer_a.username,
                "reviewer_b": reviewer_b.username, "requested_size": size,
                "sample_size": len(sample), "available": len(candidates), "seed": seed},
    )  # fmt: skip
    return round_


@transaction.atomic
def calibration_close(*, round: CalibrationRound, user) -> CalibrationRound:
    """Close the round: the sample's reviewers go on to the ordinary queue."""
    round_ = CalibrationRound.objects.select_for_update().get(pk=round.pk)
    if round_.closed_at is not None:
        raise ValidationError("This calibration round is already closed.")
    progress = round_progress(round_)
    round_.closed_at, round_.closed_by = timezone.now(), user
    round_.save(update_fields=["closed_at", "closed_by"])
    stats = progress.stats
    CalibrationEvent.objects.create(
        round=round_, action=CalibrationAction.CLOSE, user=user,
        detail={"finished": progress.finished, "done_a": progress.done_a,
                "done_b": progress.done_b, "sample_size": progress.total,
                "kappa": stats.kappa if stats else None,
                "percent_agreement": stats.observed if stats else None},
    )  # fmt: skip
    return round_


@dataclass(frozen=True)
class RoundProgress:
    """How far the two reviewers of a round are, and (once both finished) their agreement."""

    round: CalibrationRound
    total: int  # sample records still open at the stage
    done_a: int
    done_b: int
    stats: AgreementStats | None  # binary view (maybe = include); None until both finished
    mine: int | None = None  # for one of the two reviewers (`round_for_reviewer`): their count

    @property
    def finished_a(self) -> bool:
        return self.done_a >= self.total

    @property
    def finished_b(self) -> bool:
        return self.done_b >= self.total

    @property
    def finished(self) -> bool:
        return self.finished_a and self.finished_b


def round_progress(round_: CalibrationRound) -> RoundProgress:
    """Votes of the round's two reviewers on its sample; kappa and friends once both have
    voted on every sample record still open at the stage. Two queries."""
    stage = round_.stage
    sample = CalibrationSample.objects.filter(round=round_).values("record_id")
    open_sample = eligible_records(round_.review, stage).filter(pk__in=sample)
    current = Q(
        screeningdecisions__stage=stage,
        screeningdecisions__superseded_at__isnull=True,
    )
    counts = open_sample.aggregate(
        total=Count("pk", distinct=True),
        done_a=Count(
            "screeningdecisions",
            filter=current & Q(screeningdecisions__reviewer=round_.reviewer_a_id),
        ),
        done_b=Count(
            "screeningdecisions",
            filter=current & Q(screeningdecisions__reviewer=round_.reviewer_b_id),
        ),
    )
    total, done_a, done_b = counts["total"], counts["done_a"], counts["done_b"]
    stats = None
    if total and done_a >= total and done_b >= total:
        stats = _round_stats(round_, open_sample)
    return RoundProgress(round_, total, done_a, done_b, stats)


def _round_stats(round_: CalibrationRound, open_sample) -> AgreementStats | None:
    rows = ScreeningDecision.objects.filter(
        record__in=open_sample,
        stage=round_.stage,
        superseded_at__isnull=True,
        reviewer_id__in=[round_.reviewer_a_id, round_.reviewer_b_id],
    ).values_list("record_id", "reviewer_id", "verdict")
    by_record: dict[int, dict[int, str]] = {}
    for record_id, reviewer_id, verdict in rows:
        by_record.setdefault(record_id, {})[reviewer_id] = verdict
    pairs = [
        (votes[round_.reviewer_a_id], votes[round_.reviewer_b_id])
        for _, votes in sorted(by_record.items())
        if len(votes) == 2
    ]
    if not pairs:
        return None
    return agreement(
        [to_binary(a) for a, _ in pairs], [to_binary(b) for _, b in pairs], BINARY_CATEGORIES
    )


def round_for_reviewer(review: Review, stage: str, user) -> RoundProgress | None:
    """The open round at the stage in which `user` is one of the two reviewers, with progress."""
    round_ = (
        CalibrationRound.objects.filter(review=review, stage=stage, closed_at__isnull=True)
        .filter(Q(reviewer_a=user) | Q(reviewer_b=user))
        .select_related("review", "reviewer_a", "reviewer_b")
        .first()
    )
    if round_ is None:
        return None
    progress = round_progress(round_)
    mine = progress.done_a if user.pk == round_.reviewer_a_id else progress.done_b
    return replace(progress, mine=mine)


def rounds(review: Review, stage: str):
    return (
        CalibrationRound.objects.filter(review=review, stage=stage)
        .select_related("review", "reviewer_a", "reviewer_b", "created_by", "closed_by")
        .annotate(sample_size=Count("samples"))
    )
