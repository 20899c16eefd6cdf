"""Concurrent decisions on PostgreSQL (what teams run): nothing lost, nothing duplicated.

Threads each use their own database connection and start together at a barrier. SQLite's
in-memory test database cannot host concurrent connections, so this module runs where
DATABASE_URL points at PostgreSQL (CI runs the suite there too).
"""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from screening import services
from screening.models import ScreeningDecision, StageResult
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
    assert len(refused) == 1 and "Two reviewers have already screened" in str(refused[0])
    assert ScreeningDecision.objects.filter(record=record, superseded_at=None).count() == 2
