"""Work allocation (leases), a lead's re-opening of a settled record, lifting the blinding, and
each reviewer's own ranking at a blind stage."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from analysis.models import StudyReport
from screening import prioritisation, services
from screening.models import (
    Reopening,
    Retrieval,
    ReviewerRanking,
    ScreeningDecision,
    ScreeningEvent,
    ScreeningLease,
    StageEvent,
    StageResult,
)
from screening.prisma import prisma_counts
from tests import factories
from tests.screening_flow.helpers import FT, TA, vote

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(review):
    batch = factories.ImportBatchFactory(source__review=review)
    return [factories.RecordFactory(batch=batch) for _ in range(4)]


def card(review, user, stage=TA):
    found = services.next_card(review=review, reviewer=user, stage=stage)
    return found.record if found else None


# Leases --------------------------------------------------------------------------------------


def test_a_reload_shows_the_same_card_and_renews_its_lease(review, team, records):
    first = services.next_card(review=review, reviewer=team["alice"], stage=TA)
    ScreeningLease.objects.filter(pk=first.lease.pk).update(
        expires_at=timezone.now() + dt.timedelta(seconds=5)
    )
    again = services.next_card(review=review, reviewer=team["alice"], stage=TA)
    assert again.record == first.record and again.lease.pk == first.lease.pk
    assert again.lease.expires_at > timezone.now() + dt.timedelta(minutes=9)
    assert ScreeningLease.objects.filter(reviewer=team["alice"]).count() == 1


def test_a_record_is_on_two_cards_at_most_in_dual_mode_and_one_in_single(review, team, records):
    users = [team["alice"], team["bob"], team["lead"]]
    assert [card(review, u) for u in users] == [records[0], records[0], records[1]]
    review.title_abstract_mode = "single"
    review.save()
    ScreeningLease.objects.all().delete()
    assert [card(review, u) for u in users] == records[:3]


def test_a_skip_frees_the_place_and_keeps_the_record_off_my_cards(review, team, records):
    review.title_abstract_mode = "single"
    review.save()
    assert card(review, team["alice"]) == records[0]
    services.card_skip(review=review, record=records[0], reviewer=team["alice"], stage=TA)
    assert card(review, team["alice"]) == records[1]
    assert card(review, team["bob"]) == records[0]  # its place was free
    ScreeningLease.objects.filter(reviewer=team["alice"], skipped=True).update(
        expires_at=timezone.now()
    )
    vote(review, records[1], team["alice"], "exclude")
    ScreeningLease.objects.filter(reviewer=team["bob"]).delete()  # bob left
    assert card(review, team["alice"]) == records[0]  # the skip has expired


def test_an_idle_lease_expires_after_the_configured_minutes(review, team, records, settings):
    settings.SCREENING_LEASE_MINUTES = 2
    review.title_abstract_mode = "single"
    review.save()
    lease = services.next_card(review=review, reviewer=team["alice"], stage=TA).lease
    assert lease.expires_at - lease.served_at == dt.timedelta(minutes=2)
    assert card(review, team["bob"]) == records[1]
    ScreeningLease.objects.filter(pk=lease.pk).update(expires_at=timezone.now())
    ScreeningLease.objects.filter(reviewer=team["bob"]).delete()
    assert card(review, team["bob"]) == records[0]
    # Alice's vote still counts: the record has room (no vote yet), the first vote wins.
    vote(review, records[0], team["alice"], "include")
    with pytest.raises(ValidationError, match="Another reviewer screened record"):
        vote(review, records[0], team["bob"], "exclude")


def test_the_card_page_carries_its_lease_and_says_what_became_of_a_vote(
    client, review, team, records
):
    client.force_login(team["alice"])
    html = client.get(reverse("screening:screen", args=[review.slug, TA])).content.decode()
    lease = ScreeningLease.objects.get(reviewer=team["alice"])
    assert f'name="lease" value="{lease.pk}"' in html
    decide = reverse("screening:decide", args=[review.slug, TA])
    answer = client.post(decide, {"record": records[0].pk, "verdict": "skip"},
                         headers={"HX-Request": "true"})  # fmt: skip
    assert answer["X-Screening-Outcome"] == "skipped"
    assert f'data-record="{records[1].pk}"' in answer.content.decode()
    answer = client.post(decide, {"record": records[1].pk, "verdict": "include"},
                         headers={"HX-Request": "true"})  # fmt: skip
    assert answer["X-Screening-Outcome"] == "recorded"
    assert not ScreeningLease.objects.filter(reviewer=team["alice"], record=records[1]).exists()


# A lead re-opens a settled record ---------------------------------------------------------


@pytest.fixture
def included(review, team, records):
    """records[0] included at both stages (single mode), retrieved and linked to a study."""
    review.title_abstract_mode = review.full_text_mode = "single"
    review.save()
    record = records[0]
    vote(review, record, team["alice"], "include")
    Retrieval.objects.create(review=review, record=record, status="retrieved")
    vote(review, record, team["bob"], "include", stage=FT)
    services.report_link_study(review=review, record=record, user=team["lead"],
                               study_label="Smith 2019")  # fmt: skip
    return record


def test_reopening_a_stage_that_later_stages_rest_on_needs_the_cascade(review, team, included):
    with pytest.raises(ValidationError, match="has moved on: 1 full-text vote, a full-text"):
        services.stage_reopen(review=review, record=included, stage=TA, lead=team["lead"])
    with pytest.raises(ValidationError, match="Only a lead"):
        services.stage_reopen(review=review, record=included, stage=TA, lead=team["alice"],
                              cascade=True)  # fmt: skip
    reopening = services.stage_reopen(
        review=review, record=included, stage=TA, lead=team["lead"], note="wrong key", cascade=True
    )
    assert reopening.cascade == {
        "full_text_votes": 1, "full_text_result": "include", "study": "Smith 2019"
    }  # fmt: skip
    assert not StageResult.objects.filter(record=included, superseded_at=None).exists()
    assert not ScreeningDecision.objects.filter(record=included, stage=FT, superseded_at=None)
    assert not StudyReport.objects.filter(record=included).exists()
    assert ScreeningDecision.objects.filter(record=included, stage=TA, superseded_at=None).count()
    actions = list(
        ScreeningEvent.objects.filter(record=included).values_list("action", flat=True)
    )
    assert actions[-4:] == ["reopen", "withdraw", "withdraw", "unlink"]
    assert prisma_counts(review).check() == []
    # It waits on the conflicts page, out of everyone's queue, until a lead settles it.
    assert list(services.conflicts(review, TA)) == [included]
    assert card(review, team["bob"]) != included
    with pytest.raises(ValidationError, match="re-opened record"):
        vote(review, included, team["bob"], "exclude")
    services.conflict_resolve(review=review, record=included, stage=TA, resolver=team["lead"],
                              verdict="exclude")  # fmt: skip
    reopening.refresh_from_db()
    assert reopening.closed_at is not None and not services.conflicts(review, TA).exists()
    assert prisma_counts(review).check() == []


def test_reopening_from_the_record_page(client, review, team, included):
    url = reverse("screening:reopen", args=[review.slug, included.pk, FT])
    client.force_login(team["alice"])
    assert client.post(url, {"note": "x"}).status_code == 403
    client.force_login(team["lead"])
    page = reverse("screening:record", args=[review.slug, included.pk])
    assert 'data-testid="reopen-full_text"' in client.get(page).content.decode()
    client.post(url, {"note": "not this study"})  # no cascade: the study link stays
    assert StageResult.objects.filter(record=included, stage=FT, superseded_at=None).exists()
    client.post(url, {"note": "not this study", "cascade": "on"})
    assert not StageResult.objects.filter(record=included, stage=FT, superseded_at=None).exists()
    assert Reopening.objects.get(record=included, stage=FT).note == "not this study"
    assert "re-opened by a lead" in client.get(page).content.decode()


# Lifting the blinding ------------------------------------------------------------------------


def test_only_a_lead_lifts_the_blinding_and_it_is_logged(client, review, team):
    url = reverse("screening:blinding", args=[review.slug, TA])
    client.force_login(team["alice"])
    assert client.post(url, {"blind": "off"}).status_code == 403
    client.force_login(team["lead"])
    client.post(url, {"blind": "off"})
    review.refresh_from_db()
    assert not review.title_abstract_blind
    client.post(reverse("review:settings", args=[review.slug]), {
        "title": review.title, "title_abstract_mode": "dual", "title_abstract_blind": "on",
        "full_text_mode": "dual", "full_text_blind": "on",
    })  # fmt: skip
    review.refresh_from_db()
    assert review.title_abstract_blind
    events = StageEvent.objects.filter(review=review, stage=TA)
    assert list(events.values_list("action", "user__username")) == [
        ("lift_blinding", "lena"),
        ("restore_blinding", "lena"),
    ]


# Each reviewer's own ranking -----------------------------------------------------------------


def test_at_a_blind_stage_each_reviewer_is_ranked_on_the_labels_they_may_see(review, team):
    batch = factories.ImportBatchFactory(source__review=review)
    memory = [factories.RecordFactory(batch=batch, title=f"Memory and stress {i}")
              for i in range(6)]  # fmt: skip
    fish = [factories.RecordFactory(batch=batch, title=f"Zebrafish fins {i}") for i in range(6)]
    alice, bob, lead = team["alice"], team["bob"], team["lead"]
    # Alice includes fish and excludes memory; Bob the reverse; both on the same records.
    for record in fish[:2]:
        vote(review, record, alice, "include")
        vote(review, record, bob, "exclude")
    for record in memory[:2]:
        vote(review, record, alice, "exclude")
        vote(review, record, bob, "include")
    assert prioritisation.training_labels(review) == {}  # the shared model sees nothing
    assert prioritisation.personal_labels(review, alice) == {
        **{r.pk: 1 for r in fish[:2]}, **{r.pk: 0 for r in memory[:2]}
    }  # fmt: skip
    for user in (alice, bob):
        prioritisation.personal_ranking_train(review, user)
    assert card(review, alice).title.startswith("Zebrafish")
    assert card(review, bob).title.startswith("Memory")
    # The lead resolves (fish out, memory in): the lead's own model sees the results.
    for record in fish[:2]:
        services.conflict_resolve(review=review, record=record, stage=TA, resolver=lead,
                                  verdict="exclude")  # fmt: skip
    for record in memory[:2]:
        services.conflict_resolve(review=review, record=record, stage=TA, resolver=lead,
                                  verdict="include")  # fmt: skip
    labels = prioritisation.personal_labels(review, lead)
    assert labels == {**{r.pk: 0 for r in fish[:2]}, **{r.pk: 1 for r in memory[:2]}}
    assert prioritisation.personal_labels(review, alice)[fish[0].pk] == 1  # hers, not the result
    ranking = prioritisation.personal_ranking_train(review, lead)
    assert ranking.trained and ReviewerRanking.objects.count() == 3
    assert card(review, lead).title.startswith("Memory")
    # Lifting the blinding hands the queue back to the team's shared model.
    services.stage_blinding_set(review=review, stage=TA, blind=False, user=lead)
    assert prioritisation.personal_ranking_for_queue(review, alice) is None
    assert len(prioritisation.training_labels(review)) == 4
