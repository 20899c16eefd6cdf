"""Schemathesis against the schema, in process (WSGI, no network): for every operation, a bounded
number of generated requests as the lead of a small review, half of them into that review. No
answer may be a server error or differ from what the schema promises (status code, content type,
body). Runs on SQLite, and on PostgreSQL when DATABASE_URL points there."""

from contextlib import contextmanager

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import ApiToken
from screening.models import StageResult
from tests import factories
from tests.screening_flow.helpers import vote

pytestmark = pytest.mark.django_db
EXAMPLES = 40  # per operation
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@contextmanager
def sharing_the_test_transaction():
    """Requests to the WSGI app share the test's transaction, as Django's test client does: the
    request signals would otherwise close the connection that holds it (on PostgreSQL). The
    test client connects them again after each of its requests, so this comes after those."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def small_review(review, lead, reviewer):
    batch = factories.ImportBatchFactory(source__review=review)
    records = [
        factories.RecordFactory(batch=batch, year=2000 + i, authors=["Smith, J"], abstract="x")
        for i in range(3)
    ]
    vote(review, records[0], lead, "include")
    vote(review, records[0], reviewer, "include")
    StageResult.objects.filter(record=records[1]).delete()
    return records


def test_every_operation_answers_as_the_schema_says(client, settings, review, lead, small_review):
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    client.force_login(lead)
    # a personal token in a fixed header (else schemathesis generates one from the bearer scheme)
    _, secret = ApiToken.issue(user=lead, name="schemathesis", scope="read")
    auth = {"Authorization": f"Bearer {secret}"}
    raw = client.get("/api/schema/?format=json").json()
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = get_wsgi_application()
    mine = {"review_slug": review.slug}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8, [op.label for op in operations]
    statuses = []
    for operation in operations:
        strategies = [
            operation.as_strategy(headers=auth),
            operation.as_strategy(headers=auth, path_parameters=mine),
        ]
        if "{id}" in operation.path:
            record = {**mine, "id": small_review[0].pk}
            strategies.append(operation.as_strategy(headers=auth, path_parameters=record))
        # the first page (a random page number or cursor is mostly a 404), other filters generated
        names = {p["name"] for p in raw["paths"][operation.path]["get"].get("parameters", [])}
        first = {"page": 1} if "page" in names else {"cursor": ""} if "cursor" in names else {}
        if first:
            path = mine if "{review_slug}" in operation.path else {}
            strategies += [
                operation.as_strategy(headers=auth, path_parameters=path, query=first)
            ] * 2

        @examples(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies))
        def check(case):
            response = case.call_and_validate(checks=CHECKS)
            statuses.append(response.status_code)

        with sharing_the_test_transaction():
            check()
    # the requests reached the review's data, not only its 404s and 400s
    assert statuses.count(200) >= len(operations) * 4, statuses
