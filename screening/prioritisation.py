"""Prioritised title/abstract screening in the app: train the ranking on the review's decisions,
store the order the queue walks, and the stopping rule (docs/ranking.md).

- `ranking_train(review)` fits `screening.ranking.Ranker` on every open title/abstract record's
  text with the labels known so far and writes the order of the records not settled yet as
  `RecordRank` rows (a record with one open vote keeps its place for the second reviewer).
  Labels: a settled result (include or exclude; "maybe" settles as include), and, for a record
  not settled yet, its current votes when they agree (in dual mode one reviewer's vote while the
  second is awaited). The model is shared by the team; it never
  exposes a vote (scores are hidden unless the lead shows them).
- `ranking_after_decision(review)` (called when a decision commits) queues a retrain in the
  background once enough new decisions have come in: the simulation's schedule
  (`screening.ranking.retrain_lag`: every decision at first, then one more decision per 15
  labelled records) capped at `MAX_LAG` = 10 decisions, so the order never lags more than a few
  decisions. A retrain that is already queued is not queued twice.
- Blind screening (dual mode, blind on, `review.access.stage_is_blind`): no reviewer's order
  may depend on another reviewer's open vote, so the shared model is trained on nothing a
  blind reviewer could not see (no labels: the seeded random or keyword order), and each
  screener gets their own ranking (`ReviewerRanking`), trained on the labels they may see: their
  own current votes, plus the settled results for a lead or a resolver (who see them anyway).
  `personal_ranking_train` stores its first `PERSONAL_RANKS` places; the queue walks them
  first, then the shared order. Each reviewer's decisions queue their own retrain on the same
  schedule as the shared model's. When the lead lifts the blinding the shared model takes over.
- The stopping rule of Callaghan & Müller-Hansen (2020): `sampling_start` switches the queue to
  a seeded random order of the records left (no more retraining); `stopping_status` applies the
  hypergeometric test to what has been screened since; `stopping_apply` (when the test passes)
  removes the records left as "marked ineligible by automation", with the test's statement.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from review.access import results_visibility, stage_is_blind
from review.models import ImportBatch, Record, Removal, Review
from screening.models import (
    Prioritisation,
    RecordRank,
    ReviewerRank,
    ReviewerRanking,
    ScreeningAction,
    ScreeningDecision,
    ScreeningEvent,
    Stage,
    StageResult,
    Verdict,
)
from screening.ranking import (
    Ranker,
    RankerConfig,
    hypergeometric_test,
    record_text,
    retrain_lag,
    switch_patience,
)
from screening.ranking.stopping import StoppingTest

TA = Stage.TITLE_ABSTRACT
#: the most decisions between two retrains in the app (the simulation allows up to 30: the app's
#: ranking is at least as fresh as the benchmarked one)
MAX_LAG = 10
#: places of a reviewer's own ranking that are stored (it is retrained every few of their
#: decisions; past these the queue follows the shared order)
PERSONAL_RANKS = 1000


def claim_stale_before(now=None):
    """A retrain claimed (`training_requested_at`) before this moment lost its worker and may be
    queued again: a running retrain keeps its claim fresh with a heartbeat
    (`screening.tasks`), so a claim older than RANKING_STALE_SECONDS is one whose worker died
    (or one that waited that long behind other work: queuing it twice is harmless, the second
    run finds nothing claimed and returns)."""
    return (now or timezone.now()) - timedelta(seconds=django_settings.RANKING_STALE_SECONDS)


def prioritisation_for(review: Review) -> Prioritisation:
    settings, _ = Prioritisation.objects.get_or_create(review=review, defaults={"seed": review.pk})
    return settings


def _open_records(review: Review):
    from screening.services import eligible_records

    return eligible_records(review, TA)


def _current_results(review: Review):
    return StageResult.objects.filter(review=review, stage=TA, superseded_at__isnull=True)


def personal_mode(review: Review) -> bool:
    """Is the title/abstract stage blind, so that each reviewer's queue has its own ranking?"""
    return stage_is_blind(review, TA)


def training_labels(review: Review) -> dict[int, int]:
    """record id → 1 (include) or 0 (exclude): settled results, then agreeing open votes; none
    while the stage is blind (what every reviewer may see of the others' votes there)."""
    if personal_mode(review):
        return {}
    labels = {
        record: int(verdict == Verdict.INCLUDE)
        for record, verdict in _current_results(review).values_list("record", "verdict")
    }
    votes: dict[int, set[int]] = {}
    for record, verdict in ScreeningDecision.objects.filter(
        review=review, stage=TA, superseded_at__isnull=True
    ).values_list("record", "verdict"):
        if record not in labels:
            votes.setdefault(record, set()).add(int(verdict != Verdict.EXCLUDE))
    labels.update({record: seen.pop() for record, seen in votes.items() if len(seen) == 1})
    return labels


#: the last few reviews' vectorised records (a worker retrains the same review again and again;
#: the TF-IDF of the records is most of a training's time, the model's fit a few milliseconds).
#: Keyed by the review and the exact list of its open records: a record's text never changes
#: once imported, so the same ids mean the same texts and they need not be read again.
_CACHE: OrderedDict[tuple, _CachedRanker] = OrderedDict()
_CACHE_SIZE = 2


@dataclass
class _CachedRanker:
    ranker: Ranker
    texts: list[str]

    def fit_labels(self, labels) -> Ranker:
        return self.ranker.fit(self.texts, labels)


def _ranker_for(review: Review, config: RankerConfig) -> tuple[list[int], _CachedRanker]:
    """The review's open records (ids in order) and a ranker holding their features: from the
    cache when the same records were ranked last time (only their ids are read), else read and
    vectorised now."""
    # The imports (ids and times) tell one set of records from another with the same ids (a
    # test database that reuses ids after a rollback).
    batches = tuple(
        ImportBatch.objects.filter(review=review).order_by("pk").values_list("pk", "created_at")
    )
    pks = list(_open_records(review).order_by("pk").values_list("pk", flat=True))
    key = (review.pk, config, batches, len(pks), hash(tuple(pks)))
    cached = _CACHE.get(key)
    if cached is None:
        rows = _open_rows(review)
        pks = [pk for pk, *_ in rows]
        key = (review.pk, config, batches, len(pks), hash(tuple(pks)))
        cached = _CachedRanker(Ranker(config), _texts(rows))
        _CACHE[key] = cached
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    return pks, cached


def _config(review: Review, settings: Prioritisation) -> RankerConfig:
    return RankerConfig(
        seed=settings.seed,
        include_words=tuple(review.highlight_include or ()),
        exclude_words=tuple(review.highlight_exclude or ()),
    )


def _decision_count(review: Review) -> int:
    return ScreeningDecision.objects.filter(review=review, stage=TA).count()


def _best_first(scores: np.ndarray, candidates: list[bool]) -> np.ndarray:
    """Indices of the candidate records, highest score first (ties: import order)."""
    indices = np.nonzero(np.array(candidates, dtype=bool))[0]
    return indices[np.argsort(-scores[indices], kind="stable")]


def _texts(rows) -> list[str]:
    return [
        record_text(title, abstract, " ".join(keywords) if isinstance(keywords, list) else "")
        for _pk, title, abstract, keywords in rows
    ]


def _open_rows(review: Review) -> list[tuple]:
    return list(
        _open_records(review).order_by("pk").values_list("pk", "title", "abstract", "keywords")
    )


def ranking_train(review: Review) -> Prioritisation:
    """Retrain and rewrite the queue's order (not while the stopping sample is being screened).

    The model is fitted outside any transaction (the first fit of a review vectorises its
    records, seconds at 20,000), so screening is never held up by it; the new order is then
    written in one short transaction, unless the stopping sample started meanwhile."""
    settings = prioritisation_for(review)
    if settings.sampling_started_at or settings.stopped_at:
        Prioritisation.objects.filter(pk=settings.pk).update(training_requested_at=None)
        settings.training_requested_at = None
        return settings
    started = time.perf_counter()
    decisions = _decision_count(review)
    pks, cached = _ranker_for(review, _config(review, settings))
    settled = set(_current_results(review).values_list("record", flat=True))
    labels = training_labels(review)
    known = [labels.get(pk) for pk in pks]
    ranks, trained = [], settings.trained
    if pks:
        ranker = cached.fit_labels(known)
        scores = ranker.scores if ranker.scores is not None else np.zeros(len(pks))
        trained = ranker.trained
        # Every record not settled gets a place, those with an open vote too: in dual mode the
        # second reviewer meets them in the model's order (an open vote trains the model but
        # does not take its record out of the queue).
        order = _best_first(scores, [pk not in settled for pk in pks])
        ranks = [
            RecordRank(
                record_id=pks[index],
                review=review,
                position=position,
                score=float(scores[index]) if trained else None,
            )
            for position, index in enumerate(order)
        ]
    with transaction.atomic():
        settings = Prioritisation.objects.select_for_update().get(pk=settings.pk)
        if not (settings.sampling_started_at or settings.stopped_at):
            RecordRank.objects.filter(review=review).delete()
            RecordRank.objects.bulk_create(ranks, batch_size=5000)
            settings.trained = trained
            settings.decisions_at_training = decisions
            settings.labels_at_training = sum(label is not None for label in known)
            settings.trained_at = timezone.now()
            settings.train_seconds = time.perf_counter() - started
        settings.training_requested_at = None
        settings.save()
    return settings


def ranking_due(review: Review, settings: Prioritisation | None = None) -> bool:
    """Whether enough decisions came in since the last training to retrain."""
    settings = settings or prioritisation_for(review)
    if not settings.enabled or settings.sampling_started_at or settings.stopped_at:
        return False
    new = _decision_count(review) - settings.decisions_at_training
    lag = min(MAX_LAG, retrain_lag(settings.labels_at_training))
    return settings.trained_at is None or new >= lag


def ranking_after_import(review: Review) -> bool:
    """New records: queue a retrain so that they get their place (before any decision, the
    seeded random or keyword order). True if queued."""
    settings = prioritisation_for(review)
    if not settings.enabled or settings.sampling_started_at or settings.stopped_at:
        return False
    return _queue_retrain(review, settings)


def ranking_after_decision(review: Review, reviewer=None) -> bool:
    """Queue a background retrain when one is due and none is queued; True if queued. At a
    blind stage it is the deciding reviewer's own ranking (the shared one has no labels)."""
    settings = prioritisation_for(review)
    if personal_mode(review):
        if reviewer is None or not _queue_follows_ranking(settings):
            return False
        return _queue_personal_retrain(review, reviewer)
    if not ranking_due(review, settings):
        return False
    return _queue_retrain(review, settings)


def _claim_retrain(rows) -> bool:
    """Claim the retrain of the one row in `rows` (its `training_requested_at`): False when one
    is already queued, unless that claim is stale (`claim_stale_before`: a worker that died)."""
    now = timezone.now()
    unclaimed = Q(training_requested_at__isnull=True) | Q(
        training_requested_at__lt=claim_stale_before(now)
    )
    return bool(rows.filter(unclaimed).update(training_requested_at=now))


def _queue_retrain(review: Review, settings: Prioritisation) -> bool:
    if not _claim_retrain(Prioritisation.objects.filter(pk=settings.pk)):
        return False
    from screening.tasks import retrain_ranking

    transaction.on_commit(lambda: retrain_ranking.enqueue(review.pk))
    return True


def prioritisation_update(
    *, review: Review, enabled: bool, show_scores: bool, recall_target: float, confidence: float
) -> Prioritisation:
    if not (0.5 <= recall_target < 1 and 0.5 <= confidence < 1):
        raise ValidationError("Recall target and confidence are percentages from 50 to 99.9.")
    settings = prioritisation_for(review)
    settings.enabled, settings.show_scores = enabled, show_scores
    settings.recall_target, settings.confidence = recall_target, confidence
    settings.save()
    return settings


# Each reviewer's own ranking (blind stages) ---------------------------------------------------


def personal_labels(review: Review, reviewer) -> dict[int, int]:
    """The labels `reviewer` may see: the settled results when they may see them (a lead or a
    resolver, or once the blinding is lifted), then their own current votes."""
    labels: dict[int, int] = {}
    if results_visibility(reviewer, review).title_abstract:
        labels = {
            record: int(verdict == Verdict.INCLUDE)
            for record, verdict in _current_results(review).values_list("record", "verdict")
        }
    for record, verdict in ScreeningDecision.objects.filter(
        review=review, stage=TA, reviewer=reviewer, superseded_at__isnull=True
    ).values_list("record", "verdict"):
        labels.setdefault(record, int(verdict != Verdict.EXCLUDE))
    return labels


def _own_decisions(review: Review, reviewer) -> int:
    return ScreeningDecision.objects.filter(review=review, stage=TA, reviewer=reviewer).count()


def _queue_follows_ranking(settings: Prioritisation | None) -> bool:
    return (
        settings is not None
        and settings.enabled
        and not (settings.sampling_started_at or settings.stopped_at)
    )


def personal_ranking_for_queue(
    review: Review, reviewer, settings: Prioritisation | None = None
) -> ReviewerRanking | None:
    """The reviewer's own ranking when their title/abstract queue follows it: the stage is
    blind, the queue is ranked (not the stopping sample) and it has been trained once.
    `settings`: the review's Prioritisation when the caller has read it already."""
    if not personal_mode(review):
        return None
    settings = settings or Prioritisation.objects.filter(review=review).first()
    if not _queue_follows_ranking(settings):
        return None
    return personal_ranking_status(review, reviewer)


def personal_ranking_train(review: Review, reviewer) -> ReviewerRanking:
    """Retrain `reviewer`'s own ranking on the labels they may see and store its first
    `PERSONAL_RANKS` places among the records they have not labelled that still have a place
    for them (fewer than two current votes: whether others voted, never what). Fitted outside
    any transaction, written in a short one (as `ranking_train`)."""
    ranking, _ = ReviewerRanking.objects.get_or_create(review=review, reviewer=reviewer)
    settings = prioritisation_for(review)
    if not personal_mode(review) or not _queue_follows_ranking(settings):
        ReviewerRanking.objects.filter(pk=ranking.pk).update(training_requested_at=None)
        ranking.training_requested_at = None
        return ranking
    started = time.perf_counter()
    decisions = _own_decisions(review, reviewer)
    pks, cached = _ranker_for(review, _config(review, settings))
    labels = personal_labels(review, reviewer)
    known = [labels.get(pk) for pk in pks]
    full = set(
        ScreeningDecision.objects.filter(review=review, stage=TA, superseded_at__isnull=True)
        .order_by()
        .values("record")
        .annotate(n=Count("pk"))
        .filter(n__gte=2)
        .values_list("record", flat=True)
    )
    ranks: list[ReviewerRank] = []
    trained = False
    if pks:
        ranker = cached.fit_labels(known)
        trained = ranker.trained
        scores = ranker.scores if ranker.scores is not None else np.zeros(len(pks))
        open_ = [label is None and pk not in full for pk, label in zip(pks, known, strict=True)]
        order = _best_first(scores, open_)[:PERSONAL_RANKS]
        ranks = [
            ReviewerRank(
                ranking=ranking,
                record_id=pks[index],
                position=position,
                score=float(scores[index]) if trained else None,
            )
            for position, index in enumerate(order)
        ]
    with transaction.atomic():
        ranking = ReviewerRanking.objects.select_for_update().get(pk=ranking.pk)
        ReviewerRank.objects.filter(ranking=ranking).delete()
        ReviewerRank.objects.bulk_create(ranks, batch_size=5000)
        ranking.trained = trained
        ranking.decisions_at_training = decisions
        ranking.labels_at_training = sum(label is not None for label in known)
        ranking.trained_at = timezone.now()
        ranking.train_seconds = time.perf_counter() - started
        ranking.training_requested_at = None
        ranking.save()
    return ranking


def _personal_due(review: Review, reviewer, ranking: ReviewerRanking) -> bool:
    new = _own_decisions(review, reviewer) - ranking.decisions_at_training
    lag = min(MAX_LAG, retrain_lag(ranking.labels_at_training))
    return ranking.trained_at is None or new >= lag


def _queue_personal_retrain(review: Review, reviewer) -> bool:
    ranking, _ = ReviewerRanking.objects.get_or_create(review=review, reviewer=reviewer)
    requested = ranking.training_requested_at
    if requested is not None and requested >= claim_stale_before():
        return False  # one is queued already (it will see this decision too)
    if not _personal_due(review, reviewer, ranking):
        return False
    if not _claim_retrain(ReviewerRanking.objects.filter(pk=ranking.pk)):
        return False
    from screening.tasks import retrain_personal_ranking

    review_id, reviewer_id = review.pk, reviewer.pk
    transaction.on_commit(lambda: retrain_personal_ranking.enqueue(review_id, reviewer_id))
    return True


def personal_ranking_status(review: Review, reviewer) -> ReviewerRanking | None:
    """The reviewer's own ranking (for the prioritisation page), if it was trained once."""
    return ReviewerRanking.objects.filter(
        review=review, reviewer=reviewer, trained_at__isnull=False
    ).first()


def personal_score(review: Review, reviewer, record) -> float | None:
    """The reviewer's own model's score of a record (for the screening card)."""
    return (
        ReviewerRank.objects.filter(
            ranking__review=review, ranking__reviewer=reviewer, record=record
        )
        .values_list("score", flat=True)
        .first()
    )


# The stopping rule ------------------------------------------------------------------------------


@dataclass
class StoppingStatus:
    settings: Prioritisation
    n_records: int  # records to screen at title/abstract (open, databases and registers)
    screened: int  # settled at title/abstract
    relevant: int  # settled as include
    curve: list[tuple[int, int]] = field(default_factory=list)  # (screened, relevant found)
    since_last_relevant: int = 0  # consecutive irrelevant decisions (in settling order)
    test: StoppingTest | None = None
    sample_size: int = 0
    sample_relevant: int = 0

    @property
    def remaining(self) -> int:
        return self.n_records - self.screened

    @property
    def suggested_switch(self) -> int:
        """Irrelevant decisions in a row after which the benchmarked procedure starts the random
        sample (docs/ranking.md); a suggestion for the lead, not a rule."""
        return switch_patience(self.n_records)


def _curve(verdicts: list[str], points: int = 200) -> list[tuple[int, int]]:
    """Relevant found against records screened, thinned to about `points` points."""
    found, curve = 0, [(0, 0)]
    step = max(1, len(verdicts) // points)
    for i, verdict in enumerate(verdicts, start=1):
        found += verdict == Verdict.INCLUDE
        if i % step == 0 or i == len(verdicts):
            curve.append((i, found))
    return curve


def stopping_status(review: Review) -> StoppingStatus:
    settings = prioritisation_for(review)
    open_records = _open_records(review)
    results = _current_results(review).filter(record__in=open_records)
    verdicts = list(results.order_by("created_at", "pk").values_list("verdict", flat=True))
    relevant = verdicts.count(Verdict.INCLUDE)
    last = max((i for i, v in enumerate(verdicts) if v == Verdict.INCLUDE), default=-1)
    status = StoppingStatus(
        settings=settings,
        n_records=open_records.count(),
        screened=len(verdicts),
        relevant=relevant,
        curve=_curve(verdicts),
        since_last_relevant=len(verdicts) - 1 - last,
    )
    if settings.sampling_started_at:
        sampled = Exists(RecordRank.objects.filter(record=OuterRef("record"), sampled=True))
        split = results.alias(sampled=sampled).aggregate(
            sample=Count("pk", filter=Q(sampled=True)),
            sample_relevant=Count("pk", filter=Q(sampled=True, verdict=Verdict.INCLUDE)),
        )
        status.sample_size, status.sample_relevant = split["sample"], split["sample_relevant"]
        status.test = hypergeometric_test(
            n_records=status.n_records,
            screened_ranked=status.screened - status.sample_size,
            relevant_ranked=status.relevant - status.sample_relevant,
            sample_size=status.sample_size,
            sample_relevant=status.sample_relevant,
            recall_target=settings.recall_target,
            confidence=settings.confidence,
        )
    return status


def _log(review, record_id, action, user, **detail):
    return ScreeningEvent(
        review=review, record_id=record_id, stage=TA, action=action, user=user, detail=detail
    )


@transaction.atomic
def sampling_start(*, review: Review, user) -> int:
    """Switch the queue to a seeded random order of the records not settled yet (the random
    sample of the stopping test). Returns how many records are in the sampling frame."""
    settings = Prioritisation.objects.select_for_update().get(pk=prioritisation_for(review).pk)
    if settings.sampling_started_at or settings.stopped_at:
        raise ValidationError("The random sample has already started.")
    # A seeded order of every open record, then those settled dropped: the order of the records
    # left does not depend on which were settled (nor, at a blind stage, on anyone's votes).
    every = list(_open_records(review).order_by("pk").values_list("pk", flat=True))
    settled = set(_current_results(review).values_list("record", flat=True))
    shuffled = [every[i] for i in np.random.default_rng(settings.seed).permutation(len(every))]
    left = [pk for pk in shuffled if pk not in settled]
    RecordRank.objects.filter(review=review, record__in=left).delete()
    RecordRank.objects.bulk_create(
        [
            RecordRank(record_id=pk, review=review, position=position, sampled=True)
            for position, pk in enumerate(left)
        ],
        batch_size=5000,
    )
    settings.sampling_started_at, settings.sampling_started_by = timezone.now(), user
    settings.enabled = True
    settings.save()
    return len(left)


@transaction.atomic
def stopping_apply(*, review: Review, user) -> int:
    """Stop screening: the records not settled are removed by automation, each with an audit
    event carrying the test's statement. Only when the test shows the target is reached."""
    settings = Prioritisation.objects.select_for_update().get(pk=prioritisation_for(review).pk)
    if settings.stopped_at:
        raise ValidationError("Screening was already stopped.")
    status = stopping_status(review)
    if status.test is None or not status.test.can_stop:
        raise ValidationError(
            "The stopping test does not pass yet: keep screening the random sample."
        )
    settled = _current_results(review).filter(record=OuterRef("pk"))
    left = list(_open_records(review).exclude(Exists(settled)).values_list("pk", flat=True))
    statement = status.test.statement()
    Record.objects.filter(pk__in=left).update(removed_reason=Removal.AUTOMATION)
    ScreeningEvent.objects.bulk_create(
        [_log(review, pk, ScreeningAction.STOP, user, reason=statement) for pk in left],
        batch_size=5000,
    )
    test = status.test
    settings.stopped_at, settings.stopped_by = timezone.now(), user
    settings.stop_statement = statement
    settings.stop_figures = {
        "n_records": test.n_records,
        "screened_ranked": test.screened_ranked,
        "relevant_ranked": test.relevant_ranked,
        "sample_size": test.sample_size,
        "sample_relevant": test.sample_relevant,
        "recall_target": test.recall_target,
        "confidence": test.confidence,
        "k_hat": test.k_hat,
        "p_value": test.p_value,
    }
    settings.stopped_records = len(left)
    settings.save()
    return len(left)
