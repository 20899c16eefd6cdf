from hypothesis import given
from hypothesis import strategies as st

from review import keys


def test_doi_loses_url_prefix_and_case():
    assert keys.normalise_doi("https://doi.org/10.1371/Journal.PONE.0249102") == (
        "10.1371/journal.pone.0249102"
    )
    assert keys.normalise_doi("http://dx.doi.org/10.1000/xyz.") == "10.1000/xyz"
    assert keys.normalise_doi("doi: 10.1000/ABC") == "10.1000/abc"


def test_something_that_is_not_a_doi_gives_empty():
    assert keys.normalise_doi("not a doi") == ""
    assert keys.normalise_doi("") == ""
    assert keys.normalise_doi(None) == ""


def test_pmid_from_url_prefix_or_digits():
    assert keys.normalise_pmid("https://pubmed.ncbi.nlm.nih.gov/24847228") == "24847228"
    assert keys.normalise_pmid("PMID: 24847228") == "24847228"
    assert keys.normalise_pmid(24847228) == "24847228"
    assert keys.normalise_pmid("1234567890") == ""  # longer than any PMID
    assert keys.normalise_pmid(None) == ""


def test_title_key_folds_accents_case_and_punctuation():
    assert keys.title_key("Éffects of   X-ray: a Trial!") == "effects of x ray a trial"


def test_first_author_key_reads_both_name_orders():
    assert keys.first_author_key(["Sep, Milou S. C.", "Joëls, M."]) == "sep"
    assert keys.first_author_key(["Marian Joëls"]) == "joels"
    assert keys.first_author_key(["van de Schoot, Rens"]) == "vandeschoot"
    assert keys.first_author_key([]) == ""


@given(st.text())
def test_normalisers_are_idempotent(text):
    for normalise in (keys.normalise_doi, keys.normalise_pmid, keys.title_key):
        once = normalise(text)
        assert normalise(once) == once


@given(st.from_regex(r"10\.\d{4,6}/[A-Za-z0-9.()-]{0,19}[A-Za-z0-9]", fullmatch=True))
def test_any_doi_survives_any_prefix(doi):
    for prefix in ("", "doi:", "https://doi.org/", "http://dx.doi.org/", "DOI: "):
        assert keys.normalise_doi(prefix + doi) == doi.lower()
