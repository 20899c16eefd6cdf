"""People's de-duplication decisions: confirm, reject, undo, change the primary; all logged."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from review import dedup_service
from review.models import DedupEvent, DuplicatePair
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(review):
    batch = factories.ImportBatchFactory(source__review=review)
    a = factories.RecordFactory(batch=batch, title="Exercise for depression", abstract="Long.")
    b = factories.RecordFactory(batch=batch, title="Exercise for depression.")
    return DuplicatePair.objects.create(
        review=review, record_a=a, record_b=b, score=0.9, reason="title 0.99", status="possible"
    )


def test_confirm_merges_under_the_more_complete_record_and_logs_who(pair, lead):
    primary = dedup_service.duplicate_pair_confirm(pair=pair, user=lead)
    pair.refresh_from_db()
    pair.record_b.refresh_from_db()
    assert primary == pair.record_a  # it has the abstract
    assert pair.record_b.duplicate_of == pair.record_a
    assert (pair.status, pair.decided_by) == ("confirmed", lead)
    event = DedupEvent.objects.get(action="confirm")
    assert (event.user, event.pair) == (lead, pair)


def test_confirm_merges_whole_groups(review, pair, lead):
    other = factories.RecordFactory(batch=pair.record_b.batch, duplicate_of=pair.record_b)
    dedup_service.duplicate_pair_confirm(pair=pair, user=lead)
    other.refresh_from_db()
    assert other.duplicate_of == pair.record_a  # the star is flat: every member → the primary


def test_reject_keeps_them_apart_and_undo_requeues(pair, lead):
    dedup_service.duplicate_pair_reject(pair=pair, user=lead)
    pair.refresh_from_db()
    assert pair.status == "rejected" and pair.record_b.duplicate_of is None
    with pytest.raises(ValidationError, match="Only a possible duplicate can be rejected"):
        dedup_service.duplicate_pair_reject(pair=pair, user=lead)
    dedup_service.duplicate_pair_undo(pair=pair, user=lead)
    pair.refresh_from_db()
    assert pair.status == "possible"


def test_undo_of_a_merge_detaches_the_non_primary_record(pair, lead):
    dedup_service.duplicate_pair_confirm(pair=pair, user=lead)
    dedup_service.duplicate_pair_undo(pair=pair, user=lead)
    pair.record_b.refresh_from_db()
    pair.refresh_from_db()
    assert pair.record_b.duplicate_of is None and pair.status == "possible"
    undo = DedupEvent.objects.get(action="undo")
    assert undo.detail == {"previous_status": "confirmed", "detached": pair.record_b_id}


def test_changing_the_primary_repoints_the_group(pair, lead):
    third = factories.RecordFactory(batch=pair.record_a.batch, duplicate_of=pair.record_a)
    pair.record_b.duplicate_of = pair.record_a
    pair.record_b.save()
    dedup_service.record_set_primary(record=pair.record_b, user=lead)
    for record in (pair.record_a, pair.record_b, third):
        record.refresh_from_db()
    assert pair.record_b.duplicate_of is None
    assert pair.record_a.duplicate_of == third.duplicate_of == pair.record_b
    assert DedupEvent.objects.get(action="set_primary").detail == {
        "previous_primary": pair.record_a_id
    }


def test_the_page_lists_possible_pairs_with_differences(client, review, pair, viewer):
    client.force_login(viewer)
    html = client.get(reverse("review:duplicates", args=[review.slug])).content.decode()
    assert f'id="pair-{pair.pk}"' in html and 'class="differs"' in html
    assert "Duplicates: merge" not in html  # viewers cannot decide


def test_a_lead_decides_with_htmx(client, review, pair, lead):
    client.force_login(lead)
    url = reverse("review:duplicate-decide", args=[review.slug, pair.pk, "confirm"])
    html = client.post(url, headers={"HX-Request": "true"}).content.decode()
    assert 'data-status="confirmed"' in html and "Undo" in html
    url = reverse("review:duplicate-decide", args=[review.slug, pair.pk, "primary"])
    client.post(url, {"record": pair.record_b_id}, headers={"HX-Request": "true"})
    pair.record_a.refresh_from_db()
    assert pair.record_a.duplicate_of_id == pair.record_b_id


def test_reviewers_cannot_decide_and_outsiders_see_nothing(
    client, review, pair, reviewer, outsider
):
    url = reverse("review:duplicate-decide", args=[review.slug, pair.pk, "confirm"])
    client.force_login(reviewer)
    assert client.post(url).status_code == 403
    client.force_login(outsider)
    assert client.post(url).status_code == 404
    assert client.get(reverse("review:duplicates", args=[review.slug])).status_code == 404
    pair.refresh_from_db()
    assert pair.status == "possible"


@pytest.fixture
def triangle(review):
    """Three records of one study and the three possible pairs between them."""
    batch = factories.ImportBatchFactory(source__review=review)
    a, b, c = (
        factories.RecordFactory(batch=batch, title=f"Exercise for depression{end}")
        for end in ("", ".", " (trial)")
    )
    pairs = [
        DuplicatePair.objects.create(
            review=review, record_a=x, record_b=y, score=0.8, reason="title 0.95", status="possible"
        )
        for x, y in ((a, b), (a, c), (b, c))
    ]
    return pairs


def possible_pairs_shown(client, review):
    response = client.get(reverse("review:duplicates", args=[review.slug]))
    return response, [p.pair.pk for p in response.context["page"]]


def test_a_pair_already_merged_through_other_pairs_is_not_asked_again(
    client, review, lead, triangle
):
    ab, ac, bc = triangle
    client.force_login(lead)
    dedup_service.duplicate_pair_confirm(pair=ab, user=lead)
    dedup_service.duplicate_pair_confirm(pair=ac, user=lead)
    response, shown = possible_pairs_shown(client, review)
    assert shown == []  # b and c are already one record's duplicates
    assert response.context["tallies"]["possible"] == 0
    assert b"already merged through other pairs" in response.content
    # Undo the merge that joined c: the question about b and c is open again.
    dedup_service.duplicate_pair_undo(pair=ac, user=lead)
    _, shown = possible_pairs_shown(client, review)
    assert sorted(shown) == sorted([ac.pk, bc.pk])


def test_the_counters_are_updated_with_the_card_after_an_undo(client, review, lead, pair):
    dedup_service.duplicate_pair_confirm(pair=pair, user=lead)
    client.force_login(lead)
    url = reverse("review:duplicate-decide", args=[review.slug, pair.pk, "undo"])
    response = client.post(url, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert f'id="pair-{pair.pk}"' in html  # the card itself
    # and, swapped out of band, the counters: the pair is possible again, no longer confirmed
    assert '<span class="count" id="tally-possible" hx-swap-oob="true">1</span>' in html
    assert '<span class="count" id="tally-confirmed" hx-swap-oob="true">0</span>' in html


def test_the_page_says_how_the_records_matched_in_plain_words(client, review, lead, pair):
    pair.reason = "rule: same identifier and similar title | agree: same DOI 10.1/x; title 0.97"
    pair.save()
    client.force_login(lead)
    html = client.get(reverse("review:duplicates", args=[review.slug])).content.decode()
    assert ">Same DOI · Titles 97% alike</span>" in html
