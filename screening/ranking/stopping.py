"""The statistical stopping rule of Callaghan & Müller-Hansen (2020, *Systematic Reviews* 9:262).

After screening records in ranked order, the team screens a simple random sample of the records
that remain. Let N be the number of records, n_AL the records screened in ranked order with r_AL
relevant among them, and, in the random sample of n records drawn from the N_s = N - n_AL that
remained, k relevant. The relevant records found are r = r_AL + k.

The null hypothesis is "recall < target". The recall reached is r / (r_AL + K), where K is the
(unknown) number of relevant records that were left when sampling began. Recall falls below the
target τ exactly when K > r/τ - r_AL, so the smallest K compatible with H0 is

    K_hat = floor(r / τ) - r_AL + 1.

Under H0 with K = K_hat, the count of relevant records in the sample is hypergeometric (an urn of
N_s records of which K_hat relevant, n drawn without replacement), and seeing k or fewer has
probability p = P(X ≤ k) = hypergeom.cdf(k, N_s, K_hat, n). Larger K make k or fewer even less
likely, so p bounds every K compatible with H0. If p < 1 - confidence, H0 is rejected: "recall ≥
τ with the stated confidence", and the rest may be excluded.

`hypergeometric_test` computes one test; `recall_bound` the highest recall that can be claimed at
a confidence; `StoppingRule` replays the procedure record by record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from scipy.stats import hypergeom


def _exact(value: float) -> Fraction:
    """A target such as 0.95 as the exact fraction 19/20 (so 19 / 0.95 is exactly 20)."""
    return Fraction(str(value)).limit_denominator(1_000_000)


def _check_counts(n_records, screened_ranked, relevant_ranked, sample_size, sample_relevant):
    if min(n_records, screened_ranked, relevant_ranked, sample_size, sample_relevant) < 0:
        raise ValueError("Counts cannot be negative.")
    if relevant_ranked > screened_ranked:
        raise ValueError("More relevant records than records screened in ranked order.")
    if sample_relevant > sample_size:
        raise ValueError("More relevant records than records in the sample.")
    if screened_ranked + sample_size > n_records:
        raise ValueError("More records screened than there are records.")


def k_hat(relevant_found: int, relevant_ranked: int, recall_target: float) -> int:
    """The fewest relevant records left when sampling began for recall to be below the target."""
    if not 0 < recall_target <= 1:
        raise ValueError("The recall target must be in (0, 1].")
    return math.floor(Fraction(relevant_found) / _exact(recall_target)) - relevant_ranked + 1


@dataclass(frozen=True)
class StoppingTest:
    """One application of the test, with its inputs, so a panel or a log can show them."""

    n_records: int
    screened_ranked: int
    relevant_ranked: int
    sample_size: int
    sample_relevant: int
    recall_target: float
    confidence: float
    k_hat: int
    p_value: float

    @property
    def screened(self) -> int:
        return self.screened_ranked + self.sample_size

    @property
    def relevant_found(self) -> int:
        return self.relevant_ranked + self.sample_relevant

    @property
    def can_stop(self) -> bool:
        return self.p_value < 1 - self.confidence

    def statement(self) -> str:
        target, conf = _percent(self.recall_target), _percent(self.confidence)
        if self.can_stop:
            return (
                f"Recall ≥ {target} with {conf} confidence "
                f"(hypergeometric test, p = {self.p_value:.4f}; {self.relevant_found} relevant "
                f"found in {self.screened} of {self.n_records} records screened, "
                f"{self.sample_relevant} of them in a random sample of {self.sample_size})."
            )
        return (
            f"Recall ≥ {target} cannot yet be claimed with {conf} confidence "
            f"(p = {self.p_value:.4f} ≥ {1 - self.confidence:.2f}); "
            "keep screening the random sample."
        )


def _percent(value: float) -> str:
    return f"{value * 100:.4g}%"


def hypergeometric_test(
    *,
    n_records: int,
    screened_ranked: int,
    relevant_ranked: int,
    sample_size: int,
    sample_relevant: int,
    recall_target: float = 0.95,
    confidence: float = 0.95,
) -> StoppingTest:
    """p-value for H0 "recall < recall_target" after a random sample of the unscreened records.

    `screened_ranked`/`relevant_ranked`: records screened (and relevant among them) before the
    random sample began, in whatever order; `sample_size`/`sample_relevant`: the random sample
    drawn from the records that were left then.
    """
    _check_counts(n_records, screened_ranked, relevant_ranked, sample_size, sample_relevant)
    if not 0 < confidence < 1:
        raise ValueError("The confidence must be in (0, 1).")
    found = relevant_ranked + sample_relevant
    k = k_hat(found, relevant_ranked, recall_target)
    urn = n_records - screened_ranked
    # when H0 needs more relevant records than were left it is impossible: p = 0
    p = 0.0 if k > urn else float(hypergeom.cdf(sample_relevant, urn, k, sample_size))
    return StoppingTest(
        n_records=n_records,
        screened_ranked=screened_ranked,
        relevant_ranked=relevant_ranked,
        sample_size=sample_size,
        sample_relevant=sample_relevant,
        recall_target=recall_target,
        confidence=confidence,
        k_hat=k,
        p_value=min(1.0, max(0.0, p)),
    )


def recall_bound(
    *,
    n_records: int,
    screened_ranked: int,
    relevant_ranked: int,
    sample_size: int,
    sample_relevant: int,
    confidence: float = 0.95,
) -> float:
    """The highest recall that can be claimed with `confidence` (0.0 when none can).

    The p-value falls as K grows, so the smallest K the test rejects, K_min, gives the bound:
    with that confidence at most K_min - 1 relevant records were left, and recall ≥ r / (r_AL +
    K_min - 1). For every target up to that bound `hypergeometric_test` rejects H0.
    """
    _check_counts(n_records, screened_ranked, relevant_ranked, sample_size, sample_relevant)
    found = relevant_ranked + sample_relevant
    if found == 0:
        return 0.0
    urn = n_records - screened_ranked
    alpha = 1 - confidence
    # hypergeom.cdf(k, urn, K, n) falls as K rises; find the smallest K in [k, urn] below alpha.
    lo, hi = sample_relevant, urn + 1  # hi = urn + 1 stands for "impossible", p = 0
    while lo < hi:
        mid = (lo + hi) // 2
        if hypergeom.cdf(sample_relevant, urn, mid, sample_size) < alpha:
            hi = mid
        else:
            lo = mid + 1
    k_min = lo
    if k_min <= sample_relevant:
        return 1.0
    return found / (relevant_ranked + k_min - 1)


@dataclass
class StoppingRule:
    """The procedure as a team runs it: rank, then sample at random and test after each record.

    Call `start_sampling()` when switching from ranked order to the random sample, then
    `record(relevant)` for every sampled record; `test()` gives the current result.
    """

    n_records: int
    recall_target: float = 0.95
    confidence: float = 0.95
    screened_ranked: int = 0
    relevant_ranked: int = 0
    sample_size: int = 0
    sample_relevant: int = 0
    sampling: bool = False

    def start_sampling(self) -> None:
        self.sampling = True

    def record(self, relevant: bool) -> StoppingTest | None:
        """Count one screened record; returns the test once sampling has begun."""
        if self.sampling:
            self.sample_size += 1
            self.sample_relevant += int(bool(relevant))
            return self.test()
        self.screened_ranked += 1
        self.relevant_ranked += int(bool(relevant))
        return None

    def test(self) -> StoppingTest:
        return hypergeometric_test(
            n_records=self.n_records,
            screened_ranked=self.screened_ranked,
            relevant_ranked=self.relevant_ranked,
            sample_size=self.sample_size,
            sample_relevant=self.sample_relevant,
            recall_target=self.recall_target,
            confidence=self.confidence,
        )
