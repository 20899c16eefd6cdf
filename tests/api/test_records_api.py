"""The records list of the API: django-filter filters and cursor pagination."""

import pytest
from django.urls import reverse

from screening.models import Stage, StageResult
from tests import factories

pytestmark = pytest.mark.django_db
TA = Stage.TITLE_ABSTRACT


def listing(client, review, **params):
    response = client.get(reverse("api:record-list", args=[review.slug]), params)
    assert response.status_code == 200, response.content
    return response.json()


def ids(data):
    return [r["id"] for r in data["results"]]


@pytest.fixture
def records(review):
    batch = factories.ImportBatchFactory(source__review=review)
    other = factories.ImportBatchFactory(source__review=review, source__name="Embase")
    return {
        "memory": factories.RecordFactory(
            batch=batch, title="Working memory in adults", year=2001, authors=["Smith, J"]
        ),
        "sleep": factories.RecordFactory(
            batch=batch,
            title="Sleep",
            abstract="Effects on MEMORY consolidation",
            year=2010,
            authors=["Müller, K", "Smith, A"],
        ),
        "diet": factories.RecordFactory(batch=other, title="Diet", year=2020, authors=["Lee, B"]),
    }


def settle(record, verdict, stage=TA):
    StageResult.objects.create(
        review=record.review, record=record, stage=stage, verdict=verdict, method="single"
    )


def test_text_author_year_and_source_filters(client, review, lead, records):
    client.force_login(lead)
    memory, sleep, diet = records["memory"], records["sleep"], records["diet"]
    assert ids(listing(client, review, q="memory")) == [memory.pk, sleep.pk]
    assert ids(listing(client, review, author="smith")) == [memory.pk, sleep.pk]
    assert ids(listing(client, review, author="Müller")) == [sleep.pk]
    assert ids(listing(client, review, year_min=2005)) == [sleep.pk, diet.pk]
    assert ids(listing(client, review, year_min=2005, year_max=2015)) == [sleep.pk]
    assert ids(listing(client, review, source=diet.batch.source_id)) == [diet.pk]
    assert ids(listing(client, review, q="memory", year_max=2005)) == [memory.pk]


def test_stage_and_status_filter_settled_results(client, review, lead, records):
    settle(records["memory"], "include")
    settle(records["sleep"], "exclude")
    client.force_login(lead)
    assert ids(listing(client, review, stage=TA, status="included")) == [records["memory"].pk]
    assert ids(listing(client, review, stage=TA, status="excluded")) == [records["sleep"].pk]
    assert ids(listing(client, review, stage=TA, status="unsettled")) == [records["diet"].pk]


def test_bad_filters_are_400_naming_the_field(client, review, lead, records):
    client.force_login(lead)
    url = reverse("api:record-list", args=[review.slug])
    for params, field in (
        ({"year_min": "soon"}, "year_min"),
        ({"status": "included"}, "stage"),
        ({"stage": "nowhere", "status": "included"}, "stage"),
        ({"stage": TA, "status": "maybe"}, "status"),
        ({"source": "x"}, "source"),
        ({"source": "-1.7993288600463845e+155"}, "source"),
        ({"source": str(2**70)}, "source"),
        ({"year_max": "1e9"}, "year_max"),
        ({"page": "2"}, "page"),
    ):
        response = client.get(url, params)
        assert response.status_code == 400, params
        assert field in response.json(), (params, response.json())


def test_a_blind_stage_cannot_be_filtered_by_a_reviewer(client, review, reviewer, records):
    """At a blind stage the status filter would reveal results: refused whatever the votes."""
    settle(records["memory"], "include")
    client.force_login(reviewer)
    response = client.get(
        reverse("api:record-list", args=[review.slug]), {"stage": TA, "status": "included"}
    )
    assert response.status_code == 400
    assert "blind" in response.json()["status"][0]


def test_cursor_pages_walk_every_record_once_in_id_order(client, review, lead):
    batch = factories.ImportBatchFactory(source__review=review)
    made = [factories.RecordFactory(batch=batch).pk for _ in range(7)]
    client.force_login(lead)
    data = listing(client, review, page_size=3)
    assert "count" not in data and data["previous"] is None
    seen = ids(data)
    while data["next"]:
        data = client.get(data["next"]).json()
        seen += ids(data)
    assert seen == sorted(made)


def test_a_page_is_a_fixed_number_of_queries(client, review, lead, django_assert_max_num_queries):
    batch = factories.ImportBatchFactory(source__review=review)
    for _ in range(30):
        factories.RecordFactory(batch=batch)
    client.force_login(lead)
    with django_assert_max_num_queries(6):
        data = listing(client, review, page_size=10, q="trial", author="")
    assert data["next"]
