"""A bulk import refreshes PostgreSQL's planner statistics (a stale plan ran for minutes)."""

import pytest
from django.db import connection

from review import services
from tests import factories

pytestmark = pytest.mark.django_db


def _estimated_rows() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'review_record'")
        return cursor.fetchone()[0]


def test_a_bulk_import_refreshes_the_planner_statistics(review):
    source = factories.SourceFactory(review=review)
    entries = [{"title": f"Record {i}"} for i in range(services.ANALYZE_MIN_ROWS)]
    services.records_add(review=review, source=source, entries=entries, filename="big.ris")
    assert review.records.count() == services.ANALYZE_MIN_ROWS
    if connection.vendor == "postgresql":
        assert _estimated_rows() >= services.ANALYZE_MIN_ROWS
