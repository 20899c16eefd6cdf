"""The records list's search box: title words, authors, DOI (also as a link), PMID, number."""

import pytest

from screening.record_selectors import record_list
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(review):
    factories.RecordFactory.create_batch(12)  # other reviews' records take the low ids
    batch = factories.ImportBatchFactory(source__review=review)
    make = factories.RecordFactory
    return {
        "smith": make(batch=batch, title="Exercise and mood", authors=["Smith, John", "Lee, A"]),
        "muller": make(batch=batch, title="Sleep", authors=["Müller, Anna"], doi="10.1000/xyz.9"),
        "pmid": make(batch=batch, title="Diet", authors=["Ng, K"], pmid="31234567"),
    }


def found(review, search):
    return sorted(r.number for r in record_list(review, search=search))


def test_search_matches_authors(review, records):
    assert found(review, "smith") == [records["smith"].number]
    assert found(review, "LEE, A") == [records["smith"].number]
    assert found(review, "müller") == [records["muller"].number]


def test_search_matches_a_doi_as_text_or_link(review, records):
    assert found(review, "10.1000/XYZ.9") == [records["muller"].number]
    assert found(review, "https://doi.org/10.1000/xyz.9") == [records["muller"].number]


def test_search_matches_the_record_number_in_the_review_not_the_database_id(review, records):
    assert [r.number for r in records.values()] == [1, 2, 3]
    assert found(review, "2") == [2]
    assert found(review, "Record 3") == [3]
    assert found(review, "#1") == [1]
    assert found(review, str(records["pmid"].pk)) == []  # an id from another numbering
    assert found(review, "31234567") == [3]
