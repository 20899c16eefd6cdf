from dataclasses import replace

import pytest

from analysis.models import Study, StudyReport
from review.models import Arm
from screening.models import ResultMethod, RetrievalStatus
from screening.prisma import (
    NO_REASON,
    VARIABLES,
    Contradictions,
    Pending,
    PrismaCounts,
    RuleFailure,
    prisma_counts,
    records_behind,
)
from tests import factories
from tests.screening.conftest import (
    EXCLUDE,
    FT,
    INCLUDE,
    KNOWN,
    TA,
    add_result,
    add_retrieval,
    make_records,
)


def test_every_count_of_the_known_review(prisma_review):
    counts = prisma_counts(prisma_review.review)
    for variable, expected in KNOWN.items():
        assert getattr(counts, variable) == expected, variable
    # Ordered by the reason's position and by source name, not by count or insertion.
    assert list(counts.dbr_excluded) == ["Wrong study design", "Wrong population"]
    assert list(counts.database_specific_results) == ["Embase", "PubMed"]
    assert counts.dbr_incl == 2
    assert counts.other_incl == 1
    assert counts.pending == Pending(records=0, dbr_reports=0, other_reports=0, study_links=0)
    assert counts.contradictions == Contradictions()


def test_the_known_review_passes_every_rule(prisma_review):
    counts = prisma_counts(prisma_review.review)
    assert counts.check() == []
    assert {r.rule: r.status for r in counts.rules()} == {
        "H1": "pass",
        "H2": "pass",
        "S3": "pass",
        "H4": "pass",
        "H5": "pass",
        "H7": "pass",
        "H8": "pass",
        "H9": "pass",
    }


def test_a_fixed_number_of_queries(prisma_review, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        prisma_counts(prisma_review.review)


def test_an_empty_review(review):
    counts = prisma_counts(review)
    assert counts == PrismaCounts()
    assert counts.website_results is None
    assert counts.other_sought_reports is None
    assert counts.other_excluded is None
    assert counts.check() == []
    assert {r.rule: r.status for r in counts.rules()}["H7"] == "not applicable"


def test_other_methods_counts_are_zero_not_null_once_a_source_exists(review):
    factories.SourceFactory(review=review, name="Agency reports", arm=Arm.ORGANISATION)
    counts = prisma_counts(review)
    assert counts.organisation_results == 0
    assert counts.website_results is None
    assert counts.citations_results is None
    assert counts.other_sought_reports == 0
    assert counts.other_excluded == {}
    assert counts.database_results == 0
    assert counts.register_results == 0


def test_a_source_without_records_is_listed_with_zero(prisma_review):
    factories.SourceFactory(review=prisma_review.review, name="CINAHL", arm=Arm.DATABASE)
    counts = prisma_counts(prisma_review.review)
    assert counts.database_specific_results == {"CINAHL": 0, "Embase": 5, "PubMed": 6}
    assert counts.check() == []


def test_other_reviews_do_not_leak_in(prisma_review):
    other = factories.ReviewFactory()
    records = make_records(other, "PubMed", Arm.DATABASE, 2, "X")
    add_result(records["X1"], TA, INCLUDE)
    add_result(records["X1"], FT, INCLUDE)
    study = Study.objects.create(review=other, label="Other 2000")
    StudyReport.objects.create(study=study, record=records["X1"])
    counts = prisma_counts(prisma_review.review)
    for variable, expected in KNOWN.items():
        assert getattr(counts, variable) == expected, variable


def test_excluded_reports_without_a_reason_are_listed_last(prisma_review):
    add_result(prisma_review.records["R1"], FT, EXCLUDE, superseded=True)  # history only
    record = make_records(prisma_review.review, "Scopus", Arm.DATABASE, 1, "S")["S1"]
    add_result(record, TA, INCLUDE)
    add_retrieval(record)
    add_result(record, FT, EXCLUDE)
    counts = prisma_counts(prisma_review.review)
    assert list(counts.dbr_excluded.items()) == [
        ("Wrong study design", 1),
        ("Wrong population", 2),
        (NO_REASON, 1),
    ]
    assert counts.check() == []


# A review in progress ---------------------------------------------------------------------------


def test_work_in_progress_is_pending_not_failing(prisma_review):
    review = prisma_review.review
    new = make_records(review, "Scopus", Arm.DATABASE, 4, "S")
    # S1 not screened yet; S2 included but not retrieved yet; S3 retrieved, not assessed;
    # S4 included at full text but not linked to a study; W1 (a website) not sought yet.
    add_result(new["S2"], TA, INCLUDE)
    add_result(new["S3"], TA, INCLUDE)
    add_retrieval(new["S3"])
    add_result(new["S4"], TA, INCLUDE)
    add_retrieval(new["S4"])
    add_result(new["S4"], FT, INCLUDE)
    make_records(review, "Trial sites", Arm.WEBSITE, 1, "W")

    counts = prisma_counts(review)
    assert counts.pending == Pending(records=1, dbr_reports=2, other_reports=1, study_links=1)
    assert counts.website_results == 1
    assert counts.records_screened == 13
    assert counts.dbr_sought_reports == 9
    assert counts.new_reports == 4
    assert counts.check() == []
    assert [str(r) for r in counts.rules() if r.status == "in progress"] == [
        "S3 is in progress: 1 record awaits title/abstract screening.",
        "H4 is in progress: 2 reports await retrieval or full-text assessment.",
        "H7 is in progress: other methods: 1 report awaits retrieval or full-text assessment.",
        "H9 is in progress: 1 included report is not linked to a study yet.",
    ]


def test_no_study_yet_while_included_reports_wait_to_be_linked(review):
    record = make_records(review, "PubMed", Arm.DATABASE, 1, "P")["P1"]
    add_result(record, TA, INCLUDE)
    add_retrieval(record)
    add_result(record, FT, INCLUDE)
    counts = prisma_counts(review)
    assert (counts.new_reports, counts.new_studies, counts.pending.study_links) == (1, 0, 1)
    assert counts.check() == []


# Contradictory facts make a rule fail, with the numbers -------------------------------------


def failures(review) -> list[str]:
    return [str(f) for f in prisma_counts(review).check()]


def test_full_text_result_on_a_record_excluded_at_title_abstract(prisma_review):
    add_result(prisma_review.records["P5"], FT, EXCLUDE, reason=prisma_review.reasons["design"])
    assert failures(prisma_review.review) == [
        "H4 fails: reports assessed (6) should be reports sought (6) − not retrieved (1) = 5; "
        "1 full-text result is on records not sought for retrieval."
    ]


def test_full_text_result_on_a_record_marked_not_retrieved(prisma_review):
    add_result(prisma_review.records["P4"], FT, INCLUDE)
    assert failures(prisma_review.review) == [
        "H4 fails: reports assessed (6) should be reports sought (6) − not retrieved (1) = 5; "
        "1 full-text result is on records marked not retrieved."
    ]


def test_title_abstract_result_on_a_duplicate(prisma_review):
    add_result(prisma_review.records["E1"], TA, EXCLUDE)
    assert prisma_counts(prisma_review.review).check() == [
        RuleFailure(
            "S3",
            "reports sought (6) should be records screened (9) − records excluded (4) = 5; "
            "1 title/abstract result is on records removed before screening "
            "(duplicates or removed).",
            "soft",
        )
    ]


def test_full_text_result_on_an_other_methods_duplicate(prisma_review):
    add_result(prisma_review.records["C1"], FT, INCLUDE)
    study = Study.objects.get(label="Jones 2021")
    StudyReport.objects.create(study=study, record=prisma_review.records["C1"])
    assert failures(prisma_review.review) == [
        "H7 fails: other methods: reports assessed (3) should be reports sought (3) − not "
        "retrieved (1) = 2; 1 full-text result is on records not sought for retrieval."
    ]


def test_study_report_on_a_record_excluded_at_full_text(prisma_review):
    study = Study.objects.get(label="Jones 2021")
    StudyReport.objects.create(study=study, record=prisma_review.records["P3"])
    assert failures(prisma_review.review) == [
        "H9 fails: 1 study report links a record without a current full-text include."
    ]


# Each rule on counts built by hand --------------------------------------------------------------


@pytest.fixture
def finished(prisma_review) -> PrismaCounts:
    return prisma_counts(prisma_review.review)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"database_specific_results": {"Embase": 5, "PubMed": 7}},
            "H1 fails: records identified from databases (11) differ from the sum of the "
            "per-source counts (12).",
        ),
        (
            {"register_specific_results": {"ClinicalTrials.gov": 2}},
            "H1 fails: records identified from registers (3) differ from the sum of the "
            "per-source counts (2).",
        ),
        (
            {"records_screened": 10},
            "H2 fails: records screened (10) should be databases (11) + registers (3) − "
            "duplicates (3) − marked ineligible by automation (1) − removed for other reasons "
            "(1) = 9.",
        ),
        (
            {"dbr_sought_reports": 7},
            "S3 fails: reports sought (7) should be records screened (9) − records excluded (3) "
            "= 6.",
        ),
        (
            {"dbr_notretrieved_reports": 0},
            "H4 fails: reports assessed (5) should be reports sought (6) − not retrieved (0) = 6.",
        ),
        (
            {"dbr_excluded": {"Wrong population": 6}, "new_reports": -5},
            "H5 fails: reports excluded (6) exceed reports assessed (5).",
        ),
        (
            {"other_assessed": 3},
            "H7 fails: other methods: reports assessed (3) should be reports sought (3) − not "
            "retrieved (1) = 2.",
        ),
        (
            {"other_excluded": {"Wrong population": 3}, "new_reports": 0},
            "H7 fails: other methods: reports excluded (3) exceed reports assessed (2).",
        ),
        (
            {"new_reports": 4},
            "H8 fails: reports of included studies (4) should be reports included from "
            "databases and registers (2) + from other methods (1) = 3.",
        ),
    ],
)
def test_each_rule_fails_on_inconsistent_counts(finished, changes, expected):
    """A changed count can break more than one equation; the rule it targets says why."""
    counts = replace(finished, **changes)
    rule = expected.split()[0]
    assert [str(f) for f in counts.check() if f.rule == rule] == [expected]


def test_h9_more_studies_than_reports(finished):
    counts = replace(finished, new_studies=4)
    assert counts.check() == [
        RuleFailure("H9", "studies included (4) exceed reports of included studies (3).", "hard")
    ]


def test_h9_reports_but_no_study(finished):
    counts = replace(finished, new_studies=0)
    assert [str(f) for f in counts.check()] == ["H9 fails: no study is included but 3 reports are."]


def test_pending_work_that_does_not_add_up_still_fails(finished):
    counts = replace(finished, pending=Pending(records=1, other_reports=0))
    assert [str(f) for f in counts.check()] == [
        "S3 fails: reports sought (6) should be records screened (9) − records excluded (3) − "
        "records awaiting screening (1) = 5."
    ]


def test_severity(finished):
    counts = replace(finished, records_screened=8)
    assert [(f.rule, f.severity) for f in counts.check()] == [("H2", "hard"), ("S3", "soft")]


# The records behind every count ---------------------------------------------------------------


def test_records_behind_every_count(prisma_review):
    review = prisma_review.review
    # Add pending work so the pending_* variables have records too.
    new = make_records(review, "Scopus", Arm.DATABASE, 3, "S")
    add_result(new["S2"], TA, INCLUDE)
    add_result(new["S3"], TA, INCLUDE)
    add_retrieval(new["S3"])
    add_result(new["S3"], FT, INCLUDE)
    make_records(review, "Trial sites", Arm.WEBSITE, 1, "W")
    counts = prisma_counts(review)
    for variable in VARIABLES:
        if variable.startswith("pending_"):
            expected = getattr(counts.pending, variable.removeprefix("pending_"))
        else:
            expected = getattr(counts, variable)
        if isinstance(expected, dict):
            for key, n in expected.items():
                assert records_behind(review, variable, key).count() == n, (variable, key)
            expected = sum(expected.values())
        assert records_behind(review, variable).count() == (expected or 0), variable


def test_records_behind_names_the_records(prisma_review):
    review, r = prisma_review.review, prisma_review.records

    def titles(variable, reason=None):
        return sorted(records_behind(review, variable, reason).values_list("title", flat=True))

    assert titles("duplicates") == ["E1", "E2", "R3"]
    assert titles("other_duplicates") == ["C1"]
    assert titles("records_excluded_automation") == ["E3"]
    assert titles("records_excluded_human") == ["E4", "P5"]
    assert titles("dbr_notretrieved_reports") == ["P4"]
    assert titles("dbr_excluded", "Wrong population") == ["P3", "R2"]
    assert titles("other_excluded", "Wrong population") == ["C3"]
    assert titles("database_specific_results", "Embase") == ["E1", "E2", "E3", "E4", "E5"]
    assert titles("new_reports") == ["C2", "P1", "P2"]
    assert titles("new_studies") == ["P1", "P2"]  # each study's first included report
    assert titles("pending_records") == []
    assert r["P1"].pk in set(
        records_behind(review, "dbr_sought_reports").values_list("pk", flat=True)
    )


def test_records_behind_an_unknown_variable(review):
    with pytest.raises(ValueError, match="Unknown PRISMA variable 'records'"):
        records_behind(review, "records")


def test_records_behind_an_automation_exclusion_only(review):
    records = make_records(review, "PubMed", Arm.DATABASE, 2, "P")
    add_result(records["P1"], TA, EXCLUDE, method=ResultMethod.AUTOMATION)
    add_result(records["P2"], TA, EXCLUDE, method=ResultMethod.RESOLUTION)
    counts = prisma_counts(review)
    assert (counts.records_excluded_automation, counts.records_excluded_human) == (1, 1)
    assert records_behind(review, "records_excluded_automation").get() == records["P1"]
    assert RetrievalStatus.NOT_RETRIEVED  # keeps the import honest for readers


def test_study_report_on_a_record_never_assessed(prisma_review):
    study = Study.objects.get(label="Jones 2021")
    StudyReport.objects.create(study=study, record=prisma_review.records["R1"])
    StudyReport.objects.create(study=study, record=prisma_review.records["E4"])
    counts = prisma_counts(prisma_review.review)
    assert counts.new_studies == 2
    assert [str(f) for f in counts.check()] == [
        "H9 fails: 2 study reports link records without a current full-text include."
    ]
