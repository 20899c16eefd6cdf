"""A review with known PRISMA 2020 counts in every box (see `known` for the expected values).

Sources: PubMed and Embase (databases), ClinicalTrials.gov (a register), Citation searching.

    PubMed   P1..P6   P6 removed by automation
    Embase   E1..E5   E1 = duplicate of P1, E2 = duplicate of P2, E5 removed for other reasons
    Register R1..R3   R3 = duplicate of E3
    Citation C1..C4   C1 = duplicate of P4 (other methods: not in box B1)

Title/abstract (databases and registers): P1 P2 P3 P4 R1 R2 include; P5 exclude (after a
superseded include); E3 exclude by automation; E4 exclude. Retrieval: P4 and C4 not retrieved,
the others retrieved. Full text: P1 P2 C2 include; P3 (after a superseded include) and R2
"Wrong population", R1 "Wrong study design", C3 "Wrong population". Studies: "Smith 2020"
(P1 and C2), "Jones 2021" (P2).
"""

from types import SimpleNamespace

import pytest
from django.utils import timezone

from analysis.models import Study, StudyReport
from review.models import Arm, Removal
from screening.models import (
    ExclusionReason,
    ResultMethod,
    Retrieval,
    RetrievalStatus,
    Stage,
    StageResult,
    Verdict,
)
from tests import factories


def add_result(
    record, stage, verdict, *, reason=None, method=ResultMethod.SINGLE, superseded=False
):
    return StageResult.objects.create(
        review=record.review,
        record=record,
        stage=stage,
        verdict=verdict,
        reason=reason,
        method=method,
        superseded_at=timezone.now() if superseded else None,
    )


def add_retrieval(record, status=RetrievalStatus.RETRIEVED):
    return Retrieval.objects.create(review=record.review, record=record, status=status)


TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
INCLUDE, EXCLUDE = Verdict.INCLUDE, Verdict.EXCLUDE


def make_records(review, name, arm, count, prefix):
    batch = factories.ImportBatchFactory(
        source=factories.SourceFactory(review=review, name=name, arm=arm)
    )
    return {
        f"{prefix}{i}": factories.RecordFactory(batch=batch, title=f"{prefix}{i}")
        for i in range(1, count + 1)
    }


@pytest.fixture
def prisma_review(review):
    r = {}
    r |= make_records(review, "PubMed", Arm.DATABASE, 6, "P")
    r |= make_records(review, "Embase", Arm.DATABASE, 5, "E")
    r |= make_records(review, "ClinicalTrials.gov", Arm.REGISTER, 3, "R")
    r |= make_records(review, "Citation searching", Arm.CITATION, 4, "C")
    for dup, primary in (("E1", "P1"), ("E2", "P2"), ("R3", "E3"), ("C1", "P4")):
        r[dup].duplicate_of = r[primary]
        r[dup].save()
    r["P6"].removed_reason = Removal.AUTOMATION
    r["P6"].save()
    r["E5"].removed_reason = Removal.OTHER
    r["E5"].save()

    # Positions put "Wrong study design" before "Wrong population" (not alphabetical).
    design = ExclusionReason.objects.create(review=review, label="Wrong study design", position=1)
    population = ExclusionReason.objects.create(review=review, label="Wrong population", position=2)
    ExclusionReason.objects.create(review=review, label="Wrong outcome", position=3)  # unused

    for key in ("P1", "P2", "P3", "P4", "R1", "R2"):
        add_result(r[key], TA, INCLUDE)
    add_result(r["P5"], TA, INCLUDE, superseded=True)
    add_result(r["P5"], TA, EXCLUDE)
    add_result(r["E3"], TA, EXCLUDE, method=ResultMethod.AUTOMATION)
    add_result(r["E4"], TA, EXCLUDE)

    for key in ("P1", "P2", "P3", "R1", "R2", "C2", "C3"):
        add_retrieval(r[key])
    add_retrieval(r["P4"], RetrievalStatus.NOT_RETRIEVED)
    add_retrieval(r["C4"], RetrievalStatus.NOT_RETRIEVED)

    for key in ("P1", "P2", "C2"):
        add_result(r[key], FT, INCLUDE)
    add_result(r["P3"], FT, INCLUDE, superseded=True)
    add_result(r["P3"], FT, EXCLUDE, reason=population)
    add_result(r["R2"], FT, EXCLUDE, reason=population)
    add_result(r["R1"], FT, EXCLUDE, reason=design)
    add_result(r["C3"], FT, EXCLUDE, reason=population)

    smith = Study.objects.create(review=review, label="Smith 2020")
    jones = Study.objects.create(review=review, label="Jones 2021")
    StudyReport.objects.create(study=smith, record=r["P1"])
    StudyReport.objects.create(study=smith, record=r["C2"])
    StudyReport.objects.create(study=jones, record=r["P2"])
    return SimpleNamespace(
        review=review, records=r, reasons={"design": design, "population": population}
    )


#: every count of `prisma_review`
KNOWN = {
    "database_results": 11,
    "register_results": 3,
    "website_results": None,
    "organisation_results": None,
    "citations_results": 4,
    "duplicates": 3,
    "excluded_automatic": 1,
    "excluded_other": 1,
    "records_screened": 9,
    "records_excluded": 3,
    "records_excluded_human": 2,
    "records_excluded_automation": 1,
    "dbr_sought_reports": 6,
    "dbr_notretrieved_reports": 1,
    "dbr_assessed": 5,
    "dbr_excluded": {"Wrong study design": 1, "Wrong population": 2},
    "other_sought_reports": 3,
    "other_notretrieved_reports": 1,
    "other_assessed": 2,
    "other_excluded": {"Wrong population": 1},
    "new_studies": 2,
    "new_reports": 3,
    "database_specific_results": {"Embase": 5, "PubMed": 6},
    "register_specific_results": {"ClinicalTrials.gov": 3},
    "other_duplicates": 1,
    "other_removed": 0,
}
