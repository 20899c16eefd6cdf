"""People's de-duplication decisions: confirm, reject, undo, change the primary; all logged."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from review import dedup_service
from review.models import DedupEvent, DuplicatePair, Record
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
    return response, [p.pair.pk for group in response.context["page"] for p in group.pairs]


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
    why = "titles differ only in punctuation; abstract on one record only"
    assert f'<span class="why" data-testid="why">{why}</span>' in html
    assert "0.97" not in html and "agree:" not in html  # no engine notation


def group_url(review, action):
    return reverse("review:duplicate-group-decide", args=[review.slug, action])


def test_a_cluster_of_three_records_is_one_question(client, review, lead, triangle):
    client.force_login(lead)
    response = client.get(reverse("review:duplicates", args=[review.slug]))
    [group] = response.context["page"]
    assert len(group.records) == 3 and len(group.pairs) == 3
    html = response.content.decode()
    assert html.count('class="card pair group"') == 1
    assert "3 records, possibly one study" in html
    assert "Duplicates: merge all 3" in html


def test_separate_pairs_are_separate_questions(client, review, lead, triangle, pair):
    client.force_login(lead)
    response = client.get(reverse("review:duplicates", args=[review.slug]))
    assert sorted(len(g.records) for g in response.context["page"]) == [2, 3]


def test_each_pair_of_a_group_is_explained_from_the_records(client, review, lead):
    batch = factories.ImportBatchFactory(source__review=review)
    common = dict(batch=batch, doi="10.1016/j.x.2015.03.012", year=2015, journal="Diabetes")
    a = factories.RecordFactory(title="Exercise for depression: a trial", pages="32", **common)
    b = factories.RecordFactory(title="Exercise for depression - a trial.", pages="S112", **common)
    DuplicatePair.objects.create(
        review=review, record_a=a, record_b=b, score=0.8, status="possible",
        reason="rule: identifier shared but a field conflicts | conflicts: first pages 32 / s112",
    )  # fmt: skip
    client.force_login(lead)
    html = client.get(reverse("review:duplicates", args=[review.slug])).content.decode()
    assert (
        "same DOI; titles differ only in punctuation; same year; same journal; pages 32 vs S112"
        in html
    )


def test_a_lead_merges_a_whole_group_in_one_step(client, review, lead, triangle):
    client.force_login(lead)
    ids = [p.pk for p in triangle]
    response = client.post(
        group_url(review, "confirm"), {"pair": ids, "shown": ids}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    records = {p.record_a for p in triangle} | {p.record_b for p in triangle}
    primaries = {
        r.duplicate_of_id or r.pk for r in Record.objects.filter(pk__in=[r.pk for r in records])
    }
    assert len(primaries) == 1
    assert set(DuplicatePair.objects.values_list("status", flat=True)) == {"confirmed"}
    assert DedupEvent.objects.filter(action="confirm", user=lead).count() == 3
    assert '<span class="count" id="tally-possible" hx-swap-oob="true">0</span>' in html
    assert "Merged: one study" in html


def test_a_lead_keeps_a_whole_group_apart(client, review, lead, triangle):
    client.force_login(lead)
    ids = [p.pk for p in triangle]
    client.post(group_url(review, "reject"), {"pair": ids, "shown": ids})
    assert set(DuplicatePair.objects.values_list("status", flat=True)) == {"rejected"}
    assert Record.objects.filter(review=review, duplicate_of__isnull=False).count() == 0


def test_one_pair_of_a_group_is_decided_alone(client, review, lead, triangle):
    ab, ac, _ = triangle
    client.force_login(lead)
    ids = [p.pk for p in triangle]
    response = client.post(
        group_url(review, "confirm"),
        {"pair": [ab.pk], "shown": ids},
        headers={"HX-Request": "true"},
    )
    ab.refresh_from_db()
    ac.refresh_from_db()
    assert (ab.status, ac.status) == ("confirmed", "possible")
    html = response.content.decode()
    assert (
        'class="card pair group"' in html and "Duplicates: merge all 3" in html
    )  # c is still asked


def test_group_decisions_keep_the_permission_checks(client, review, triangle, reviewer, outsider):
    ids = [p.pk for p in triangle]
    client.force_login(reviewer)
    assert client.post(group_url(review, "confirm"), {"pair": ids, "shown": ids}).status_code == 403
    client.force_login(outsider)
    assert client.post(group_url(review, "confirm"), {"pair": ids, "shown": ids}).status_code == 404
    assert set(DuplicatePair.objects.values_list("status", flat=True)) == {"possible"}


def test_pairs_of_another_review_cannot_be_decided(client, review, lead, triangle):
    other = factories.ReviewFactory()
    batch = factories.ImportBatchFactory(source__review=other)
    x, y = factories.RecordFactory(batch=batch), factories.RecordFactory(batch=batch)
    foreign = DuplicatePair.objects.create(
        review=other, record_a=x, record_b=y, score=0.8, reason="", status="possible"
    )
    client.force_login(lead)
    ids = [foreign.pk]
    assert client.post(group_url(review, "confirm"), {"pair": ids, "shown": ids}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "possible"
