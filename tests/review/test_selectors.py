import pytest

from analysis.models import StudyReport
from review.selectors import source_counts
from screening.models import Retrieval, StageResult
from screening.prisma import prisma_counts
from tests import factories

pytestmark = pytest.mark.django_db


def _settle(record, stage, verdict, **kwargs):
    return StageResult.objects.create(
        review=record.review, record=record, stage=stage, verdict=verdict, method="single", **kwargs
    )


def test_counts_follow_the_stored_facts(review, django_assert_max_num_queries):
    pubmed = factories.ImportBatchFactory(source__review=review, source__name="PubMed")
    embase = factories.ImportBatchFactory(source__review=review, source__name="Embase")
    citations = factories.ImportBatchFactory(
        source__review=review, source__name="Reference lists", source__arm="citation"
    )
    a, b, c, d = (factories.RecordFactory(batch=pubmed) for _ in range(4))
    e = factories.RecordFactory(batch=embase, duplicate_of=a)
    factories.RecordFactory(batch=embase, removed_reason="automation")
    factories.RecordFactory(batch=embase, removed_reason="other")
    f = factories.RecordFactory(batch=citations)
    _settle(a, "title_abstract", "include")
    _settle(b, "title_abstract", "include")
    _settle(c, "title_abstract", "exclude")
    old = _settle(d, "title_abstract", "exclude")
    old.superseded_at = old.created_at
    old.save()
    _settle(d, "title_abstract", "include")  # only the current result counts
    Retrieval.objects.create(review=review, record=b, status="not_retrieved")
    _settle(a, "full_text", "include")
    _settle(d, "full_text", "exclude", reason=review.exclusion_reasons.create(label="Wrong design"))
    study = review.studies.create(label="Alpha 2020")
    StudyReport.objects.create(study=study, record=a)
    review.studies.create(label="No reports yet")

    with django_assert_max_num_queries(3):
        sources = source_counts(review)
    counts = prisma_counts(review)

    assert (counts.database_results, counts.citations_results) == (7, 1)
    assert [(s.source.name, s.records, s.duplicates, s.imports) for s in sources] == [
        ("Embase", 3, 1, 1),
        ("PubMed", 4, 0, 1),
        ("Reference lists", 1, 0, 1),
    ]
    assert (counts.duplicates, counts.excluded_automatic, counts.excluded_other) == (1, 1, 1)
    assert counts.records_screened == 4  # the citation record is not screened at title/abstract
    assert (counts.dbr_sought_reports, counts.records_excluded) == (3, 1)
    assert counts.dbr_notretrieved_reports == 1
    assert counts.dbr_assessed == 2 and counts.dbr_excluded == {"Wrong design": 1}
    assert (counts.new_studies, counts.new_reports) == (1, 1)
    assert e.duplicate_of == a and f.batch.source.is_other_method


def test_an_empty_review_has_zero_everywhere(review):
    counts = prisma_counts(review)
    assert counts.database_results == 0 and counts.records_screened == 0
    assert source_counts(review) == [] and counts.check() == []
