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
- Vote changes: a reviewer may change or undo their vote only while it can still be taken back
  without anyone having seen its consequence: in dual mode while the record awaits the other
  reviewer (theirs is the only vote), in single mode until the record moves on (retrieval or
  full-text screening at title/abstract, a study link at full text). After that a change is a
  lead's: `stage_reopen` supersedes the result as a conflict (logged), withdrawing the later
  stages when asked to (`cascade`), so the PRISMA arithmetic holds after every step.
- Work allocation: `next_card` serves a record with a lease (`ScreeningLease`): at most two
  reviewers hold or have voted on a record in dual mode, one in single mode; a lease ends on a
  vote, a skip or after `SCREENING_LEASE_MINUTES` idle. A vote on a record that others filled
  or settled meanwhile is refused with a message, never stored over theirs.
- Blind screening: see `review.access.results_visibility` and `visible_decisions`.
"""

from dataclasses import dataclass
from datetime import timedelta

import rules
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from review.access import results_visibility, stage_is_blind
from review.models import (
    DATABASES_AND_REGISTERS,
    ImportBatch,
    Record,
    Review,
    Role,
    ScreeningMode,
)
from review.rules import role_of
from screening.fulltext_pdf import HEAD_BYTES, pdf_problem
from screening.models import (
    CalibrationRound,
    CalibrationSample,
    ExclusionReason,
    Prioritisation,
    Reopening,
    ResultMethod,
    Retrieval,
    RetrievalStatus,
    ScreeningAction,
    ScreeningDecision,
    ScreeningEvent,
    ScreeningLease,
    Stage,
    StageAction,
    StageEvent,
    StageResult,
    Verdict,
)

#: candidates read at a time from the queue when claiming a record for a card, and how many
#: such reads before the next order (each candidate found taken by the time it was locked)
CLAIM_BATCH = 8
CLAIM_ROUNDS = 10


def stage_mode(review: Review, stage: str) -> tuple[str, bool]:
    """(mode, blind) of a stage."""
    if stage == Stage.TITLE_ABSTRACT:
        return review.title_abstract_mode, review.title_abstract_blind
    return review.full_text_mode, review.full_text_blind


def _settled(verdict: str) -> str:
    return Verdict.EXCLUDE if verdict == Verdict.EXCLUDE else Verdict.INCLUDE


def _dbr(review: Review) -> Q:
    """Records of database/register sources: one uncorrelated list of batches rather than two
    joins per record."""
    return Q(
        batch__in=ImportBatch.objects.filter(
            review=review, source__arm__in=DATABASES_AND_REGISTERS
        ).values("pk")
    )


def downstream_visible(review: Review, viewer, visibility=None) -> Q:
    """The records whose later stages (retrieval, full text, study) `viewer` may see: all when
    they may see title/abstract results, else only other-methods records (which skip that
    stage), since a database record at full text was included at title/abstract.
    `visibility`: the viewer's `results_visibility` when the caller has it already."""
    if viewer is None or (visibility or results_visibility(viewer, review)).title_abstract:
        return Q()
    return ~_dbr(review)


def eligible_records(review: Review, stage: str, viewer=None):
    """Records that can be voted on at `stage` (not yet considering who voted). With `viewer`,
    only those the viewer may know are there: while title/abstract screening is blind for them,
    full-text eligibility shows them other-methods records only."""
    records = Record.objects.filter(review=review, duplicate_of__isnull=True, removed_reason="")
    dbr = _dbr(review)
    if stage == Stage.TITLE_ABSTRACT:
        return records.filter(dbr)
    passed = StageResult.objects.filter(
        record=OuterRef("pk"),
        stage=Stage.TITLE_ABSTRACT,
        verdict=Verdict.INCLUDE,
        superseded_at__isnull=True,
    )
    retrieved = Retrieval.objects.filter(record=OuterRef("pk"), status=RetrievalStatus.RETRIEVED)
    records = records.filter((~dbr | Exists(passed)) & Exists(retrieved))
    return records.filter(downstream_visible(review, viewer))


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


def lease_duration() -> timedelta:
    return timedelta(minutes=settings.SCREENING_LEASE_MINUTES)


def places(review: Review, stage: str) -> int:
    """How many reviewers vote on a record at the stage: two in dual mode, one in single."""
    mode, _blind = stage_mode(review, stage)
    return 2 if mode == ScreeningMode.DUAL else 1


def count_per_record(queryset) -> Coalesce:
    """A per-record count subquery (stops at the first open record when the queue is walked in
    order), never a GROUP BY over the review."""
    counted = queryset.order_by().values("record").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _calibrating(review: Review, stage: str) -> bool:
    return CalibrationRound.objects.filter(
        review=review, stage=stage, closed_at__isnull=True
    ).exists()


def open_for(*, review: Review, reviewer, stage: str, now=None, calibrating=None):
    """Records `reviewer` may be served at `stage` now: eligible (as far as they may know), not
    voted on by them, not settled, not re-opened for a lead, not skipped by them lately, and
    with a place left: in dual mode fewer than two reviewers voted on it or hold it on their
    card, in single mode none. While a calibration round is open, its two reviewers get its
    sample only and the others skip it."""
    now = now or timezone.now()
    current = ScreeningDecision.objects.filter(
        record=OuterRef("pk"), stage=stage, superseded_at__isnull=True
    )
    settled = StageResult.objects.filter(
        record=OuterRef("pk"), stage=stage, superseded_at__isnull=True
    )
    reopened = Reopening.objects.filter(record=OuterRef("pk"), stage=stage, closed_at__isnull=True)
    leases = ScreeningLease.objects.filter(record=OuterRef("pk"), stage=stage, expires_at__gt=now)
    queue = (
        eligible_records(review, stage, viewer=reviewer)
        .exclude(Exists(current.filter(reviewer=reviewer)))
        .exclude(Exists(settled))
        .exclude(Exists(reopened))
        .exclude(Exists(leases.filter(reviewer=reviewer, skipped=True)))
        .alias(
            taken=count_per_record(current)
            + count_per_record(leases.filter(skipped=False).exclude(reviewer=reviewer))
        )
        .filter(taken__lt=places(review, stage))
    )
    if _calibrating(review, stage) if calibrating is None else calibrating:
        queue = queue.filter(_calibration_queue(review, reviewer, stage))
    return queue


def _ordered(queue, *, review: Review, reviewer, stage: str):
    """The queue's orders, walked one after the other: at title/abstract the reviewer's own
    ranking (blind stages, `screening.prioritisation`), then the review's shared ranking, each
    on its (owner, position) index; last, every record in import order."""
    orders = []
    if stage == Stage.TITLE_ABSTRACT:
        from screening.prioritisation import personal_ranking_for_queue

        settings = Prioritisation.objects.filter(review=review).first()
        ranking = personal_ranking_for_queue(review, reviewer, settings=settings)
        if ranking is not None:
            orders.append(
                queue.filter(personal_ranks__ranking=ranking).order_by("personal_ranks__position")
            )
        # A stored order exists once the ranking was trained or the stopping sample drawn.
        if (
            settings is not None
            and settings.enabled
            and (settings.trained_at or settings.sampling_started_at)
        ):
            orders.append(queue.filter(rank__review=review).order_by("rank__position"))
    orders.append(queue.order_by("pk"))
    return orders


@dataclass(frozen=True)
class Card:
    """A record served to a reviewer, with the lease that holds its place for them."""

    record: Record
    lease: ScreeningLease


def _lease_write(*, review: Review, record: Record, reviewer, stage: str, now, skipped: bool):
    """Insert or renew the reviewer's lease on the record, in one statement (INSERT … ON
    CONFLICT DO UPDATE on both databases): held on their card, or `skipped`."""
    lease = ScreeningLease(
        review=review, record=record, stage=stage, reviewer=reviewer, served_at=now,
        expires_at=now + lease_duration(), skipped=skipped,
    )  # fmt: skip
    ScreeningLease.objects.bulk_create(
        [lease],
        update_conflicts=True,
        unique_fields=["record", "stage", "reviewer"],
        update_fields=["served_at", "expires_at", "skipped"],
    )
    if lease.pk is None:  # a database that does not return the id of an upsert
        lease = ScreeningLease.objects.get(record=record, stage=stage, reviewer=reviewer)
    return lease


def _claim(*, review: Review, record: Record, reviewer, stage: str, now) -> ScreeningLease:
    """Hold `record` for `reviewer` (their one card at the stage), renewing their lease on it;
    their other card at the stage, and their skips that have expired, are let go."""
    mine = ScreeningLease.objects.filter(review=review, stage=stage, reviewer=reviewer)
    mine.filter(Q(skipped=False) | Q(expires_at__lte=now)).exclude(record=record).delete()
    return _lease_write(review=review, record=record, reviewer=reviewer, stage=stage, now=now,
                        skipped=False)  # fmt: skip


def next_card(*, review: Review, reviewer, stage: str) -> Card | None:
    """The reviewer's card: the record they already hold if it is still open for them (a page
    reload shows the same record), else the first open record in the queue's order, claimed
    with a lease so no more reviewers than it has places for are served it at once.

    The queue is read outside any transaction; each claim is its own short transaction that
    locks the record (PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent claimants pass over a
    record being claimed; SQLite: the IMMEDIATE transaction serialises claims), checks again
    that it has a place and writes the lease. So SQLite's write lock is held for a claim, never
    for the queue's reading."""
    now = timezone.now()
    calibrating = _calibrating(review, stage)
    queue = open_for(review=review, reviewer=reviewer, stage=stage, now=now,
                     calibrating=calibrating)  # fmt: skip
    held = (
        ScreeningLease.objects.filter(
            review=review, stage=stage, reviewer=reviewer, skipped=False, expires_at__gt=now
        )
        .order_by("-served_at", "-pk")
        .first()
    )
    if held is not None:
        record = queue.filter(pk=held.record_id).first()
        if record is not None:
            held.expires_at = now + lease_duration()
            ScreeningLease.objects.filter(pk=held.pk).update(expires_at=held.expires_at)
            return Card(record, held)
    tried: set[int] = set()
    for order in _ordered(queue, review=review, reviewer=reviewer, stage=stage):
        for _round in range(CLAIM_ROUNDS):
            ids = list(order.exclude(pk__in=tried).values_list("pk", flat=True)[:CLAIM_BATCH])
            if not ids:
                break
            for pk in ids:
                tried.add(pk)
                card = _try_claim(review=review, reviewer=reviewer, stage=stage, pk=pk, now=now,
                                  calibrating=calibrating)  # fmt: skip
                if card is not None:
                    return card
    return None


@transaction.atomic
def _try_claim(
    *, review: Review, reviewer, stage: str, pk: int, now, calibrating: bool
) -> Card | None:
    """Claim record `pk` for the reviewer's card if it is free to lock and still has a place."""
    if connection.features.has_select_for_update_skip_locked:
        locked = Record.objects.select_for_update(skip_locked=True).filter(pk=pk)
        if not locked.values_list("pk", flat=True):
            return None  # a concurrent claim holds it: the next candidate
    queue = open_for(review=review, reviewer=reviewer, stage=stage, now=now,
                     calibrating=calibrating)  # fmt: skip
    record = queue.filter(pk=pk).first()
    if record is None:
        return None  # taken meanwhile
    return Card(record, _claim(review=review, record=record, reviewer=reviewer, stage=stage,
                               now=now))  # fmt: skip


def next_record(*, review: Review, reviewer, stage: str) -> Record | None:
    """The record on the reviewer's card (`next_card`), claimed for them."""
    card = next_card(review=review, reviewer=reviewer, stage=stage)
    return card.record if card else None


def card_skip(*, review: Review, record: Record, reviewer, stage: str) -> None:
    """Put the card back: its place is free for another reviewer, and the record is not served
    to this reviewer again until the lease would have expired."""
    _lease_write(review=review, record=record, reviewer=reviewer, stage=stage,
                 now=timezone.now(), skipped=True)  # fmt: skip


def _after_ta_change(review: Review, stage: str, user=None) -> None:
    """Let the ranking know the title/abstract labels changed (it retrains when due)."""
    if stage == Stage.TITLE_ABSTRACT:
        from screening.prioritisation import ranking_after_decision

        ranking_after_decision(review, reviewer=user)


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


def _moved_on(record: Record, stage: str) -> str | None:
    """What a later stage did with the record, if anything (a single-mode vote can no longer be
    changed by its reviewer then): its full text sought, or what `stage_reopen` would withdraw."""
    if stage == Stage.TITLE_ABSTRACT and Retrieval.objects.filter(record=record).exists():
        return "its full text has been sought"
    return _describe(_downstream_facts(record, stage)) or None


def _change_refused(review, record, stage, mine, current, result) -> str | None:
    """Why `mine` (the reviewer's current vote) can no longer be changed or undone, or None.

    Dual mode: only while it is the record's only vote (the other reviewer has not voted yet).
    Single mode: until the record moves on to a later stage. Never once a lead settled or
    re-opened it. The messages say nothing of the other vote (blind screening)."""
    n = record.pk
    if Reopening.objects.filter(record=record, stage=stage, closed_at__isnull=True).exists():
        return f"A lead re-opened record {n}; it waits for their resolution."
    if result is not None and result.method in (ResultMethod.RESOLUTION, ResultMethod.AUTOMATION):
        return f"A lead settled record {n}; ask them to re-open it if your vote was a mistake."
    if places(review, stage) == 2:
        if any(vote.pk != mine.pk for vote in current) or result is not None:
            return (
                f"The other reviewer has screened record {n} too, so your vote can no longer "
                "be changed; ask a lead to re-open it if it was a mistake."
            )
        return None
    moved = _moved_on(record, stage) if result is not None else None
    if moved:
        return (
            f"Record {n} has moved on ({moved}), so your vote can no longer be changed; ask a "
            "lead to re-open it if it was a mistake."
        )
    return None


def undo_refusal(review: Review, vote: ScreeningDecision) -> str | None:
    """Why the reviewer can no longer undo `vote` (their current vote), or None if they can.
    (Shown on every card: in dual mode, one query for the common case.)"""
    if places(review, vote.stage) == 2:
        current = {"record": vote.record_id, "stage": vote.stage, "superseded_at__isnull": True}
        blocked = Record.objects.filter(pk=vote.record_id).filter(
            Exists(ScreeningDecision.objects.filter(**current).exclude(pk=vote.pk))
            | Exists(StageResult.objects.filter(**current))
            | Exists(Reopening.objects.filter(record=vote.record_id, stage=vote.stage,
                                              closed_at__isnull=True))
        )  # fmt: skip
        if not blocked.exists():
            return None
    current = list(
        ScreeningDecision.objects.filter(
            record_id=vote.record_id, stage=vote.stage, superseded_at__isnull=True
        )
    )
    result = StageResult.objects.filter(
        record_id=vote.record_id, stage=vote.stage, superseded_at__isnull=True
    ).first()
    return _change_refused(review, vote.record, vote.stage, vote, current, result)


def _taken_message(review, record, stage) -> str:
    if places(review, stage) == 2:
        return (
            f"Two other reviewers screened record {record.number} while you were reading it, so "
            "your vote was not recorded. Here is your next record."
        )
    return (
        f"Another reviewer screened record {record.number} while you were reading it, so your vote "
        "was not recorded. Here is your next record."
    )


@transaction.atomic
def decision_record(
    *, review: Review, record: Record, reviewer, stage: str, verdict: str, reason=None, note=""
) -> ScreeningDecision:
    """Record (or change) `reviewer`'s vote and settle the stage when the votes allow it.

    Refused, never stored over anyone's vote: a record that others filled (two votes in dual
    mode, one in single) or settled meanwhile; a change the vote-change rules do not allow
    (`_change_refused`). The same vote sent twice (a double click) is recorded once."""
    if stage not in Stage.values or verdict not in Verdict.values:
        raise ValidationError("Unknown stage or verdict.")
    reason = _check_reason(review, stage, verdict, reason)
    locked = (
        eligible_records(review, stage, viewer=reviewer)
        .select_for_update(of=("self",))
        .filter(pk=record.pk)
        .first()
    )
    if locked is None:
        stage_name = Stage(stage).label.lower()
        raise ValidationError(f"Record {record.number} is not open for {stage_name}.")
    record = locked
    current = list(
        ScreeningDecision.objects.select_for_update().filter(
            record=record, stage=stage, superseded_at__isnull=True
        )
    )
    result = _current_result(record, stage)
    mine = next((d for d in current if d.reviewer_id == reviewer.pk), None)
    mode, _blind = stage_mode(review, stage)
    if mine is not None:
        same = (mine.verdict, mine.reason_id, mine.note) == (verdict, getattr(reason, "pk", None),
                                                            note)  # fmt: skip
        if same:
            return mine  # a double click, or the same card sent twice
        refused = _change_refused(review, record, stage, mine, current, result)
        if refused:
            raise ValidationError(refused)
    else:
        if Reopening.objects.filter(record=record, stage=stage, closed_at__isnull=True).exists():
            raise ValidationError(f"A lead re-opened record {record.number}; it waits for their "
                                  "resolution. Here is your next record.")  # fmt: skip
        if result is not None or len(current) >= places(review, stage):
            raise ValidationError(_taken_message(review, record, stage))
        if _calibrated_by_others(record, stage, reviewer):
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
    ScreeningLease.objects.filter(record=record, stage=stage, reviewer=reviewer).delete()
    _log(record, stage, ScreeningAction.CHANGE if mine else ScreeningAction.DECIDE, reviewer,
         verdict=verdict, reason=reason.label if reason else None)  # fmt: skip
    _settle(review, record, stage, [*current, decision], mode, previous=result)
    _after_ta_change(review, stage, reviewer)
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
    """Withdraw the reviewer's current vote while the vote-change rules allow it; the record
    comes back onto their card."""
    record = Record.objects.select_for_update().get(pk=record.pk)
    current = list(
        ScreeningDecision.objects.select_for_update().filter(
            record=record, stage=stage, superseded_at__isnull=True
        )
    )
    vote = next((d for d in current if d.reviewer_id == reviewer.pk), None)
    if vote is None:
        raise ValidationError("You have no decision on this record to undo.")
    result = _current_result(record, stage)
    refused = _change_refused(review, record, stage, vote, current, result)
    if refused:
        raise ValidationError(refused)
    now = timezone.now()
    vote.superseded_at = now
    vote.save(update_fields=["superseded_at"])
    _log(record, stage, ScreeningAction.UNDO, reviewer, verdict=vote.verdict)
    current.remove(vote)
    mode, _blind = stage_mode(review, stage)
    _settle(review, record, stage, current, mode, previous=result)
    # Back onto their card, unless others hold all its places meanwhile.
    queue = open_for(review=review, reviewer=reviewer, stage=stage, now=now)
    if queue.filter(pk=record.pk).exists():
        _claim(review=review, record=record, reviewer=reviewer, stage=stage, now=now)
    _after_ta_change(review, stage, reviewer)


def conflicts(review: Review, stage: str):
    """Records waiting for a lead or resolver at `stage`: no current result and either two
    current votes (in dual mode two votes that agree settle at once, so these disagree) or a
    lead's open reopening."""
    settled = StageResult.objects.filter(
        record=OuterRef("pk"), stage=stage, superseded_at__isnull=True
    )
    votes = ScreeningDecision.objects.filter(
        record=OuterRef("pk"), stage=stage, superseded_at__isnull=True
    )
    reopened = Reopening.objects.filter(record=OuterRef("pk"), stage=stage, closed_at__isnull=True)
    return (
        Record.objects.filter(review=review)
        .alias(votes=count_per_record(votes))
        .filter(Q(votes__gte=2) | Exists(reopened))
        .exclude(Exists(settled))
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
        raise ValidationError(f"Record {record.number} has no open conflict at this stage.")
    if (
        role_of(resolver, review) != Role.LEAD
        and Record.objects.filter(pk=record.pk).filter(_voted_in(resolver, stage)).exists()
    ):
        raise ValidationError(
            f"You voted on record {record.number}, so you cannot resolve its conflict; "
            "a lead or another resolver must."
        )
    if stage == Stage.FULL_TEXT and not sought_records(review).filter(pk=record.pk).exists():
        raise ValidationError(
            f"Record {record.number} is no longer sought for retrieval: settle its title/abstract "
            "screening first."
        )
    result = StageResult.objects.create(
        review=review, record=record, stage=stage, verdict=verdict, reason=reason,
        method=ResultMethod.RESOLUTION, decided_by=resolver, note=note,
    )  # fmt: skip
    Reopening.objects.filter(record=record, stage=stage, closed_at__isnull=True).update(
        closed_at=timezone.now()
    )
    _log(record, stage, ScreeningAction.RESOLVE, resolver, verdict=verdict,
         reason=reason.label if reason else None)  # fmt: skip
    _after_ta_change(review, stage, resolver)
    return result


def _downstream_facts(record: Record, stage: str) -> dict:
    """What later stages hold for the record: re-opening `stage` withdraws them (cascade)."""
    from analysis.models import StudyReport

    facts = {}
    link = StudyReport.objects.filter(record=record).select_related("study").first()
    if stage == Stage.TITLE_ABSTRACT:
        ft_votes = ScreeningDecision.objects.filter(
            record=record, stage=Stage.FULL_TEXT, superseded_at__isnull=True
        ).count()
        ft_result = StageResult.objects.filter(
            record=record, stage=Stage.FULL_TEXT, superseded_at__isnull=True
        ).first()
        if ft_votes:
            facts["full_text_votes"] = ft_votes
        if ft_result is not None:
            facts["full_text_result"] = ft_result.verdict
    if link is not None:
        facts["study"] = link.study.label
    return facts


def _describe(facts: dict) -> str:
    parts = []
    if "full_text_votes" in facts:
        n = facts["full_text_votes"]
        parts.append(f"{n} full-text vote{'s' if n != 1 else ''}")
    if "full_text_result" in facts:
        parts.append(f"a full-text result ({facts['full_text_result']})")
    if "study" in facts:
        parts.append(f"a link to the study “{facts['study']}”")
    return ", ".join(parts)


@transaction.atomic
def stage_reopen(
    *, review: Review, record: Record, stage: str, lead, note: str = "", cascade: bool = False
) -> Reopening:
    """A lead re-opens a settled record at `stage` as a conflict: its result is superseded (the
    votes stay), and the record waits on the conflicts page until a lead or resolver settles it.

    Later stages rest on this result; when the record has any (full-text votes or result, a
    study link), the lead must ask for them to be withdrawn as well (`cascade`), else it is
    refused with what to undo first. Withdrawn votes and links are superseded and logged, so the
    PRISMA arithmetic holds after the step and the audit trail keeps everything."""
    if stage not in Stage.values:
        raise ValidationError("Unknown stage.")
    if role_of(lead, review) != Role.LEAD:
        raise ValidationError("Only a lead can re-open a settled record.")
    record = Record.objects.select_for_update().get(pk=record.pk)
    if record.review_id != review.pk:
        raise ValidationError(f"Record {record.number} is not in this review.")
    result = _current_result(record, stage)
    if result is None:
        raise ValidationError(f"Record {record.number} is not settled at this stage: nothing to "
                              "re-open.")  # fmt: skip
    facts = _downstream_facts(record, stage)
    if facts and not cascade:
        raise ValidationError(
            f"Record {record.number} has moved on: {_describe(facts)}. Re-open those later stages "
            "too (they are withdrawn, and kept in the history), or undo them first."
        )
    now = timezone.now()
    result.superseded_at = now
    result.save(update_fields=["superseded_at"])
    _log(record, stage, ScreeningAction.REOPEN, lead, verdict=result.verdict,
         method=result.method, note=note or None, withdrawn=_describe(facts) or None)  # fmt: skip
    if facts:
        _withdraw_downstream(review, record, stage, lead, now)
    reopening = Reopening.objects.create(
        review=review, record=record, stage=stage, opened_by=lead, note=note, cascade=facts
    )
    _after_ta_change(review, stage, lead)
    return reopening


def _withdraw_downstream(review, record, stage, lead, now) -> None:
    from analysis.models import StudyReport

    if stage == Stage.TITLE_ABSTRACT:
        for vote in (
            ScreeningDecision.objects.select_for_update(of=("self",))
            .filter(record=record, stage=Stage.FULL_TEXT, superseded_at__isnull=True)
            .select_related("reviewer")
        ):
            vote.superseded_at = now
            vote.save(update_fields=["superseded_at"])
            _log(record, Stage.FULL_TEXT, ScreeningAction.WITHDRAW, lead, verdict=vote.verdict,
                 reviewer=vote.reviewer.get_username())  # fmt: skip
        ft_result = _current_result(record, Stage.FULL_TEXT)
        if ft_result is not None:
            ft_result.superseded_at = now
            ft_result.save(update_fields=["superseded_at"])
            _log(record, Stage.FULL_TEXT, ScreeningAction.WITHDRAW, lead,
                 verdict=ft_result.verdict, method=ft_result.method)  # fmt: skip
        Reopening.objects.filter(
            record=record, stage=Stage.FULL_TEXT, closed_at__isnull=True
        ).update(closed_at=now)
        ScreeningLease.objects.filter(record=record, stage=Stage.FULL_TEXT).delete()
    link = StudyReport.objects.filter(record=record).select_related("study").first()
    if link is not None:
        _log(record, Stage.FULL_TEXT, ScreeningAction.UNLINK, lead, study=link.study.label)
        link.delete()


@transaction.atomic
def stage_blinding_set(*, review: Review, stage: str, blind: bool, user) -> bool:
    """A lead lifts a stage's blinding (reviewers then see its votes, results, agreement and
    what follows from them) or turns it back on; logged as a `StageEvent`. True if it changed."""
    if stage not in Stage.values:
        raise ValidationError("Unknown stage.")
    if role_of(user, review) != Role.LEAD:
        raise ValidationError("Only a lead can lift or restore blinding.")
    field = "title_abstract_blind" if stage == Stage.TITLE_ABSTRACT else "full_text_blind"
    locked = Review.objects.select_for_update().get(pk=review.pk)
    setattr(review, field, blind)  # the caller's instance follows
    if getattr(locked, field) == blind:
        return False
    setattr(locked, field, blind)
    locked.save(update_fields=[field])
    stage_blinding_logged(review=locked, stage=stage, blind=blind, user=user)
    return True


def stage_blinding_logged(*, review: Review, stage: str, blind: bool, user) -> None:
    """Log that a stage's blinding changed (also called when a lead changes it in the review's
    settings) and let the ranking follow: a blind stage ranks each reviewer's queue by their
    own model, a lifted one by the team's shared model."""
    StageEvent.objects.create(
        review=review,
        stage=stage,
        action=StageAction.RESTORE_BLINDING if blind else StageAction.LIFT_BLINDING,
        user=user,
    )
    if stage == Stage.TITLE_ABSTRACT:
        from screening.prioritisation import ranking_after_import

        ranking_after_import(review)


def visible_decisions(
    *, review: Review, stage: str, viewer, record_ids, conflicts=False, visibility=None
):
    """The current votes `viewer` may see at `stage`.

    A stage that is not blind shows every vote (of records whose stage the viewer may see at
    all: `downstream_visible`). At a blind stage (dual mode, blind on) a member sees their own
    votes; a lead or a resolver, who see the stage's results (`review.access`), also sees both
    votes of a settled record, and with `conflicts=True` both votes of a record in conflict (a
    resolver who is not a lead, never in a conflict they voted in). Anyone else sees nobody
    else's vote there until a lead lifts the blinding, settled or not. `visibility`: the
    viewer's `results_visibility`, when the caller has it already (an export, chunk by chunk).
    """
    visibility = visibility or results_visibility(viewer, review)
    votes = ScreeningDecision.objects.filter(
        review=review, stage=stage, record_id__in=record_ids, superseded_at__isnull=True
    ).select_related("reviewer", "reason")
    mine = Q(reviewer=viewer)
    if stage == Stage.FULL_TEXT:
        downstream = downstream_visible(review, viewer, visibility)
        if downstream:
            record_ids = Record.objects.filter(review=review).filter(downstream).values("pk")
            votes = votes.filter(mine | Q(record_id__in=record_ids))
    if not stage_is_blind(review, stage):
        return votes
    if not visibility.stage(stage):
        return votes.filter(mine)
    settled = StageResult.objects.filter(
        record=OuterRef("record"), stage=stage, superseded_at__isnull=True
    )
    seen = mine | Exists(settled)
    if conflicts:
        current = ScreeningDecision.objects.filter(
            record=OuterRef("record"), stage=stage, superseded_at__isnull=True
        )
        in_conflict = Exists(current.exclude(pk=OuterRef("pk")))
        if role_of(viewer, review) != Role.LEAD:
            in_conflict &= ~Exists(current.filter(reviewer=viewer))
        seen |= in_conflict
    return votes.filter(seen)


def sought_records(review: Review, viewer=None):
    """Reports sought for retrieval: included at title/abstract (databases and registers) or
    found by other methods, and neither duplicates nor removed. With `viewer`, only those they
    may know of (`downstream_visible`)."""
    records = Record.objects.filter(review=review, duplicate_of__isnull=True, removed_reason="")
    passed = StageResult.objects.filter(
        record=OuterRef("pk"),
        stage=Stage.TITLE_ABSTRACT,
        verdict=Verdict.INCLUDE,
        superseded_at__isnull=True,
    )
    dbr = Q(batch__source__arm__in=DATABASES_AND_REGISTERS)
    return records.filter(~dbr | Exists(passed)).filter(downstream_visible(review, viewer))


def fulltext_max_bytes() -> int:
    return settings.FULLTEXT_MAX_UPLOAD_MB * 1024 * 1024


def fulltext_file_check(file) -> None:
    """Refuse an uploaded full text that is empty, too large or not a PDF, naming the file."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    problem = pdf_problem(file.name, head, file.size, fulltext_max_bytes())
    if problem:
        raise ValidationError(problem)


_WEB_URL = URLValidator(schemes=["http", "https"])


def fulltext_url_check(url: str) -> str:
    """The full text's URL, stripped, if it is a web address (http or https): never a
    `javascript:` or `data:` URL that a click on the link would run."""
    url = url.strip()
    try:
        _WEB_URL(url)
    except ValidationError:
        shown = url if len(url) <= 60 else url[:57] + "…"
        raise ValidationError(
            f"The full text’s URL must be a web address starting with http:// or https:// "
            f"(not “{shown}”)."
        ) from None
    return url


@transaction.atomic
def retrieval_set(
    *, review: Review, record: Record, user, status: str, file=None, url: str = "", reason=""
) -> Retrieval:
    """Record that a report's full text was retrieved (a PDF or a URL) or could not be."""
    if not sought_records(review, viewer=user).filter(pk=record.pk).exists():
        raise ValidationError(f"Record {record.number} is not sought for retrieval.")
    if status == RetrievalStatus.RETRIEVED:
        if file is not None:
            fulltext_file_check(file)
        if url.strip():
            url = fulltext_url_check(url)
    if status == RetrievalStatus.RETRIEVED and not (file or url.strip()):
        raise ValidationError("Attach the PDF or give its URL.")
    if status == RetrievalStatus.NOT_RETRIEVED:
        if not reason.strip():
            raise ValidationError("Say why the report could not be retrieved.")
        assessed = (
            ScreeningDecision.objects.filter(
                record=record, stage=Stage.FULL_TEXT, superseded_at__isnull=True
            ).exists()
            or StageResult.objects.filter(
                record=record, stage=Stage.FULL_TEXT, superseded_at__isnull=True
            ).exists()
        )
        if assessed:
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


def included_reports(review: Review, viewer=None):
    """Reports whose current full-text result is include (PRISMA's "reports of included
    studies" once each is linked to its study). With `viewer`, only those they may see."""
    included = StageResult.objects.filter(
        record=OuterRef("pk"),
        stage=Stage.FULL_TEXT,
        verdict=Verdict.INCLUDE,
        superseded_at__isnull=True,
    )
    records = Record.objects.filter(review=review).filter(Exists(included))
    if viewer is not None and not results_visibility(viewer, review).full_text:
        return records.none()
    return records.filter(downstream_visible(review, viewer))


@transaction.atomic
def report_link_study(*, review: Review, record: Record, user, study_label: str):
    """Link an included report to its study, creating the study when the label is new (a label
    differing only in case or spacing from a study's is that study).

    One study may have several reports (PRISMA counts both); a report reports one study, and
    linking it again moves it.
    """
    from analysis.models import StudyReport
    from analysis.studies import study_for_label

    if not study_label.strip():
        raise ValidationError("Name the study, e.g. “Smith 2019”.")
    if not included_reports(review, viewer=user).filter(pk=record.pk).exists():
        raise ValidationError(f"Record {record.number} is not included at full text.")
    # "wang 2019" names the existing "Wang 2019": case and spacing never make a twin study
    study, _ = study_for_label(review=review, label=study_label)
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
