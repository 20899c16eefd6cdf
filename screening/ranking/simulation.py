"""Replaying screening with known labels: the order a reviewer would have seen, and where the
stopping rule would have stopped."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .model import Ranker, RankerConfig
from .stopping import StoppingRule, StoppingTest

#: below this many decisions a new include triggers a retrain at once
RETRAIN_ON_INCLUDE_BELOW = 200


def retrain_lag(n_labelled: int) -> int:
    """Decisions between two retrains: 1 while fewer than 30 records are labelled, then one more
    per 15 labelled records, at most 30 (a retrain lags at most 30 decisions, 2% of the labelled
    set when it does). While fewer than RETRAIN_ON_INCLUDE_BELOW records are labelled, a new
    include triggers a retrain at once."""
    return max(1, min(30, n_labelled // 15))


def default_priors(labels: Sequence[int], seed: int) -> tuple[int, int]:
    """One random include and one random exclude: `numpy.random.default_rng(seed)` draws an
    index among the includes, then one among the excludes (the convention of priors.json)."""
    y = np.asarray(labels, dtype=int)
    included, excluded = np.nonzero(y == 1)[0], np.nonzero(y == 0)[0]
    if not len(included) or not len(excluded):
        raise ValueError("Default priors need at least one include and one exclude.")
    rng = np.random.default_rng(seed)
    return int(rng.choice(included)), int(rng.choice(excluded))


@dataclass(frozen=True)
class Simulation:
    """The order in which records were shown (indices; the priors first, then every record)."""

    order: list[int]
    labels_in_order: list[int]
    n_priors: int
    n_fits: int
    seconds: float


def simulate(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    prior_included: Sequence[int] = (),
    prior_excluded: Sequence[int] = (),
    seed: int = 0,
    config: RankerConfig | None = None,
    ranker: Ranker | None = None,
) -> Simulation:
    """Screen in ranked order with the true labels as the reviewer's decisions.

    Starts from the prior records (when none are given: `default_priors(labels, seed)`), and
    retrains on the decisions so far following `retrain_lag` and after every include. Once the
    last relevant record is found (the labels are known here) it stops retraining: every record
    left is irrelevant, so their order, by the last model's scores, changes no metric.

    `ranker`: a Ranker already fitted on these texts whose features are reused (as the app
    keeps a review's TF-IDF between retrains); the simulation's own config (seed) still applies.
    """
    started = time.perf_counter()
    y = np.asarray(labels, dtype=int)
    n = len(y)
    if len(texts) != n:
        raise ValueError(f"{len(texts)} texts but {n} labels.")
    if set(np.unique(y)) - {0, 1}:
        raise ValueError("Labels must be 0 or 1.")
    priors = [*prior_included, *prior_excluded]
    if not priors:
        priors = list(default_priors(y, seed))
    for i in priors:
        if not 0 <= i < n:
            raise ValueError(f"Prior record {i} is not among the {n} records.")
    if len(set(priors)) != len(priors):
        raise ValueError("A prior record is given twice.")
    for i in prior_included:
        if y[i] != 1:
            raise ValueError(f"Prior record {i} is given as included but its label is 0.")
    for i in prior_excluded:
        if y[i] != 0:
            raise ValueError(f"Prior record {i} is given as excluded but its label is 1.")

    config = config or RankerConfig(seed=seed)
    if ranker is not None:
        if ranker.features is None or ranker.features.shape[0] != n:
            raise ValueError("The ranker given was not fitted on these texts.")
        ranker = ranker.shared(config)
    else:
        ranker = Ranker(config)
        ranker.fit(texts, [None] * n)  # vectorise once
    order = list(priors)
    seen = np.zeros(n, dtype=bool)
    seen[order] = True
    relevant_left = int(y.sum() - y[order].sum())
    queue: list[int] = []
    since_fit = 0
    fits = 0
    while len(order) < n:
        must_fit = not queue or since_fit >= retrain_lag(len(order))
        if must_fit and relevant_left > 0:
            idx = np.asarray(order)
            ranker.fit_indices(idx, y[idx])
            fits += int(ranker.trained)
            queue = ranker.rank()[::-1]  # pop() from the end gives the best
            since_fit = 0
        elif not queue:
            queue = [i for i in ranker.rank() if not seen[i]][::-1]
        record = queue.pop()
        if seen[record]:
            continue
        order.append(record)
        seen[record] = True
        since_fit += 1
        if y[record] == 1:
            relevant_left -= 1
            if len(order) < RETRAIN_ON_INCLUDE_BELOW:
                since_fit = n  # retrain at once after an early include
    return Simulation(
        order=order,
        labels_in_order=[int(v) for v in y[order]],
        n_priors=len(priors),
        n_fits=fits,
        seconds=time.perf_counter() - started,
    )


def switch_patience(n_records: int) -> int:
    """Consecutive irrelevant records in ranked order after which random sampling begins:
    5% of the records, at least 50 (at most all of them)."""
    return min(n_records, max(50, math.ceil(0.05 * n_records)))


@dataclass(frozen=True)
class StopSimulation:
    """Where the stopping procedure stopped and what recall it had then reached."""

    n_records: int
    n_relevant: int
    switched_at: int | None  # records screened in ranked order before sampling began
    screened: int  # records screened when it stopped (n_records if it never could)
    relevant_found: int
    stopped_early: bool  # the test allowed stopping before every record was screened
    test: StoppingTest | None

    @property
    def recall(self) -> float:
        return self.relevant_found / self.n_relevant if self.n_relevant else 1.0

    @property
    def work_saved(self) -> float:
        return 1 - self.screened / self.n_records


def simulate_stopping(
    ranked_labels: Sequence[int],
    *,
    recall_target: float = 0.95,
    confidence: float = 0.95,
    patience: int | None = None,
    seed: int = 0,
) -> StopSimulation:
    """Replay the stopping procedure on the labels of the records in ranked order.

    Screens in ranked order until `patience` consecutive irrelevant records (default
    `switch_patience`), then screens the records left in a random order (seeded) and applies the
    hypergeometric test after each one, stopping when p < 1 - confidence. The ranked part of the
    order is the same as in a full ranked simulation, so the ranked labels are all it needs.
    """
    y = np.asarray(ranked_labels, dtype=int)
    n = len(y)
    total = int(y.sum())
    patience = switch_patience(n) if patience is None else patience
    rule = StoppingRule(n_records=n, recall_target=recall_target, confidence=confidence)
    run = 0
    switched_at = None
    for position, label in enumerate(y):
        rule.record(bool(label))
        run = 0 if label else run + 1
        if run >= patience and position + 1 < n:
            switched_at = position + 1
            break
    if switched_at is None:
        return StopSimulation(n, total, None, n, total, False, None)
    rule.start_sampling()
    rest = y[switched_at:][np.random.default_rng(seed).permutation(n - switched_at)]
    test = None
    for drawn, label in enumerate(rest, start=1):
        test = rule.record(bool(label))
        if test.can_stop:
            screened = switched_at + drawn
            return StopSimulation(
                n, total, switched_at, screened, test.relevant_found, screened < n, test
            )
    return StopSimulation(n, total, switched_at, n, total, False, test)
