"""The records pages: every dashboard count links to exactly the records behind it; a record's
page shows its stages and audit trail without breaking blind screening."""

import re

import pytest
from django.urls import reverse

from screening import services
from screening.prisma import prisma_counts
from screening.record_selectors import prisma_boxes, record_list
from tests import factories
from tests.screening.conftest import FT, TA, add_result

pytestmark = pytest.mark.django_db


def _lines(review):
    return [line for _band, boxes in prisma_boxes(prisma_counts(review)) for box in boxes
            for line in box.lines]  # fmt: skip


def test_every_count_on_the_dashboard_is_the_size_of_its_records_list(prisma_review):
    review = prisma_review.review
    lines = _lines(review)
    assert len(lines) >= 20
    for line in lines:
        params = dict(re.findall(r"(\w+)=([^&]*)", line.query))
        from urllib.parse import unquote_plus

        count, key = params["count"], unquote_plus(params["key"]) if "key" in params else None
        if count == "new_studies":
            continue  # one record per study: checked below
        assert record_list(review, count=count, key=key).count() == line.n, line


def test_the_dashboard_links_each_count_to_its_records(client, prisma_review, lead):
    review = prisma_review.review
    client.force_login(lead)
    html = client.get(reverse("review:dashboard", args=[review.slug])).content.decode()
    url = reverse("screening:records", args=[review.slug])
    assert f'<a href="{url}?count=dbr_excluded&amp;key=Wrong+population">2</a>' in html
    assert f'<a href="{url}?count=database_specific_results&amp;key=PubMed">6</a>' in html
    assert f'<a href="{url}?count=new_studies">2</a>' in html
    assert "PRISMA arithmetic: " in html and "consistent" in html

    page = client.get(url, {"count": "dbr_excluded", "key": "Wrong population"})
    titles = {r.title for r in page.context["page"]}
    assert titles == {"P3", "R2"}
    assert "Reports excluded: Wrong population" in page.content.decode()
    page = client.get(url, {"count": "new_studies"})
    assert page.context["page"].paginator.count == 2


def test_the_dashboard_names_the_rule_that_fails(client, prisma_review, lead):
    review, r = prisma_review.review, prisma_review.records
    add_result(r["E4"], FT, "include")  # assessed at full text though excluded at title/abstract
    client.force_login(lead)
    html = client.get(reverse("review:dashboard", args=[review.slug])).content.decode()
    assert "H4 fails: reports assessed (6) should be" in html
    assert "on records not sought for retrieval" in html


def test_records_list_searches_and_rejects_unknown_counts(client, prisma_review, viewer, outsider):
    review = prisma_review.review
    url = reverse("screening:records", args=[review.slug])
    client.force_login(viewer)
    page = client.get(url, {"q": "E4"})
    assert [r.title for r in page.context["page"]] == ["E4"]
    assert client.get(url, {"count": "nonsense"}).status_code == 404
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    record = prisma_review.records["P1"]
    assert client.get(reverse("screening:record", args=[review.slug, record.pk])).status_code == 404


@pytest.fixture
def blind(review):
    review.title_abstract_mode, review.title_abstract_blind = "dual", True
    review.save()
    a = factories.MembershipFactory(review=review, role="reviewer").user
    b = factories.MembershipFactory(review=review, role="reviewer").user
    record = factories.RecordFactory(batch__source__review=review, title="Blind record")
    return review, record, a, b


def _record_page(client, user, review, record):
    client.force_login(user)
    return client.get(reverse("screening:record", args=[review.slug, record.pk]))


def test_a_record_page_hides_the_other_reviewers_vote_until_blinding_is_lifted(
    client, blind, lead
):
    review, record, a, b = blind
    services.decision_record(review=review, record=record, reviewer=a, stage=TA,
                             verdict="exclude", note="not an RCT")  # fmt: skip
    page = _record_page(client, b, review, record)
    html = page.content.decode()
    assert page.status_code == 200
    assert "not an RCT" not in html and "exclude" not in html.lower().split("history")[1]
    assert "1 other vote hidden (blind screening) until a lead lifts the blinding" in html
    assert "waiting for a second reviewer" in html
    assert a.username not in html

    html = _record_page(client, a, review, record).content.decode()
    assert "not an RCT" in html and "other vote hidden" not in html
    assert "waiting for the other reviewer" in html

    # b disagrees: a conflict. The lead (who resolves) sees both votes; b sees only theirs, and
    # that the record is done, never that it is a conflict.
    services.decision_record(review=review, record=record, reviewer=b, stage=TA, verdict="include")
    html = _record_page(client, b, review, record).content.decode()
    assert "not an RCT" not in html and "conflict" not in html.lower()
    assert 'data-testid="blind-status">done<' in html
    html = _record_page(client, lead, review, record).content.decode()
    assert "not an RCT" in html and a.username in html and b.username in html
    assert "conflict" in html

    services.conflict_resolve(review=review, record=record, stage=TA, resolver=lead,
                              verdict="include")  # fmt: skip
    html = _record_page(client, b, review, record).content.decode()
    assert "not an RCT" not in html and "Conflict resolved" not in html  # still blind
    assert 'data-testid="blind-status">done<' in html
    services.stage_blinding_set(review=review, stage=TA, blind=False, user=lead)
    html = _record_page(client, b, review, record).content.decode()
    assert "not an RCT" in html and "Conflict resolved by " + lead.username in html


def test_the_history_keeps_every_decision_change_and_undo(client, review, reviewer):
    review.title_abstract_mode = "single"
    review.save()
    record = factories.RecordFactory(batch__source__review=review)
    for verdict in ("include", "exclude"):
        services.decision_record(review=review, record=record, reviewer=reviewer, stage=TA,
                                 verdict=verdict)  # fmt: skip
    services.decision_undo(review=review, record=record, reviewer=reviewer, stage=TA)
    html = _record_page(client, reviewer, review, record).content.decode()
    history = html.split('data-testid="audit"')[1]
    actions = re.findall(
        r"· (Decided|Changed a decision|Undid a decision|Settled by the reviewers)", history
    )
    assert actions == [
        "Decided",
        "Settled by the reviewers",
        "Changed a decision",
        "Settled by the reviewers",
        "Undid a decision",
    ]
    assert "not settled" in html  # the undo left the record open


def test_a_chosen_resolver_who_voted_still_sees_only_their_own_vote(client, blind):
    review, record, a, b = blind
    membership = review.memberships.get(user=b)
    membership.can_resolve = True
    membership.save()
    services.decision_record(review=review, record=record, reviewer=a, stage=TA,
                             verdict="exclude", note="not an RCT")  # fmt: skip
    services.decision_record(review=review, record=record, reviewer=b, stage=TA, verdict="include")
    html = _record_page(client, b, review, record).content.decode()
    assert "not an RCT" not in html and "1 other vote hidden" in html

    third = factories.MembershipFactory(review=review, role="reviewer", can_resolve=True).user
    html = _record_page(client, third, review, record).content.decode()
    assert "not an RCT" in html  # a resolver who did not vote sees both, as on the conflicts page
