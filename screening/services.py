"""Screening use cases: vote, settle, resolve conflicts, undo; every step is an audit event.

Rules (PRISMA 2020 stages, Covidence-like):
- Title/abstract screening is for records of databases and registers that are neither
  duplicates nor removed; other-method records go straight to full-text eligibility.
- Full-text eligibility needs the record included at title/abstract (database/register arm) and
  its full text retrieved; an exclusion there needs one of the review's reasons.
- Single mode: the vote settles the stage. Dual mode: two different reviewers vote; agreement
  settles it ("maybe" counts as include), disagreement (or two exclusions with different
  full-text reasons) is a conflict that a lead resolves, or a reviewer the lead chose
  (`Membership.can_resolve`) who did not vote in it. Resolution never changes the votes.
- Calibration (`screening/calibration.py`): while a round is open at a dual-mode stage, its two
  reviewers' queues serve only its random sample and everyone else's skip it.
- Votes are never edited: a change or an undo supersedes the current row and is logged.
"""

import rules
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from review.models import (
    DATABASES_AND_REGISTERS,
    ImportBatch,
    Record,
    Review,
    Role,
    ScreeningMode,
)
from review.rules import role_of
from screening.models import (
    CalibrationRound,
    CalibrationSample,
    ExclusionReason,
    RecordRank,
    ResultMethod,
    Retrieval,
    RetrievalStatus,
    ScreeningAction,
    ScreeningDecision,
    ScreeningEvent,
    Stage,
    StageResult,
    Verdict,
)


def stage_mode(review: Review, stage: str) -> tuple[str, bool]:
    """(mode, blind) of a stage."""
    if stage == Stage.TITLE_ABSTRACT:
        return review.title_abstract_mode, review.title_abstract_blind
    return review.full_text_mode, review.full_text_blind


def _settled(verdict: str) -> str:
    return Verdict.EXCLUDE if verdict == Verdict.EXCLUDE else Verdict.INCLUDE


def eligible_records(review: Review, stage: str):
    """Records that can be voted on at `stage` (not yet considering who voted)."""
    records = Record.objects.filter(review=review, duplicate_of__isnull=True, removed_reason="")
    # One uncorrelated list of batches rather than two joins per record.
    dbr = Q(
        batch__in=ImportBatch.objects.filter(
            review=review, source__arm__in=DATABASES_AND_REGISTERS
        ).values("pk")
    )
    if stage == Stage.TITLE_ABSTRACT:
        return records.filter(dbr)
    passed = StageResult.objects.filter(
        record=OuterRef("pk"),
        stage=Stage.TITLE_ABSTRACT,
        verdict=Verdict.INCLUDE,
        superseded_at__isnull=True,
    )
    retrieved = Retrieval.objects.filter(record=OuterRef("pk"), status=RetrievalStatus.RETRIEVED)
    return records.filter((~dbr | Exists(passed)) & Exists(retrieved))


def _calibration_queue(review: Review, reviewer, stage: str) -> Q:
    """The queue's condition while a calibration round is open at the stage (at most one is):
    its two reviewers get only its sample, everyone else skips the sample. With no round open
    every record passes. Subqueries of the one queue query: the uncorrelated ones ("is a round
    open", "am I in it") are evaluated once and come first, so with no round open no record
    costs a sample lookup; the correlated ones use the sample's record index."""
    open_rounds = CalibrationRound.objects.filter(
        review=review, stage=stage, closed_at__isnull=True
    )
    mine = Q(reviewer_a=reviewer) | Q(reviewer_b=reviewer)
    sampled = CalibrationSample.objects.filter(
        record=OuterRef("pk"), round__stage=stage, round__closed_at__isnull=True
    )
    in_my_sample = sampled.filter(Q(round__reviewer_a=reviewer) | Q(round__reviewer_b=reviewer))
    return (
        ~Exists(open_rounds)
        | (~Exists(open_rounds.filter(mine)) & ~Exists(sampled))
        | Exists(in_my_sample)
    )


def next_record(*, review: Review, reviewer, stage: str) -> Record | None:
    """The next record for this reviewer: never one they have a current vote on, never a
    settled one, and in dual mode never one that two others have voted on. Import order for
    now; a ranking plugs in here (order the queryset by its score). While a calibration round
    is open, its two reviewers get its sample only and the others skip it."""
    mode, _blind = stage_mode(review, stage)
    current = ScreeningDecision.objects.filter(
        record=OuterRef("pk"), stage=stage, superseded_at__isnull=True
    )
    settled = StageResult.objects.filter(
        record=OuterRef("pk"), stage=stage, superseded_at__isnull=True
    )
    queue = (
        eligible_records(review, stage)
        .exclude(Exists(current.filter(reviewer=reviewer)))
        .exclude(Exists(settled))
    )
    if mode == ScreeningMode.DUAL:
        # A per-record count (stops at the first open record), not a GROUP BY over the review.
        votes = current.order_by().values("record").annotate(n=Count("pk")).values("n")
        queue = queue.alias(votes=Coalesce(Subquery(votes), 0)).filter(votes__lt=2)
    if CalibrationRound.objects.filter(review=review, stage=stage, closed_at__isnull=True).exists():
        queue = queue.filter(_calibration_queue(review, reviewer, stage))
    if stage == Stage.TITLE_ABSTRACT and _ranked(review):
        # The ranking's order (screening/prioritisation.py), walked on its (review, position)
        # index; records imported since the last training come after, in import order.
        ranked = queue.filter(rank__review=review).order_by("rank__position").first()
        if ranked is not None:
            return ranked
    return queue.order_by("pk").first()


def _ranked(review: Review) -> bool:
    """Whether the review's queue follows a stored ranking (turned on, and trained at least
    once: before that, or while the first training is queued, import order)."""
    return RecordRank.objects.filter(review=review, review__prioritisation__enabled=True).exists()


def _after_ta_change(review: Review, stage: str) -> None:
    """Let the ranking know the title/abstract labels changed (it retrains when due)."""
    if stage == Stage.TITLE_ABSTRACT:
        from screening.prioritisation import ranking_after_decision

        ranking_after_decision(review)


def _log(record: Record, stage: str, action: str, user, **detail) -> None:
    ScreeningEvent.objects.create(
        review_id=record.review_id, record=record, stage=stage, action=action, user=user,
        detail=detail,
    )  # fmt: skip


def _check_reason(review: Review, stage: str, verdict: str, reason):
    if verdict != Verdict.EXCLUDE:
        if reason is not None:
            raise ValidationError("Only an exclusion takes a reason.")
        return None
    if reason is None:
        if stage == Stage.FULL_TEXT:
            raise ValidationError("A full-text exclusion needs one of the review's reasons.")
        return None
    if isinstance(reason, int):
        reason = ExclusionReason.objects.filter(review=review, pk=reason, is_active=True).first()
    if reason is None or reason.review_id != review.pk:
        raise ValidationError("That exclusion reason is not one of this review's.")
    return reason


@transaction.atomic
def decision_record(
    *, review: Review, record: Record, reviewer, stage: str, verdict: str, reason=None, note=""
) -> ScreeningDecision:
    """Record (or change) `reviewer`'s vote and settle the stage when the votes allow it."""
    if stage not in Stage.values or verdict not in Verdict.values:
        raise ValidationError("Unknown stage or verdict.")
    reason = _check_reason(review, stage, verdict, reason)
    record = Record.objects.select_for_update().get(pk=record.pk)
    if (
        record.review_id != review.pk
        or not eligible_records(review, stage).filter(pk=record.pk).exists()
    ):
        raise ValidationError(f"Record {record.pk} is not open for {Stage(stage).label.lower()}.")
    current = list(
        ScreeningDecision.objects.select_for_update().filter(
            record=record, stage=stage, superseded_at__isnull=True
        )
    )
    result = _current_result(record, stage)
    if result is not None and result.method in (ResultMethod.RESOLUTION, ResultMethod.AUTOMATION):
        raise ValidationError("This record was settled by a lead; ask them to change it.")
    mine = next((d for d in current if d.reviewer_id == reviewer.pk), None)
    mode, _blind = stage_mode(review, stage)
    if mine is None and mode == ScreeningMode.DUAL and len(current) >= 2:
        raise ValidationError("Two reviewers have already screened this record.")
    if mine is None and _calibrated_by_others(record, stage, reviewer):
        raise ValidationError("This record is in another pair's calibration round.")
    now = timezone.now()
    if mine is not None:
        mine.superseded_at = now
        mine.save(update_fields=["superseded_at"])
        current.remove(mine)
    try:
        with transaction.atomic():
            decision = ScreeningDecision.objects.create(
                review=review, record=record, stage=stage, reviewer=reviewer, verdict=verdict,
                reason=reason, note=note,
            )  # fmt: skip
    except IntegrityError:  # a double click that raced past the lock on SQLite
        raise ValidationError("This decision was already recorded.") from None
    _log(record, stage, ScreeningAction.CHANGE if mine else ScreeningAction.DECIDE, reviewer,
         verdict=verdict, reason=reason.label if reason else None)  # fmt: skip
    _settle(review, record, stage, [*current, decision], mode, previous=result)
    _after_ta_change(review, stage)
    return decision


def _calibrated_by_others(record: Record, stage: str, reviewer) -> bool:
    """Is the record in the sample of an open calibration round of two other reviewers?"""
    return (
        CalibrationSample.objects.filter(
            record=record, round__stage=stage, round__closed_at__isnull=True
        )
        .exclude(Q(round__reviewer_a=reviewer) | Q(round__reviewer_b=reviewer))
        .exists()
    )


def _current_result(record: Record, stage: str) -> StageResult | None:
    return (
        StageResult.objects.select_for_update()
        .filter(record=record, stage=stage, superseded_at__isnull=True)
        .first()
    )


def _settle(review, record, stage, votes, mode, previous) -> StageResult | None:
    """Write the stage result the current votes imply, superseding a stale one."""
    verdict = reason = method = None
    if mode == ScreeningMode.SINGLE and votes:
        vote = votes[-1]
        verdict, reason, method = _settled(vote.verdict), vote.reason, ResultMethod.SINGLE
    elif len(votes) == 2:
        a, b = votes
        same = _settled(a.verdict) == _settled(b.verdict)
        if same and (_settled(a.verdict) == Verdict.INCLUDE or stage == Stage.TITLE_ABSTRACT):
            verdict, reason, method = (
                _settled(a.verdict),
                a.reason or b.reason,
                ResultMethod.AGREEMENT,
            )
        elif same and a.reason_id == b.reason_id:
            verdict, reason, method = Verdict.EXCLUDE, a.reason, ResultMethod.AGREEMENT
    if previous is not None:
        if (previous.verdict, previous.reason_id) == (verdict, getattr(reason, "pk", None)):
            return previous
        previous.superseded_at = timezone.now()
        previous.save(update_fields=["superseded_at"])
    if verdict is None:
        return None
    result = StageResult.objects.create(
        review=review, record=record, stage=stage, verdict=verdict,
        reason=reason if verdict == Verdict.EXCLUDE else None, method=method,
    )  # fmt: skip
    _log(record, stage, ScreeningAction.SETTLE, None, verdict=verdict, method=method)
    return result


@transaction.atomic
def decision_undo(*, review: Review, record: Record, reviewer, stage: str) -> None:
    """Withdraw the reviewer's current vote (the record returns to their queue)."""
    vote = (
        ScreeningDecision.objects.select_for_update()
        .filter(record=record, stage=stage, reviewer=reviewer, superseded_at__isnull=True)
        .first()
    )
    if vote is None:
        raise ValidationError("You have no decision on this record to undo.")
    result = _current_result(record, stage)
    if result is not None and result.method == ResultMethod.RESOLUTION:
        raise ValidationError("This record was settled by a lead; ask them to change it.")
    vote.superseded_at = timezone.now()
    vote.save(update_fields=["superseded_at"])
    _log(record, stage, ScreeningAction.UNDO, reviewer, verdict=vote.verdict)
    remaining = list(
        ScreeningDecision.objects.filter(record=record, stage=stage, superseded_at__isnull=True)
    )
    mode, _blind = stage_mode(review, stage)
    _settle(review, record, stage, remaining, mode, previous=result)
    _after_ta_change(review, stage)


def conflicts(review: Review, stage: str):
    """Records with two current votes that disagree and no current result."""
    votes = ScreeningDecision.objects.filter(
        record=OuterRef("pk"), stage=stage, superseded_at__isnull=True
    )
    settled = StageResult.objects.filter(
        record=OuterRef("pk"), stage=stage, superseded_at__isnull=True
    )
    return (
        Record.objects.filter(review=review)
        .annotate(
            votes=Count(
                "screeningdecisions",
                filter=Q(screeningdecisions__stage=stage, screeningdecisions__superseded_at=None),
            )
        )
        .filter(votes=2)
        .exclude(Exists(settled))
        .filter(Exists(votes))
        .order_by("pk")
    )


def _voted_in(user, stage: str):
    """Records on which `user` has a current vote at `stage` (an Exists over OuterRef pk)."""
    return Exists(
        ScreeningDecision.objects.filter(
            record=OuterRef("pk"), stage=stage, reviewer=user, superseded_at__isnull=True
        )
    )


def conflicts_for(review: Review, stage: str, user):
    """The conflicts `user` may resolve: every one for a lead; for a reviewer the lead chose
    to resolve conflicts, those they did not vote in (nobody arbitrates their own vote)."""
    if role_of(user, review) == Role.LEAD:
        return conflicts(review, stage)
    return conflicts(review, stage).exclude(_voted_in(user, stage))


def awaiting_second(review: Review, stage: str):
    """Dual mode: records open at the stage with exactly one current vote and no current result
    (waiting for a second reviewer). Empty in single mode, where one vote settles."""
    mode, _blind = stage_mode(review, stage)
    if mode != ScreeningMode.DUAL:
        return Record.objects.none()
    settled = StageResult.objects.filter(
        record=OuterRef("pk"), stage=stage, superseded_at__isnull=True
    )
    votes = Count(
        "screeningdecisions",
        filter=Q(screeningdecisions__stage=stage, screeningdecisions__superseded_at=None),
    )
    return (
        eligible_records(review, stage)
        .annotate(votes=votes)
        .filter(votes=1)
        .exclude(Exists(settled))
        .order_by("pk")
    )


@transaction.atomic
def conflict_resolve(
    *, review: Review, record: Record, stage: str, resolver, verdict: str, reason=None, note=""
) -> StageResult:
    """A lead, or a reviewer the lead chose, settles a conflict; the two reviewers' votes stay
    as they were. A chosen reviewer may not resolve a conflict they voted in (a lead may)."""
    if verdict not in (Verdict.INCLUDE, Verdict.EXCLUDE):
        raise ValidationError("A resolution is include or exclude.")
    if not rules.test_rule("review.resolve", resolver, review):
        raise ValidationError("Only a lead or a reviewer they chose can resolve conflicts.")
    reason = _check_reason(review, stage, verdict, reason)
    if not conflicts(review, stage).filter(pk=record.pk).exists():
        raise ValidationError(f"Record {record.pk} has no open conflict at this stage.")
    if (
        role_of(resolver, review) != Role.LEAD
        and Record.objects.filter(pk=record.pk).filter(_voted_in(resolver, stage)).exists()
    ):
        raise ValidationError(
            f"You voted on record {record.pk}, so you cannot resolve its conflict; "
            "a lead or another resolver must."
        )
    result = StageResult.objects.create(
        review=review, record=record, stage=stage, verdict=verdict, reason=reason,
        method=ResultMethod.RESOLUTION, decided_by=resolver, note=note,
    )  # fmt: skip
    _log(record, stage, ScreeningAction.RESOLVE, resolver, verdict=verdict,
         reason=reason.label if reason else None)  # fmt: skip
    _after_ta_change(review, stage)
    return result


def visible_decisions(*, review: Review, stage: str, viewer, record_ids, conflicts=False):
    """The current votes `viewer` may see: in blind dual mode only their own until the record
    is settled (a conflict's votes are shown to the lead resolving it on the conflicts page).

    `conflicts=True` (for a user who resolves conflicts) also shows both votes of a record in
    conflict: two current votes and no current result; a resolver who is not a lead, never in a
    conflict they voted in.
    """
    votes = ScreeningDecision.objects.filter(
        review=review, stage=stage, record_id__in=record_ids, superseded_at__isnull=True
    ).select_related("reviewer", "reason")
    mode, blind = stage_mode(review, stage)
    if mode == ScreeningMode.DUAL and blind:
        settled = StageResult.objects.filter(
            record=OuterRef("record"), stage=stage, superseded_at__isnull=True
        )
        seen = Q(reviewer=viewer) | Exists(settled)
        if conflicts:
            current = ScreeningDecision.objects.filter(
                record=OuterRef("record"), stage=stage, superseded_at__isnull=True
            )
            in_conflict = Exists(current.exclude(pk=OuterRef("pk")))
            if role_of(viewer, review) != Role.LEAD:
                in_conflict &= ~Exists(current.filter(reviewer=viewer))
            seen |= in_conflict
        votes = votes.filter(seen)
    return votes


def sought_records(review: Review):
    """Reports sought for retrieval: included at title/abstract (databases and registers) or
    found by other methods, and neither duplicates nor removed."""
    records = Record.objects.filter(review=review, duplicate_of__isnull=True, removed_reason="")
    passed = StageResult.objects.filter(
        record=OuterRef("pk"),
        stage=Stage.TITLE_ABSTRACT,
        verdict=Verdict.INCLUDE,
        superseded_at__isnull=True,
    )
    dbr = Q(batch__source__arm__in=DATABASES_AND_REGISTERS)
    return records.filter(~dbr | Exists(passed))


@transaction.atomic
def retrieval_set(
    *, review: Review, record: Record, user, status: str, file=None, url: str = "", reason=""
) -> Retrieval:
    """Record that a report's full text was retrieved (a PDF or a URL) or could not be."""
    if not sought_records(review).filter(pk=record.pk).exists():
        raise ValidationError(f"Record {record.pk} is not sought for retrieval.")
    if status == RetrievalStatus.RETRIEVED and not (file or url.strip()):
        raise ValidationError("Attach the PDF or give its URL.")
    if status == RetrievalStatus.NOT_RETRIEVED:
        if not reason.strip():
            raise ValidationError("Say why the report could not be retrieved.")
        if ScreeningDecision.objects.filter(record=record, stage=Stage.FULL_TEXT).exists():
            raise ValidationError("This report is already being assessed at full text.")
    if status not in RetrievalStatus.values:
        raise ValidationError("Unknown retrieval status.")
    retrieval, _ = Retrieval.objects.select_for_update().get_or_create(
        record=record, defaults={"review": review, "status": status}
    )
    retrieval.status, retrieval.updated_by = status, user
    retrieval.url = url.strip() if status == RetrievalStatus.RETRIEVED else ""
    retrieval.not_retrieved_reason = reason.strip() if status != RetrievalStatus.RETRIEVED else ""
    if file is not None:
        retrieval.file = file
    retrieval.full_clean(exclude=["review", "record"])
    retrieval.save()
    detail = {"status": status, "url": retrieval.url, "file": retrieval.file.name or None}
    _log(record, "", ScreeningAction.RETRIEVE, user, **detail,
         reason=retrieval.not_retrieved_reason or None)  # fmt: skip
    return retrieval


def included_reports(review: Review):
    """Reports whose current full-text result is include (PRISMA's "reports of included
    studies" once each is linked to its study)."""
    included = StageResult.objects.filter(
        record=OuterRef("pk"),
        stage=Stage.FULL_TEXT,
        verdict=Verdict.INCLUDE,
        superseded_at__isnull=True,
    )
    return Record.objects.filter(review=review).filter(Exists(included))


@transaction.atomic
def report_link_study(*, review: Review, record: Record, user, study_label: str):
    """Link an included report to its study, creating the study when the label is new.

    One study may have several reports (PRISMA counts both); a report reports one study, and
    linking it again moves it.
    """
    from analysis.models import Study, StudyReport

    label = study_label.strip()
    if not label:
        raise ValidationError("Name the study, e.g. “Smith 2019”.")
    if not included_reports(review).filter(pk=record.pk).exists():
        raise ValidationError(f"Record {record.pk} is not included at full text.")
    study, _ = Study.objects.get_or_create(review=review, label=label[:200])
    link, created = StudyReport.objects.select_for_update().get_or_create(
        record=record, defaults={"study": study}
    )
    previous = None if created else link.study.label
    if not created and link.study_id != study.pk:
        link.study = study
        link.save(update_fields=["study"])
    _log(record, Stage.FULL_TEXT, ScreeningAction.INCLUDE, user, study=study.label,
         previous_study=previous)  # fmt: skip
    return link
