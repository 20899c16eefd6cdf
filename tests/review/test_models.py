"""Database constraints: they hold on SQLite and PostgreSQL alike, whatever a service forgets."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from analysis.models import StudyReport
from review.models import Membership, Record, Review, Source
from screening.models import ScreeningDecision, StageResult
from tests import factories

pytestmark = pytest.mark.django_db


def violates(callable_):
    with pytest.raises(IntegrityError), transaction.atomic():
        callable_()


def test_a_user_has_one_membership_per_review(review, reviewer):
    violates(lambda: Membership.objects.create(review=review, user=reviewer, role="viewer"))


def test_roles_are_limited_to_lead_reviewer_viewer(review):
    user = factories.UserFactory()
    violates(lambda: Membership.objects.create(review=review, user=user, role="owner"))


def test_review_slugs_are_unique(review):
    violates(lambda: Review.objects.create(title="Another", slug=review.slug))


def test_screening_mode_must_be_single_or_dual():
    violates(lambda: Review.objects.create(title="x", slug="x", title_abstract_mode="triple"))


def test_source_names_are_unique_within_a_review_only(review):
    factories.SourceFactory(review=review, name="Embase")
    violates(lambda: Source.objects.create(review=review, name="Embase"))
    factories.SourceFactory(name="Embase")  # another review may use the name


def test_source_arm_must_be_a_prisma_arm(review):
    violates(lambda: Source.objects.create(review=review, name="X", arm="newspaper"))


def test_record_year_must_be_plausible():
    record = factories.RecordFactory()
    record.year = 20
    violates(record.save)


def test_a_record_is_a_duplicate_or_removed_not_both():
    primary = factories.RecordFactory()
    record = factories.RecordFactory(batch=primary.batch, duplicate_of=primary)
    record.removed_reason = "other"
    violates(record.save)


def test_removed_reason_must_be_known():
    record = factories.RecordFactory()
    record.removed_reason = "bored"
    violates(record.save)


def test_a_duplicate_cannot_lose_its_primary():
    primary = factories.RecordFactory()
    factories.RecordFactory(batch=primary.batch, duplicate_of=primary)
    with pytest.raises(Exception, match="protected"):
        primary.delete()


def _decision(record, reviewer, **kwargs):
    return ScreeningDecision.objects.create(
        review=record.review,
        record=record,
        stage="title_abstract",
        reviewer=reviewer,
        verdict=kwargs.pop("verdict", "include"),
        **kwargs,
    )


def test_one_current_decision_per_record_stage_and_reviewer():
    record = factories.RecordFactory()
    user = factories.UserFactory()
    first = _decision(record, user)
    violates(lambda: _decision(record, user, verdict="exclude"))
    # Superseding the first vote makes room for the new one; both rows stay as history.
    first.superseded_at = timezone.now()
    first.save()
    _decision(record, user, verdict="exclude")
    assert ScreeningDecision.objects.filter(record=record).count() == 2


def test_two_reviewers_may_each_decide_the_same_record():
    record = factories.RecordFactory()
    _decision(record, factories.UserFactory())
    _decision(record, factories.UserFactory(), verdict="exclude")
    assert ScreeningDecision.objects.filter(record=record, superseded_at=None).count() == 2


def test_only_an_exclusion_carries_a_reason(review):
    record = factories.RecordFactory(batch__source__review=review)
    reason = review.exclusion_reasons.create(label="Wrong population")
    violates(lambda: _decision(record, factories.UserFactory(), reason=reason))


def test_verdicts_are_include_exclude_or_maybe():
    record = factories.RecordFactory()
    violates(lambda: _decision(record, factories.UserFactory(), verdict="perhaps"))


def test_one_current_result_per_record_and_stage_and_maybe_never_settles():
    record = factories.RecordFactory()

    def result(verdict="include"):
        return StageResult.objects.create(
            review=record.review,
            record=record,
            stage="title_abstract",
            verdict=verdict,
            method="single",
        )

    result()
    violates(result)
    violates(lambda: StageResult.objects.filter(record=record).update(verdict="maybe"))


def test_a_record_reports_at_most_one_study(review):
    record = factories.RecordFactory(batch__source__review=review)
    first = review.studies.create(label="Smith 2019")
    second = review.studies.create(label="Smith 2020")
    StudyReport.objects.create(study=first, record=record)
    violates(lambda: StudyReport.objects.create(study=second, record=record))


def test_set_keys_normalises_identifiers():
    record = Record(
        title="Éffect of X",
        authors=["Sep, M."],
        doi="https://doi.org/10.1000/ABC.2",
        pmid="PMID 42",
    )
    record.set_keys()
    assert (record.doi, record.pmid, record.title_key, record.first_author_key) == (
        "10.1000/abc.2",
        "42",
        "effect of x",
        "sep",
    )
