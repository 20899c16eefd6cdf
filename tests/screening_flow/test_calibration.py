"""Calibration rounds: the sample, the two reviewers' exclusive queue, agreement, closing."""

import random

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from screening import calibration, services
from screening.models import (
    CalibrationAction,
    CalibrationEvent,
    CalibrationRound,
    ScreeningDecision,
    ScreeningLease,
)
from tests import factories
from tests.screening_flow.helpers import vote

pytestmark = pytest.mark.django_db
TA = "title_abstract"
WAITING = "Calibration finished — waiting for the lead to review agreement and start screening"


@pytest.fixture
def records(review):
    batch = factories.ImportBatchFactory(source__review=review)
    return [factories.RecordFactory(batch=batch) for _ in range(30)]


@pytest.fixture
def pair(review):
    return tuple(factories.MembershipFactory(review=review).user for _ in range(2))


@pytest.fixture
def third(review):
    return factories.MembershipFactory(review=review).user


def start(review, pair, lead, **kwargs):
    a, b = pair
    return calibration.calibration_start(
        review=review, stage=TA, reviewer_a=a, reviewer_b=b, user=lead, **kwargs
    )


def sample(round_):
    return list(round_.records.order_by("pk"))


def nxt(review, user):
    return services.next_record(review=review, reviewer=user, stage=TA)


def screen_sample(review, round_, user, verdicts):
    """Screen through the queue as the user would, one verdict per served record."""
    for verdict in verdicts:
        record = nxt(review, user)
        assert record is not None
        vote(review, record, user, verdict)


# Starting a round


def test_the_sample_is_random_reproducible_and_from_unscreened_records(
    review, records, pair, lead, third
):
    vote(review, records[0], third, "include")
    services.decision_undo(review=review, record=records[0], reviewer=third, stage=TA)
    vote(review, records[1], third, "exclude")  # voted on: never in a sample
    round_ = start(review, pair, lead, seed=12345)
    candidates = [r.pk for r in records[2:]]
    expected = sorted(random.Random(12345).sample(candidates, 20))  # noqa: S311
    assert [r.pk for r in sample(round_)] == expected
    assert (round_.seed, round_.requested_size, round_.created_by) == (12345, 20, lead)
    event = CalibrationEvent.objects.get(round=round_)
    assert (event.action, event.user) == (CalibrationAction.START, lead)
    assert event.detail["seed"] == 12345 and event.detail["sample_size"] == 20


def test_the_sample_size_is_capped_by_the_records_available(review, records, pair, lead, third):
    for record in records[:25]:
        vote(review, record, third, "exclude")
    round_ = start(review, pair, lead, size=50)
    assert round_.requested_size == 50 and [r.pk for r in sample(round_)] == [
        r.pk for r in records[25:]
    ]


def test_a_single_mode_stage_refuses_a_round(review, records, pair, lead):
    review.title_abstract_mode = "single"
    review.save()
    with pytest.raises(ValidationError, match="dual screening"):
        start(review, pair, lead)
    assert not CalibrationRound.objects.exists()


def test_one_open_round_per_stage_two_different_screeners(review, records, pair, lead, viewer):
    a, _b = pair
    with pytest.raises(ValidationError, match="two different reviewers"):
        calibration.calibration_start(
            review=review, stage=TA, reviewer_a=a, reviewer_b=a, user=lead
        )
    with pytest.raises(ValidationError, match="does not screen"):
        calibration.calibration_start(
            review=review, stage=TA, reviewer_a=a, reviewer_b=viewer, user=lead
        )
    start(review, pair, lead)
    with pytest.raises(ValidationError, match="already open"):
        start(review, pair, lead)


# The queue while a round is open


def test_the_pair_is_served_the_sample_first_then_nothing(review, records, pair, lead):
    a, b = pair
    round_ = start(review, pair, lead, size=5)
    picked = sample(round_)
    served = []
    for _ in picked:
        record = nxt(review, a)
        served.append(record)
        vote(review, record, a, "include")
    assert served == picked  # the sample, in import order
    assert nxt(review, a) is None  # finished: nothing else until the lead closes the round
    assert nxt(review, b) == picked[0]  # b has their own progress through the same sample


def test_other_reviewers_skip_the_sample_and_cannot_vote_on_it(review, records, pair, lead, third):
    round_ = start(review, pair, lead, size=20)
    picked = {r.pk for r in sample(round_)}
    first_free = next(r for r in records if r.pk not in picked)
    assert nxt(review, third) == first_free
    assert nxt(review, lead) == first_free
    with pytest.raises(ValidationError, match="calibration round"):
        vote(review, sample(round_)[0], third, "include")


def test_a_round_costs_the_queue_no_extra_query(review, records, pair, lead, third):
    """The round's conditions are subqueries of the one queue query: serving a card takes as
    many queries with a round open as without (a new card, claimed with its lease)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(user):
        ScreeningLease.objects.filter(reviewer=user).delete()  # a new card each time
        with CaptureQueriesContext(connection) as captured:
            record = nxt(review, user)
        return len(captured), record

    a, _b = pair
    without, first = queries(a)
    assert first == records[0] and without <= 15
    round_ = start(review, pair, lead, size=3)
    assert [queries(user)[0] for user in (a, third)] == [without, without]
    calibration.calibration_close(round=round_, user=lead)
    assert queries(third) == (without, records[0])


def test_calibration_votes_are_real_votes_under_blind_rules(review, records, pair, lead):
    a, b = pair
    round_ = start(review, pair, lead, size=2)
    first, second = sample(round_)
    vote(review, first, a, "include")
    vote(review, first, b, "exclude")  # a conflict like any other
    assert list(services.conflicts(review, TA)) == [first]
    vote(review, second, a, "exclude")
    seen = services.visible_decisions(review=review, stage=TA, viewer=b, record_ids=[second.pk])
    assert not seen.exists()  # blind: b never sees a's vote before settlement
    vote(review, second, b, "exclude")
    settled = services.visible_decisions(review=review, stage=TA, viewer=b, record_ids=[second.pk])
    assert settled.count() == 1  # settled by agreement, but the stage is still blind for b
    services.stage_blinding_set(review=review, stage=TA, blind=False, user=lead)
    settled = services.visible_decisions(review=review, stage=TA, viewer=b, record_ids=[second.pk])
    assert settled.count() == 2  # the lead lifted the blinding


# Agreement and closing

# 20 records: both include 5, both exclude 10, a include / b exclude 3, a exclude / b include 2.
# p_o = 15/20 = 0.75; p_e = (8·7 + 12·13)/400 = 0.53; κ = 0.22/0.47 = 0.468 → "0.47";
# PABAK = 2·0.75 - 1 = 0.50.
VERDICTS_A = ["include"] * 5 + ["exclude"] * 10 + ["include"] * 3 + ["exclude"] * 2
VERDICTS_B = ["maybe"] * 5 + ["exclude"] * 10 + ["exclude"] * 3 + ["include"] * 2


def test_kappa_only_once_both_have_finished(review, records, pair, lead):
    a, b = pair
    round_ = start(review, pair, lead)
    screen_sample(review, round_, a, VERDICTS_A)
    progress = calibration.round_progress(round_)
    assert (progress.done_a, progress.done_b, progress.stats) == (20, 0, None)
    screen_sample(review, round_, b, VERDICTS_B)
    stats = calibration.round_progress(round_).stats
    assert stats.n == 20 and stats.observed == pytest.approx(0.75)
    assert stats.kappa == pytest.approx(0.22 / 0.47) and stats.pabak == pytest.approx(0.5)


def test_the_screening_page_waits_then_shows_the_aggregate_kappa(
    client, review, records, pair, lead
):
    a, b = pair
    round_ = start(review, pair, lead)
    url = reverse("screening:screen", args=[review.slug, TA])
    client.force_login(a)
    assert 'data-testid="calibration-banner"' in client.get(url).content.decode()
    screen_sample(review, round_, a, VERDICTS_A)
    html = client.get(url).content.decode()
    assert WAITING in html and 'data-testid="calibration-stats"' not in html
    screen_sample(review, round_, b, VERDICTS_B)
    html = client.get(url).content.decode()
    assert WAITING in html and 'data-testid="calibration-kappa">0.47' in html
    assert b.username not in html  # figures only: nothing of the other reviewer's votes
    client.force_login(b)
    assert 'data-testid="calibration-kappa">0.47' in client.get(url).content.decode()


def test_the_lead_follows_and_closes_the_round_on_the_calibration_page(
    client, review, records, pair, lead
):
    a, b = pair
    round_ = start(review, pair, lead)
    page = reverse("screening:calibration", args=[review.slug, TA])
    client.force_login(lead)
    screen_sample(review, round_, a, VERDICTS_A)
    html = client.get(page).content.decode()
    assert "20 / 20" in html and "0 / 20" in html
    assert 'data-testid="calibration-stats"' not in html
    assert "Close the round and start screening" not in html
    screen_sample(review, round_, b, VERDICTS_B)
    html = client.get(page).content.decode()
    assert 'data-testid="calibration-kappa">0.47' in html
    assert "Close the round and start screening" in html
    close = reverse("screening:calibration-close", args=[review.slug, TA, round_.pk])
    assert client.post(close).status_code == 302
    round_.refresh_from_db()
    assert round_.closed_by == lead and round_.closed_at is not None
    event = CalibrationEvent.objects.get(round=round_, action=CalibrationAction.CLOSE)
    assert event.user == lead and event.detail["kappa"] == pytest.approx(0.22 / 0.47)
    assert 'data-testid="calibration-past"' in client.get(page).content.decode()


# Seed 15 draws records[0] into the sample (b screens it, so it is done); seed 0 does not.
@pytest.mark.parametrize("seed", [15, 0])
def test_closing_the_round_releases_the_queue(review, records, pair, lead, third, seed):
    a, b = pair
    round_ = start(review, pair, lead, size=4, seed=seed)
    assert (records[0] in sample(round_)) == (seed == 15)
    picked = sample(round_)
    screen_sample(review, round_, a, ["include"] * 4)
    screen_sample(review, round_, b, ["include"] * 2)  # b stops half way
    assert nxt(review, a) is None
    with pytest.raises(ValidationError, match="calibration round"):
        vote(review, picked[2], third, "include")
    calibration.calibration_close(round=round_, user=lead)
    ids = {r.pk for r in picked}
    assert nxt(review, a) == next(r for r in records if r.pk not in ids)
    # The sample records b left undone wait for a second reviewer like any other record: the
    # third reviewer is served the first record in import order that still has a place (the
    # two b screened are done; the random sample may or may not hold records[0]).
    done = {r.pk for r in picked[:2]}
    assert nxt(review, third) == next(r for r in records if r.pk not in done)
    vote(review, picked[2], third, "include")
    assert ScreeningDecision.objects.filter(record=picked[2], superseded_at=None).count() == 2
    with pytest.raises(ValidationError, match="already closed"):
        calibration.calibration_close(round=round_, user=lead)


# The views' permissions


def test_only_a_lead_uses_the_calibration_page(
    client, review, records, pair, lead, viewer, outsider
):
    a, b = pair
    page = reverse("screening:calibration", args=[review.slug, TA])
    post = reverse("screening:calibration-start", args=[review.slug, TA])
    data = {"reviewer_a": a.pk, "reviewer_b": b.pk, "size": 5}
    for user, status in ((a, 403), (viewer, 403), (outsider, 404)):
        client.force_login(user)
        assert client.get(page).status_code == status
        assert client.post(post, data).status_code == status
    assert not CalibrationRound.objects.exists()
    client.force_login(lead)
    assert client.get(page).status_code == 200
    assert client.post(post, data).status_code == 302
    round_ = CalibrationRound.objects.get()
    assert (round_.reviewer_a, round_.reviewer_b, round_.samples.count()) == (a, b, 5)
    close = reverse("screening:calibration-close", args=[review.slug, TA, round_.pk])
    client.force_login(a)
    assert client.post(close).status_code == 403
    assert CalibrationRound.objects.get().closed_at is None


def test_the_page_refuses_a_round_for_a_single_mode_stage(client, review, records, pair, lead):
    a, b = pair
    review.title_abstract_mode = "single"
    review.save()
    client.force_login(lead)
    html = client.get(reverse("screening:calibration", args=[review.slug, TA])).content.decode()
    assert 'data-testid="calibration-single"' in html
    response = client.post(
        reverse("screening:calibration-start", args=[review.slug, TA]),
        {"reviewer_a": a.pk, "reviewer_b": b.pk, "size": 5},
    )
    assert response.status_code == 400 and "dual screening" in response.content.decode()
    assert not CalibrationRound.objects.exists()
