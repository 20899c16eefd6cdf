import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def test_the_api_needs_a_login(client, review):
    for url in (
        reverse("api:review-list"),
        reverse("api:review-detail", args=[review.slug]),
        reverse("api:record-list", args=[review.slug]),
    ):
        response = client.get(url)
        # 401 with the scheme to use (tokens), as DRF answers when a credential is missing.
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == 'Bearer realm="api"', url


def test_review_list_is_scoped_to_my_memberships(client, review, viewer, outsider):
    client.force_login(viewer)
    data = client.get(reverse("api:review-list")).json()
    assert [r["slug"] for r in data["results"]] == [review.slug]
    assert data["results"][0]["role"] == "viewer"


def test_a_non_member_gets_404_from_every_endpoint(client, review, outsider):
    record = factories.RecordFactory(batch__source__review=review)
    client.force_login(outsider)
    for url in (
        reverse("api:review-detail", args=[review.slug]),
        reverse("api:source-list", args=[review.slug]),
        reverse("api:import-list", args=[review.slug]),
        reverse("api:record-list", args=[review.slug]),
        reverse("api:record-detail", args=[review.slug, record.pk]),
    ):
        assert client.get(url).status_code == 404, url


def test_a_record_of_another_review_is_not_found_through_mine(client, review, viewer):
    foreign = factories.RecordFactory()
    client.force_login(viewer)
    assert (
        client.get(reverse("api:record-detail", args=[review.slug, foreign.pk])).status_code == 404
    )


def test_records_are_paged_by_cursor_with_their_source(
    client, review, viewer, django_assert_max_num_queries
):
    first = factories.RecordFactory(batch__source__review=review, doi="10.1000/x")
    for _ in range(3):
        factories.RecordFactory(batch=first.batch)
    client.force_login(viewer)
    with django_assert_max_num_queries(6):
        data = client.get(reverse("api:record-list", args=[review.slug])).json()
    assert len(data["results"]) == 4 and data["next"] is None  # a cursor page has no count
    assert data["results"][0]["source"] == first.batch.source_id
    assert data["results"][0]["doi"] == "10.1000/x"


def test_the_api_is_read_only(client, review, lead):
    client.force_login(lead)
    response = client.post(reverse("api:record-list", args=[review.slug]), {"title": "x"})
    assert response.status_code == 405
