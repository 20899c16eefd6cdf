"""Screening rules: single and dual modes, conflicts, resolution, undo, blind visibility."""

import re

import pytest
from django.core.exceptions import ValidationError

from screening import services
from screening.models import Retrieval, ScreeningDecision, ScreeningEvent, StageResult
from tests import factories
from tests.screening_flow.helpers import vote

pytestmark = pytest.mark.django_db
TA, FT = "title_abstract", "full_text"


@pytest.fixture
def records(review):
    batch = factories.ImportBatchFactory(source__review=review)
    return [factories.RecordFactory(batch=batch) for _ in range(3)]


@pytest.fixture
def second(review):
    return factories.MembershipFactory(review=review, role="reviewer").user


def current_result(record, stage=TA):
    return StageResult.objects.filter(record=record, stage=stage, superseded_at=None).first()


def test_single_mode_the_vote_settles_and_maybe_moves_on(review, records, reviewer):
    review.title_abstract_mode = "single"
    review.save()
    vote(review, records[0], reviewer, "maybe")
    vote(review, records[1], reviewer, "exclude")
    assert (current_result(records[0]).verdict, current_result(records[0]).method) == (
        "include",
        "single",
    )
    assert current_result(records[1]).verdict == "exclude"


def test_dual_mode_agreement_settles_and_disagreement_is_a_conflict(
    review, records, reviewer, second
):
    vote(review, records[0], reviewer, "include")
    assert current_result(records[0]) is None  # one vote is not enough
    vote(review, records[0], second, "maybe")
    assert current_result(records[0]).method == "agreement"
    vote(review, records[1], reviewer, "include")
    vote(review, records[1], second, "exclude")
    assert list(services.conflicts(review, TA)) == [records[1]]
    assert current_result(records[1]) is None


def test_a_third_reviewer_is_refused_in_dual_mode(review, records, reviewer, second, lead):
    vote(review, records[0], reviewer, "include")
    vote(review, records[0], second, "exclude")
    with pytest.raises(ValidationError, match="Two other reviewers screened record"):
        vote(review, records[0], lead, "include")


def test_resolution_settles_without_changing_the_votes(review, records, reviewer, second, lead):
    vote(review, records[1], reviewer, "include")
    vote(review, records[1], second, "exclude")
    result = services.conflict_resolve(
        review=review, record=records[1], stage=TA, resolver=lead, verdict="include"
    )
    assert (result.method, result.decided_by) == ("resolution", lead)
    assert not services.conflicts(review, TA).exists()
    verdicts = ScreeningDecision.objects.filter(record=records[1], superseded_at=None)
    assert sorted(verdicts.values_list("verdict", flat=True)) == ["exclude", "include"]
    with pytest.raises(ValidationError, match="has no open conflict"):
        services.conflict_resolve(
            review=review, record=records[0], stage=TA, resolver=lead, verdict="include"
        )


def test_a_vote_changes_only_while_the_other_reviewer_has_not_voted(
    review, records, reviewer, second
):
    vote(review, records[0], reviewer, "include")
    vote(review, records[0], reviewer, "exclude")  # changed mind while alone on the record
    vote(review, records[0], second, "exclude")  # agreement
    with pytest.raises(ValidationError, match="The other reviewer has screened record"):
        vote(review, records[0], second, "include")
    with pytest.raises(ValidationError, match="can no longer be changed"):
        services.decision_undo(review=review, record=records[0], reviewer=reviewer, stage=TA)
    assert current_result(records[0]).verdict == "exclude"
    assert ScreeningDecision.objects.filter(record=records[0]).count() == 3
    actions = list(
        ScreeningEvent.objects.filter(record=records[0]).values_list("action", flat=True)
    )
    assert actions == ["decide", "change", "decide", "settle"]


def test_undo_withdraws_the_vote_and_the_record_comes_back(review, records, reviewer):
    assert services.next_record(review=review, reviewer=reviewer, stage=TA) == records[0]
    vote(review, records[0], reviewer, "exclude")
    assert services.next_record(review=review, reviewer=reviewer, stage=TA) == records[1]
    services.decision_undo(review=review, record=records[0], reviewer=reviewer, stage=TA)
    assert services.next_record(review=review, reviewer=reviewer, stage=TA) == records[0]
    assert ScreeningEvent.objects.filter(action="undo", user=reviewer).count() == 1
    with pytest.raises(ValidationError, match="no decision on this record to undo"):
        services.decision_undo(review=review, record=records[0], reviewer=reviewer, stage=TA)


def test_the_queue_skips_settled_and_full_records(review, records, reviewer, second, lead):
    vote(review, records[0], reviewer, "include")
    vote(review, records[0], second, "exclude")  # two votes: full, in conflict
    vote(review, records[1], reviewer, "exclude")
    assert services.next_record(review=review, reviewer=lead, stage=TA) == records[1]
    vote(review, records[1], lead, "exclude")  # settles records[1]
    assert services.next_record(review=review, reviewer=second, stage=TA) == records[2]


def test_duplicates_and_other_methods_are_not_screened_at_title_abstract(review, reviewer):
    primary = factories.RecordFactory(batch__source__review=review)
    duplicate = factories.RecordFactory(batch=primary.batch, duplicate_of=primary)
    citation = factories.RecordFactory(
        batch__source__review=review, batch__source__name="Citations", batch__source__arm="citation"
    )
    for record in (duplicate, citation):
        with pytest.raises(ValidationError, match="is not open for title/abstract screening"):
            vote(review, record, reviewer, "include")


def test_full_text_needs_inclusion_retrieval_and_a_reason(review, records, reviewer, second):
    review.full_text_mode = "single"
    review.title_abstract_blind = False  # reviewers see what title/abstract screening included
    review.save()
    record = records[0]
    with pytest.raises(ValidationError, match="is not open for full-text eligibility"):
        vote(review, record, reviewer, "include", stage=FT)
    vote(review, record, reviewer, "include")
    vote(review, record, second, "include")
    Retrieval.objects.create(review=review, record=record, status="retrieved")
    with pytest.raises(ValidationError, match="needs one of the review's reasons"):
        vote(review, record, reviewer, "exclude", stage=FT)
    reason = review.exclusion_reasons.create(label="Wrong design")
    vote(review, record, reviewer, "exclude", stage=FT, reason=reason)
    assert current_result(record, FT).reason == reason
    foreign = factories.ReviewFactory().exclusion_reasons.create(label="Other")
    with pytest.raises(ValidationError, match=re.escape("not one of this review's")):
        vote(review, record, reviewer, "exclude", stage=FT, reason=foreign)


def test_dual_full_text_exclusions_with_different_reasons_conflict(
    review, records, reviewer, second
):
    review.title_abstract_blind = False
    review.save()
    record = records[0]
    vote(review, record, reviewer, "include")
    vote(review, record, second, "include")
    Retrieval.objects.create(review=review, record=record, status="retrieved")
    a = review.exclusion_reasons.create(label="Wrong population")
    b = review.exclusion_reasons.create(label="Wrong design")
    vote(review, record, reviewer, "exclude", stage=FT, reason=a)
    vote(review, record, second, "exclude", stage=FT, reason=b)
    assert list(services.conflicts(review, FT)) == [record]


def test_blind_mode_hides_the_other_vote_until_settled(review, records, reviewer, second):
    vote(review, records[0], reviewer, "include")
    vote(review, records[0], second, "exclude")
    ids = [records[0].pk]
    seen = services.visible_decisions(review=review, stage=TA, viewer=reviewer, record_ids=ids)
    assert [d.reviewer for d in seen] == [reviewer]
    review.title_abstract_blind = False
    review.save()
    seen = services.visible_decisions(review=review, stage=TA, viewer=reviewer, record_ids=ids)
    assert {d.reviewer for d in seen} == {reviewer, second}


def test_a_double_click_records_one_vote(review, records, reviewer):
    vote(review, records[0], reviewer, "include")
    vote(review, records[0], reviewer, "include")
    assert ScreeningDecision.objects.filter(record=records[0], superseded_at=None).count() == 1


def test_retrieval_needs_a_sought_report_and_a_pdf_url_or_reason(review, records, reviewer, second):
    review.title_abstract_blind = False
    review.save()
    record = records[0]
    with pytest.raises(ValidationError, match="is not sought for retrieval"):
        services.retrieval_set(
            review=review, record=record, user=reviewer, status="retrieved", url="https://x.org/a"
        )
    vote(review, record, reviewer, "include")
    vote(review, record, second, "include")
    with pytest.raises(ValidationError, match="Attach the PDF or give its URL"):
        services.retrieval_set(review=review, record=record, user=reviewer, status="retrieved")
    with pytest.raises(ValidationError, match="Say why the report could not be retrieved"):
        services.retrieval_set(review=review, record=record, user=reviewer, status="not_retrieved")
    services.retrieval_set(
        review=review, record=record, user=reviewer, status="not_retrieved", reason="Paywalled"
    )
    assert services.next_record(review=review, reviewer=reviewer, stage=FT) is None
    services.retrieval_set(
        review=review, record=record, user=reviewer, status="retrieved", url="https://x.org/a"
    )
    assert services.next_record(review=review, reviewer=reviewer, stage=FT) == record
    retrieval = Retrieval.objects.get(record=record)
    assert (retrieval.status, retrieval.url, retrieval.not_retrieved_reason) == (
        "retrieved",
        "https://x.org/a",
        "",
    )
    assert ScreeningEvent.objects.filter(action="retrieve").count() == 2


def test_included_reports_link_to_studies_one_study_many_reports(review, records, reviewer):
    from analysis.models import StudyReport

    review.title_abstract_mode = review.full_text_mode = "single"
    review.save()
    for record in records[:2]:
        vote(review, record, reviewer, "include")
        Retrieval.objects.create(review=review, record=record, status="retrieved")
        vote(review, record, reviewer, "include", stage=FT)
    with pytest.raises(ValidationError, match="is not included at full text"):
        services.report_link_study(
            review=review, record=records[2], user=reviewer, study_label="Smith 2019"
        )
    with pytest.raises(ValidationError, match="Name the study"):
        services.report_link_study(review=review, record=records[0], user=reviewer, study_label=" ")
    for record in records[:2]:
        services.report_link_study(
            review=review, record=record, user=reviewer, study_label="Smith 2019"
        )
    assert StudyReport.objects.filter(study__label="Smith 2019").count() == 2
    services.report_link_study(
        review=review, record=records[1], user=reviewer, study_label="Lee 2020"
    )
    assert dict(StudyReport.objects.values_list("record_id", "study__label")) == {
        records[0].pk: "Smith 2019",
        records[1].pk: "Lee 2020",
    }
    event = ScreeningEvent.objects.filter(action="include").last()
    assert event.detail == {"study": "Lee 2020", "previous_study": "Smith 2019"}
