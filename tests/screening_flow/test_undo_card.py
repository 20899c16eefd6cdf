"""Undo (U) puts the record whose vote was undone back on the reviewer's card, held by their
lease, so they can vote again; a refused undo keeps the current card and says why."""

import pytest
from django.urls import reverse

from screening.models import ScreeningLease
from tests import factories
from tests.screening_flow.helpers import TA

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def records(review):
    batch = factories.ImportBatchFactory(source__review=review)
    return [factories.RecordFactory(batch=batch, title=f"Record title {i}") for i in range(4)]


def card_record(html):
    return int(html.split('data-record="')[1].split('"')[0])


def decide(client, review, record, verdict="exclude", headers=HTMX):
    url = reverse("screening:decide", args=[review.slug, TA])
    return client.post(url, {"record": record, "verdict": verdict}, headers=headers)


@pytest.mark.parametrize("mode", ["single", "dual"])
def test_undo_shows_the_undone_record_and_holds_it(client, review, team, records, mode):
    review.title_abstract_mode = mode
    review.save()
    client.force_login(team["alice"])
    screen = reverse("screening:screen", args=[review.slug, TA])
    first = card_record(client.get(screen).content.decode())
    second = card_record(decide(client, review, first).content.decode())
    x = second  # not the first record in the queue: coming back is not the queue's order
    third = card_record(decide(client, review, x, "include").content.decode())
    assert len({first, x, third}) == 3

    response = client.post(reverse("screening:undo", args=[review.slug, TA]), headers=HTMX)
    html = response.content.decode()
    assert card_record(html) == x
    assert f'name="record" value="{x}"' in html  # the decide form votes on it
    lease = ScreeningLease.objects.get(reviewer=team["alice"], stage=TA, skipped=False)
    assert lease.record_id == x and f'name="lease" value="{lease.pk}"' in html
    assert card_record(client.get(screen).content.decode()) == x  # a reload keeps it

    decide(client, review, x, "exclude")  # and the reviewer votes again
    assert card_record(client.get(screen).content.decode()) not in (first, x)


def test_undo_without_htmx_redirects_to_the_undone_record(client, review, team, records):
    client.force_login(team["alice"])
    screen = reverse("screening:screen", args=[review.slug, TA])
    x = card_record(client.get(screen).content.decode())
    decide(client, review, x, headers={})
    response = client.post(reverse("screening:undo", args=[review.slug, TA]), follow=True)
    assert card_record(response.content.decode()) == x


def test_a_refused_undo_keeps_the_current_card_and_says_why(client, review, team, records):
    client.force_login(team["alice"])
    screen = reverse("screening:screen", args=[review.slug, TA])
    x = card_record(client.get(screen).content.decode())
    current = card_record(decide(client, review, x).content.decode())
    client.force_login(team["bob"])
    decide(client, review, x, "include")  # the other reviewer votes: the vote is final
    client.force_login(team["alice"])
    html = client.post(
        reverse("screening:undo", args=[review.slug, TA]), headers=HTMX
    ).content.decode()
    assert card_record(html) == current
    assert "can no longer be changed" in html
