"""The conflicts page shows what a resolver needs to decide: the record (title, authors, year,
journal, abstract, a link to its page) beside both votes, in a fixed number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import factories
from tests.screening_flow.helpers import TA, vote

pytestmark = pytest.mark.django_db


def conflict(review, team, n):
    batch = factories.ImportBatchFactory(source__review=review)
    reason = review.exclusion_reasons.get_or_create(label="Wrong study design")[0]
    records = []
    for i in range(n):
        record = factories.RecordFactory(
            batch=batch,
            title=f"Exercise for depression {i}",
            authors=["Smith, Jane", "Okafor, Chidi"],
            year=2019,
            journal="Journal of Affective Disorders",
            abstract=f"Background: exercise {i} & mood. Methods: randomised <trial>.",
        )
        vote(review, record, team["alice"], "include")
        vote(review, record, team["bob"], "exclude", reason=reason, note="Wrong population")
        records.append(record)
    return records


def page(client, review, user):
    client.force_login(user)
    return client.get(reverse("screening:conflicts", args=[review.slug, TA]))


def test_each_conflict_shows_the_record_and_both_votes(client, review, team):
    (record,) = conflict(review, team, 1)
    html = page(client, review, team["lead"]).content.decode()
    card = html.split(f'id="conflict-{record.pk}"')[1].split("</article>")[0]
    assert "Exercise for depression 0" in card
    assert "Smith, Jane; Okafor, Chidi" in card
    assert "<em>Journal of Affective Disorders</em>" in card and "2019" in card
    assert "<details" in card and "<summary>Abstract</summary>" in card
    assert "Background: exercise 0 &amp; mood. Methods: randomised &lt;trial&gt;." in card
    assert f'href="{reverse("screening:record", args=[review.slug, record.pk])}"' in card
    assert "alice" in card and "bob" in card and "Wrong population" in card
    assert "Wrong study design" in card


def test_a_record_without_abstract_says_so(client, review, team):
    (record,) = conflict(review, team, 1)
    record.abstract = ""
    record.save()
    card = page(client, review, team["lead"]).content.decode().split("</article>")[0]
    assert "No abstract." in card and "<summary>Abstract</summary>" not in card


def test_the_page_costs_the_same_queries_for_one_conflict_or_many(client, review, team):
    conflict(review, team, 1)
    client.force_login(team["lead"])
    url = reverse("screening:conflicts", args=[review.slug, TA])
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    conflict(review, team, 4)
    with CaptureQueriesContext(connection) as five:
        html = client.get(url).content.decode()
    assert html.count("<summary>Abstract</summary>") == 5
    assert len(five) == len(one)


def test_only_leads_and_resolvers_see_the_page(client, review, team):
    conflict(review, team, 1)
    assert page(client, review, team["alice"]).status_code == 403
    assert page(client, review, team["viewer"]).status_code == 403
