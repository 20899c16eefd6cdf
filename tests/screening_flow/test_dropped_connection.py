"""A vote saved just before the database connection drops is reported as saved, never as a 500.

The vote's own transaction has committed; what fails is loading the next card. The view opens a
new connection and tries once more; if the database is still unreachable it says the vote was
saved and asks for a reload. Anything else that meets an unreachable database answers 503 with a
page that says what may not have been saved (config.middleware.DatabaseUnavailableMiddleware).
"""

import psycopg
import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from screening import services, views
from screening.models import ScreeningDecision
from tests import factories

TA = "title_abstract"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def records(review):
    batch = factories.ImportBatchFactory(source__review=review)
    return [factories.RecordFactory(batch=batch, title=f"A trial {i}") for i in range(3)]


def decide(client, review, record, headers=HTMX):
    url = reverse("screening:decide", args=[review.slug, TA])
    return client.post(url, {"record": record.pk, "verdict": "include"}, headers=headers)


@pytest.mark.django_db
def test_the_next_card_is_loaded_again_on_a_new_connection(
    client, review, records, reviewer, monkeypatch
):
    real, calls = views._card_context, []

    def drops_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "_card_context", drops_once)
    client.force_login(reviewer)
    response = decide(client, review, records[0])
    assert response.status_code == 200 and len(calls) == 2
    assert f'data-record="{records[1].pk}"' in response.content.decode()
    assert response["X-Screening-Outcome"] == "recorded"
    assert ScreeningDecision.objects.get().record == records[0]


@pytest.mark.django_db
def test_a_database_still_down_after_the_vote_says_the_vote_was_saved(
    client, review, records, reviewer, monkeypatch
):
    def down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(views, "_card_context", down)
    client.force_login(reviewer)
    response = decide(client, review, records[0])
    html = response.content.decode()
    assert response.status_code == 200, html
    assert response["X-Screening-Outcome"] == "recorded"
    assert f"Your vote on record {records[0].number} was saved" in html
    assert 'id="screen-card"' in html and "Reload" in html
    assert ScreeningDecision.objects.get().record == records[0]


@pytest.mark.django_db
def test_a_vote_the_database_never_took_answers_503_and_says_so(
    client, review, records, reviewer, monkeypatch
):
    def down(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "decision_record", down)
    client.force_login(reviewer)
    for headers in (HTMX, {}):
        response = decide(client, review, records[0], headers=headers)
        html = response.content.decode()
        assert response.status_code == 503, html
        assert "may not have been saved" in html and response["Retry-After"]
    assert not ScreeningDecision.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent connections need PostgreSQL"
)
def test_a_connection_terminated_after_the_vote_on_postgresql(client, monkeypatch):
    """The real fault: PostgreSQL ends the web worker's session right after the vote commits."""
    review = factories.ReviewFactory()
    reviewer = factories.MembershipFactory(review=review).user
    batch = factories.ImportBatchFactory(source__review=review)
    records = [factories.RecordFactory(batch=batch) for _ in range(2)]
    real = services.decision_record
    settings = connection.settings_dict

    def vote_then_drop(**kwargs):
        result = real(**kwargs)
        pid = connection.connection.info.backend_pid
        dsn = dict(host=settings["HOST"], port=settings["PORT"] or 5432,
                   user=settings["USER"], dbname=settings["NAME"])  # fmt: skip
        with psycopg.connect(**dsn, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
        return result

    monkeypatch.setattr(services, "decision_record", vote_then_drop)
    client.force_login(reviewer)
    response = decide(client, review, records[0])
    assert response.status_code == 200
    assert f'data-record="{records[1].pk}"' in response.content.decode()
    assert ScreeningDecision.objects.get().record_id == records[0].pk
