"""Inter-rater agreement of a review's screeners, read from their current votes.

In dual screening two reviewers vote on the same record independently. These reads pair the
current votes (`ScreeningDecision.superseded_at IS NULL`) of every two reviewers who voted on
the same record at a stage and hand them to the pure `screening.agreement` module. A record
three reviewers voted on contributes to each of the three pairs. Every current vote counts,
whatever later happened to the record (a conflict resolved, a record marked duplicate): the
statistics describe the reviewers' independent judgements. `docs/agreement.md` has the formulas.

`binary=True` (the default, as in Covidence) counts "maybe" as "include" with categories
(include, exclude); `binary=False` keeps the three verdicts (include, exclude, maybe). The
categories are always passed explicitly, so an unused verdict still counts in PABAK's and
AC1's k.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

from review.cells import safe_cell
from review.models import Review
from screening.agreement import (
    BINARY_CATEGORIES,
    SCREENING_CATEGORIES,
    AgreementStats,
    agreement,
    to_binary,
)
from screening.models import ScreeningDecision, Stage

Pair = tuple[int, int]
VotePair = tuple[str, str]

CSV_HEADER = (
    "stage",
    "reviewer_a",
    "reviewer_b",
    "n",
    "percent_agreement",
    "kappa",
    "kappa_ci_lb",
    "kappa_ci_ub",
    "pabak",
    "ac1",
)


@dataclass(frozen=True)
class PairAgreement:
    """Agreement of two reviewers (a has the lower user id) over the `n` records both voted on."""

    reviewer_a_id: int
    reviewer_a: str  # username
    reviewer_b_id: int
    reviewer_b: str
    n: int
    stats: AgreementStats


def _check_stage(stage: str) -> None:
    if stage not in Stage.values:
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(Stage.values)}")


def _paired_votes_and_names(
    review: Review, stage: str
) -> tuple[dict[Pair, list[VotePair]], dict[int, str]]:
    """`paired_votes` plus the reviewers' usernames, from one query."""
    _check_stage(stage)
    rows = (
        ScreeningDecision.objects.filter(review=review, stage=stage, superseded_at__isnull=True)
        .order_by("record_id", "reviewer_id")
        .values_list("record_id", "reviewer_id", "reviewer__username", "verdict")
    )
    names: dict[int, str] = {}
    by_record: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for record_id, reviewer_id, username, verdict in rows:
        names[reviewer_id] = username
        by_record[record_id].append((reviewer_id, verdict))
    pairs: dict[Pair, list[VotePair]] = defaultdict(list)
    for record_id in sorted(by_record):
        # At most one current vote per reviewer (a unique constraint), sorted by reviewer id.
        for (id_a, verdict_a), (id_b, verdict_b) in combinations(by_record[record_id], 2):
            pairs[(id_a, id_b)].append((verdict_a, verdict_b))
    return {pair: pairs[pair] for pair in sorted(pairs)}, names


def paired_votes(review: Review, stage: str) -> dict[Pair, list[VotePair]]:
    """Each pair of reviewers (a_id < b_id) → their (verdict_a, verdict_b) per shared record.

    Only current votes count, and only records both reviewers of the pair voted on; the lists
    are in record-id order and the pairs in id order. One query.
    """
    return _paired_votes_and_names(review, stage)[0]


def _stats(votes: list[VotePair], binary: bool) -> AgreementStats:
    if binary:
        a = [to_binary(va) for va, _ in votes]
        b = [to_binary(vb) for _, vb in votes]
        return agreement(a, b, categories=BINARY_CATEGORIES)
    return agreement([va for va, _ in votes], [vb for _, vb in votes], SCREENING_CATEGORIES)


def agreement_by_pair(review: Review, stage: str, binary: bool = True) -> list[PairAgreement]:
    """Agreement of every pair of reviewers who voted on at least one same record, in id order."""
    pairs, names = _paired_votes_and_names(review, stage)
    return [
        PairAgreement(
            reviewer_a_id=id_a,
            reviewer_a=names[id_a],
            reviewer_b_id=id_b,
            reviewer_b=names[id_b],
            n=len(votes),
            stats=_stats(votes, binary),
        )
        for (id_a, id_b), votes in pairs.items()
    ]


def agreement_overall(review: Review, stage: str, binary: bool = True) -> AgreementStats | None:
    """Agreement pooled over every pair: each paired record's two votes (lower id as rater A).

    `None` when no record has two current votes at this stage.
    """
    pooled = [vote for votes in paired_votes(review, stage).values() for vote in votes]
    return _stats(pooled, binary) if pooled else None


def _number_cell(value: float | None) -> str:
    """A number rounded to 4 decimals ("0.9000"); empty when undefined. Never "-0.0000"."""
    if value is None:
        return ""
    text = f"{value:.4f}"
    return "0.0000" if text == "-0.0000" else text


def agreement_csv(review: Review, binary: bool = True, stages=None) -> str:
    """One CSV row per stage and pair of reviewers, with a header row (`CSV_HEADER`).

    `percent_agreement` is a proportion (0.9000 = 90%); numbers have 4 decimals; an undefined
    kappa leaves kappa and its interval empty. `stages` limits the rows to those stages (a
    reviewer gets none of a stage that is blind for them). Text cells (stage, usernames) that
    start with = + - @ or a tab/CR get a leading apostrophe (review.cells.safe_cell); the
    numbers written here are plain decimals (a negative kappa stays a number). Lines end with
    CRLF (RFC 4180).
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for stage in Stage.values if stages is None else stages:
        for pair in agreement_by_pair(review, stage, binary=binary):
            s = pair.stats
            writer.writerow(
                [
                    safe_cell(stage),
                    safe_cell(pair.reviewer_a),
                    safe_cell(pair.reviewer_b),
                    str(pair.n),
                    _number_cell(s.observed),
                    _number_cell(s.kappa),
                    _number_cell(s.kappa_ci_lb),
                    _number_cell(s.kappa_ci_ub),
                    _number_cell(s.pabak),
                    _number_cell(s.ac1),
                ]
            )
    return out.getvalue()
