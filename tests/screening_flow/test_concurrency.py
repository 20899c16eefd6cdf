"""Concurrent decisions on PostgreSQL (what teams run): nothing lost, nothing duplicated.

Threads each use their own database connection and start together at a barrier. SQLite's
in-memory test database cannot host concurrent connections, so this module runs where
DATABASE_URL points at PostgreSQL (CI runs the suite there too).
"""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count

from screening import services
from screening.models import ScreeningDecision, ScreeningLease, StageResult
from tests import factories

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent connections need PostgreSQL"
    ),
]


def run_together(*calls):
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(i, call):
        try:
            barrier.wait()
            outcomes[i] = call()
        except ValidationError as error:
            outcomes[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


def test_two_reviewers_and_a_double_click_at_the_same_moment():
    review = factories.ReviewFactory()
    a, b = (factories.MembershipFactory(review=review).user for _ in range(2))
    record = factories.RecordFactory(batch__source__review=review)

    def vote(user, verdict):
        return lambda: services.decision_record(
            review=review, record=record, reviewer=user, stage="title_abstract", verdict=verdict
        )

    outcomes = run_together(vote(a, "include"), vote(a, "include"), vote(b, "include"))
    assert not [
        o for o in outcomes if isinstance(o, Exception) and not isinstance(o, ValidationError)
    ]
    current = ScreeningDecision.objects.filter(record=record, superseded_at=None)
    assert sorted(current.values_list("reviewer_id", flat=True)) == sorted([a.pk, b.pk])
    results = StageResult.objects.filter(record=record, superseded_at=None)
    assert list(results.values_list("verdict", "method")) == [("include", "agreement")]


def test_a_third_reviewer_racing_two_others_is_refused():
    review = factories.ReviewFactory()
    users = [factories.MembershipFactory(review=review).user for _ in range(3)]
    record = factories.RecordFactory(batch__source__review=review)
    outcomes = run_together(
        *(
            (lambda u=u: services.decision_record(
                review=review, record=record, reviewer=u, stage="title_abstract", verdict="exclude"
            ))
            for u in users
        )
    )  # fmt: skip
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(refused) == 1 and "Two other reviewers screened" in str(refused[0])
    assert ScreeningDecision.objects.filter(record=record, superseded_at=None).count() == 2


# Leases: reviewers on the page at the same moment -------------------------------------------


def _team(mode, n_reviewers, n_records):
    review = factories.ReviewFactory(title_abstract_mode=mode)
    users = [factories.MembershipFactory(review=review).user for _ in range(n_reviewers)]
    batch = factories.ImportBatchFactory(source__review=review)
    records = [factories.RecordFactory(batch=batch) for _ in range(n_records)]
    return review, users, records


@pytest.mark.parametrize("mode, places", [("dual", 2), ("single", 1)])
def test_reviewers_asking_for_a_card_at_once_never_overfill_a_record(mode, places):
    review, users, _records = _team(mode, 10, 30)
    cards = run_together(
        *(
            (lambda u=u: services.next_card(review=review, reviewer=u, stage="title_abstract"))
            for u in users
        )
    )
    served = [card.record.pk for card in cards if card is not None]
    assert all(served.count(pk) <= places for pk in served)
    assert None not in cards  # nobody is turned away while records have room
    held = ScreeningLease.objects.filter(review=review).values_list("record", flat=True)
    assert sorted(held) == sorted(served)


def test_two_stale_cards_voting_at_once_in_single_mode_record_one_vote():
    review, users, records = _team("single", 2, 1)
    outcomes = run_together(
        *(
            (lambda u=u, v=v: services.decision_record(
                review=review, record=records[0], reviewer=u, stage="title_abstract", verdict=v
            ))
            for u, v in zip(users, ("include", "exclude"), strict=True)
        )
    )  # fmt: skip
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    recorded = [o for o in outcomes if isinstance(o, ScreeningDecision)]
    assert len(refused) == len(recorded) == 1
    assert "Another reviewer screened record" in str(refused[0])
    current = ScreeningDecision.objects.filter(record=records[0], superseded_at=None)
    assert list(current) == recorded
    result = StageResult.objects.get(record=records[0], superseded_at=None)
    assert result.verdict == recorded[0].verdict


def test_a_team_screening_at_once_loses_no_acknowledged_vote():
    """Eight reviewers screen a dual-mode review as fast as they can, each from their own
    card: every vote the service acknowledged is stored, and nothing else; no record has more
    than two current votes; the PRISMA arithmetic holds."""
    from screening.prisma import prisma_counts

    review, users, _records = _team("dual", 8, 60)  # 120 places for 96 votes
    acknowledged: list[tuple[int, int]] = []
    lock = threading.Lock()

    def screen(user):
        def run():
            for _ in range(12):
                card = services.next_card(review=review, reviewer=user, stage="title_abstract")
                if card is None:
                    return
                try:
                    services.decision_record(review=review, record=card.record, reviewer=user,
                                             stage="title_abstract", verdict="exclude")  # fmt: skip
                except ValidationError:
                    continue
                with lock:
                    acknowledged.append((user.pk, card.record.pk))

        return run

    outcomes = run_together(*(screen(u) for u in users))
    assert not [o for o in outcomes if isinstance(o, Exception)]
    stored = ScreeningDecision.objects.filter(review=review, superseded_at=None)
    assert sorted(stored.values_list("reviewer_id", "record_id")) == sorted(acknowledged)
    assert len(acknowledged) == 8 * 12  # a card always had room: nothing was refused
    per_record = stored.values("record").annotate(n=Count("pk"))
    assert max(row["n"] for row in per_record) <= 2
    assert prisma_counts(review).check() == []
