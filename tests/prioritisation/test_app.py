"""Prioritised screening in the app: the ranked queue, hidden scores, background retraining, and
the stopping rule recorded as exclusions by automation (Sep et al. 2021, CC0, review/demo_data)."""

import csv
import gzip
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from review import services as review_services
from review.demo import DEMO_FILE, read_demo_entries
from review.models import Removal
from screening import prioritisation, services
from screening.models import (
    Prioritisation,
    RecordRank,
    ScreeningDecision,
    ScreeningEvent,
    ScreeningLease,
)
from screening.prisma import prisma_counts
from screening.ranking import hypergeometric_test
from tests import factories

pytestmark = pytest.mark.django_db
TA = "title_abstract"


@pytest.fixture
def sep(review, lead):
    """The 271 Sep et al. records with their published labels, in single mode."""
    review.title_abstract_mode = "single"
    review.save()
    source = factories.SourceFactory(review=review, name="Sep 2021")
    batch = review_services.records_add(
        review=review, source=source, entries=read_demo_entries(), filename="sep.csv"
    )
    with gzip.open(DEMO_FILE, "rt", encoding="utf-8") as fh:
        labels = [row["label_included"] == "1" for row in csv.DictReader(io.StringIO(fh.read()))]
    records = list(batch.records.order_by("position", "pk"))
    return {record.pk: label for record, label in zip(records, labels, strict=True)}


def _screen(review, user, labels, n):
    """Screen `n` records as the queue serves them, with the true labels; the order served."""
    served = []
    for _ in range(n):
        record = services.next_record(review=review, reviewer=user, stage=TA)
        if record is None:
            break
        served.append(record.pk)
        verdict = "include" if labels[record.pk] else "exclude"
        services.decision_record(review=review, record=record, reviewer=user, stage=TA,
                                 verdict=verdict)  # fmt: skip
        if prioritisation.ranking_due(review):  # what the background task does
            prioritisation.ranking_train(review)
    return served


def test_the_ranked_queue_finds_the_included_records_early_and_never_repeats(sep, review, lead):
    prioritisation.ranking_train(review)  # random order by seed before any label
    served = _screen(review, lead, sep, 100)
    assert len(served) == len(set(served)) == 100  # never a record twice
    found = sum(sep[pk] for pk in served)
    # Random order would find about 100/271 of the 40 included records (15); the ranking, trained
    # as the decisions come in, finds most of them.
    assert found >= 30, found
    assert Prioritisation.objects.get(review=review).trained


def test_the_queue_follows_the_stored_ranks(sep, review, lead):
    prioritisation.ranking_train(review)
    first = RecordRank.objects.filter(review=review).order_by("position").first()
    assert services.next_record(review=review, reviewer=lead, stage=TA).pk == first.record_id
    settings = Prioritisation.objects.get(review=review)
    settings.enabled = False
    settings.save()
    # The card the lead holds stays theirs (a reload shows it again) ...
    assert services.next_record(review=review, reviewer=lead, stage=TA).pk == first.record_id
    ScreeningLease.objects.filter(reviewer=lead).delete()  # ... until its lease is gone
    assert services.next_record(review=review, reviewer=lead, stage=TA).pk == min(sep)


def test_scores_stay_hidden_unless_the_lead_shows_them(client, sep, review, lead):
    _screen(review, lead, sep, 20)
    prioritisation.ranking_train(review)
    url = reverse("screening:screen", args=[review.slug, TA])
    client.force_login(lead)
    assert 'data-testid="score"' not in client.get(url).content.decode()
    Prioritisation.objects.filter(review=review).update(show_scores=True)
    assert "Model score" in client.get(url).content.decode()


def test_a_decision_queues_a_retrain_once_it_is_due(sep, review, lead,
                                                   django_capture_on_commit_callbacks):  # fmt: skip
    prioritisation.ranking_train(review)
    record = services.next_record(review=review, reviewer=lead, stage=TA)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.decision_record(review=review, record=record, reviewer=lead, stage=TA,
                                 verdict="exclude")  # fmt: skip
    assert len(callbacks) == 1  # the task ran (immediate backend in tests)
    settings = Prioritisation.objects.get(review=review)
    assert settings.decisions_at_training == 1 and settings.training_requested_at is None
    assert not RecordRank.objects.filter(record=record).exists()  # labelled: out of the ranking


def test_the_stopping_rule_excludes_the_rest_by_automation(sep, review, lead):
    prioritisation.ranking_train(review)
    _screen(review, lead, sep, 150)
    with pytest.raises(ValidationError, match="does not pass"):
        prioritisation.stopping_apply(review=review, user=lead)
    left = prioritisation.sampling_start(review=review, user=lead)
    assert left == 121 and RecordRank.objects.filter(review=review, sampled=True).count() == 121
    before = prioritisation.stopping_status(review)
    _screen(review, lead, sep, 60)
    status = prioritisation.stopping_status(review)
    assert status.sample_size == 60 and status.screened == 210
    expected = hypergeometric_test(
        n_records=271, screened_ranked=150, relevant_ranked=before.relevant,
        sample_size=60, sample_relevant=status.relevant - before.relevant,
    )  # fmt: skip
    assert status.test == expected
    assert not status.test.can_stop  # half of 121 records: too few to claim 95% recall
    with pytest.raises(ValidationError, match="does not pass"):
        prioritisation.stopping_apply(review=review, user=lead)

    _screen(review, lead, sep, 55)  # 115 of the 121: now the test passes
    status = prioritisation.stopping_status(review)
    assert status.test.can_stop, status.test
    removed = prioritisation.stopping_apply(review=review, user=lead)
    assert removed == 6
    counts = prisma_counts(review)
    assert counts.excluded_automatic == 6 and counts.records_screened == 265
    assert counts.records_excluded == 265 - status.relevant  # human exclusions only
    assert counts.check() == []
    assert review.records.filter(removed_reason=Removal.AUTOMATION).count() == 6
    assert services.next_record(review=review, reviewer=lead, stage=TA) is None
    event = ScreeningEvent.objects.filter(action="stop").first()
    assert "Recall ≥ 95% with 95% confidence" in event.detail["reason"]


def test_only_leads_steer_prioritisation(client, review, reviewer, viewer, outsider):
    client.force_login(viewer)
    page = reverse("screening:prioritisation", args=[review.slug])
    assert client.get(page).status_code == 200
    client.force_login(reviewer)
    for name in ("prioritisation-sample", "prioritisation-stop", "prioritisation-retrain"):
        assert client.post(reverse(f"screening:{name}", args=[review.slug])).status_code == 403
    client.force_login(outsider)
    assert client.get(page).status_code == 404


def test_the_demo_shows_a_ranked_queue_and_the_stopping_panel(client, settings):
    from django.core.management import call_command

    settings.DEBUG = True
    call_command("load_demo")
    demo = factories.Review.objects.get(slug="demo")
    first = RecordRank.objects.filter(review=demo).order_by("position").first()
    assert Prioritisation.objects.get(review=demo).trained and first is not None
    reviewer = demo.memberships.get(user__username="reviewer").user
    assert services.next_record(review=demo, reviewer=reviewer, stage=TA).pk == first.record_id
    client.force_login(reviewer)
    html = client.get(reverse("screening:prioritisation", args=["demo"])).content.decode()
    assert 'data-testid="recall-curve"' in html and "ranked by the model" in html
    assert 'data-testid="relevant">29<' in html  # the replayed includes


def test_in_blind_dual_mode_both_reviewers_get_the_ranked_order_once_each(sep, review, lead):
    review.title_abstract_mode, review.title_abstract_blind = "dual", True
    review.save()
    a = factories.MembershipFactory(review=review, role="reviewer").user
    b = factories.MembershipFactory(review=review, role="reviewer").user
    prioritisation.ranking_train(review)
    seen = {a.pk: [], b.pk: []}
    for step in range(80):
        user = (a, b)[step % 2]
        record = services.next_record(review=review, reviewer=user, stage=TA)
        if step == 0:  # the best-ranked record goes to the first reviewer
            first = RecordRank.objects.filter(review=review).order_by("position").first()
            assert record.pk == first.record_id
        seen[user.pk].append(record.pk)
        services.decision_record(review=review, record=record, reviewer=user, stage=TA,
                                 verdict="include" if sep[record.pk] else "exclude")  # fmt: skip
        if prioritisation.ranking_due(review):
            prioritisation.ranking_train(review)
    for served in seen.values():
        assert len(served) == len(set(served)) == 40  # never twice to the same reviewer
    # The second reviewer meets the records the first one voted on in the model's order too (an
    # open vote does not take a record out of the ranking), so most are screened by both.
    both = set(seen[a.pk]) & set(seen[b.pk])
    assert len(both) >= 20, len(both)
    assert ScreeningDecision.objects.filter(review=review).values("record").distinct().count() <= 60


def test_an_import_ranks_its_records_before_any_decision(
    review, lead, django_capture_on_commit_callbacks
):
    from tests.review.test_imports import upload

    source = factories.SourceFactory(review=review, name="PubMed")
    with django_capture_on_commit_callbacks(execute=True):
        batch = upload(review, source, "pubmed_small.ris", user=lead)
    assert batch.status == "done"
    ranks = RecordRank.objects.filter(review=review).order_by("position")
    assert ranks.count() == 3  # the seeded random order, before any include or exclude
    assert services.next_record(review=review, reviewer=lead, stage=TA).pk == ranks[0].record_id
