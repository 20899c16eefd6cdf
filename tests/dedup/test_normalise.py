"""Field normalisers on values as real exports write them."""

from __future__ import annotations

import pytest

from review.dedup import record_from_mapping
from review.dedup.normalise import (
    author_key,
    demojibake,
    dois_conflict,
    issues_conflict,
    journal_tokens,
    journals_compatible,
    norm_issns,
    norm_issue_span,
    norm_journal,
    norm_pages,
    norm_title,
    norm_volume,
    notice_kind,
    record_issue,
    split_authors,
)
from review.dedup.prepare import clean_doi


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("221-8", ("221", "228")),
        ("221-228", ("221", "228")),
        ("06-Oct", ("6", "10")),  # Excel turned 6-10 into a date
        ("01-Nov", ("1", "11")),
        ("Oct-17", ("10", "17")),
        ("119-30", ("119", "130")),
        ("1405–1412", ("1405", "1412")),
        ("S31-S32", ("s31", "s32")),
        ("e1002", ("e1002", "")),
        ("893", ("893", "")),
        ("1428-1428", ("1428", "")),
        ("", ("", "")),
        ("no pagination", ("", "")),
    ],
)
def test_pages(raw, expected):
    assert norm_pages(raw) == expected


def test_run_together_authors():
    raw = "Adingupu D. D.Gronros J.El Hachmane M.Gan L. M.Jonsson-Rylander A. C."
    assert split_authors(raw) == [
        "Adingupu D. D.", "Gronros J.", "El Hachmane M.", "Gan L. M.", "Jonsson-Rylander A. C.",
    ]  # fmt: skip
    assert split_authors("Schindler E. A. D.Wallace R. M.D'Souza D. C.")[-1] == "D'Souza D. C."


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Smith, John; Jones, K.", ["Smith, John", "Jones, K."]),
        ("Smith J, Jones KL, Brown A", ["Smith J", "Jones KL", "Brown A"]),
        ("Smith, John", ["Smith, John"]),
        ("Smith J and Jones K", ["Smith J", "Jones K"]),
        ("", []),
    ],
)
def test_author_list_formats(raw, expected):
    assert split_authors(raw) == expected


@pytest.mark.parametrize(
    "name, key",
    [
        ("Lewis G. F.", ("lewis", "gf")),
        ("Lewis, Gary F.", ("lewis", "gf")),
        ("Gary F. Lewis", ("lewis", "gf")),
        ("Lewis GF", ("lewis", "gf")),
        ("Von Deimling A.", ("vondeimling", "a")),
        ("König R.", ("konig", "r")),
    ],
)
def test_author_key(name, key):
    assert author_key(name) == key


def test_mojibake_and_r_escapes_repaired():
    assert demojibake("KÃ¶nig R.") == "König R."
    assert demojibake("Hrub<U+1EF3> R.") == "Hrubỳ R."
    assert demojibake("plain") == "plain"


def test_titles():
    assert norm_title("Intestinal <i>lipoprotein</i> overproduction!") == (
        "intestinal lipoprotein overproduction"
    )
    with_note = "White matter in females.[Erratum appears in Neurology. 2017;89(13):1430]"
    assert norm_title(with_note) == "white matter in females"
    assert norm_title("[Temozolomide: Temodal]") == norm_title("Temozolomide: Temodal. [Japanese]")
    assert notice_kind(norm_title("Erratum: Intestinal lipoprotein overproduction")) == "notice"
    assert notice_kind(norm_title("Reply to: a letter on statins")) == "notice"
    assert notice_kind(norm_title("Intestinal lipoprotein overproduction")) == ""


def test_journals():
    assert journals_compatible(
        journal_tokens("curr opin lipidol"), journal_tokens("current opinion in lipidology")
    )
    assert journals_compatible(
        journal_tokens("j neurosci"), journal_tokens("journal of neuroscience")
    )
    assert not journals_compatible(journal_tokens("diabetes"), journal_tokens("diabetes care"))
    assert norm_journal("Neurology. Conference: 69th AAN Annual Meeting") == ("neurology", True)
    assert (
        norm_journal("Gan to Kagaku Ryoho [Japanese Journal of Cancer]")[0] == "gan to kagaku ryoho"
    )


def test_volume_issn_doi():
    assert norm_volume("81 (10 Supplement 1)") == "81"
    assert norm_volume("1)") == ""  # mangled supplement number: unknown, not a conflict
    assert norm_issns("0957-9672 (Print)\r\n0957-9672") == frozenset({"09579672"})
    assert (
        clean_doi("http://dx.doi.org/10.1097/MOL.0b013e3282ffaf82")
        == "10.1097/mol.0b013e3282ffaf82"
    )
    assert clean_doi("10.1016/s1957-2557%252817%252930055-x") == "10.1016/s1957-2557(17)30055-x"
    assert clean_doi("10.1002/dmrr.2604/pdf") == "10.1002/dmrr.2604"
    assert clean_doi("10.1002/(ISSN)1744-4292") == ""  # a journal's DOI, not an article's
    assert dois_conflict("10.1016/j.a.2018.01", "10.1016/j.a.2018.02") == "family"
    assert dois_conflict("10.1016/j.a.2018.01", "10.1097/x.1") == "other"
    assert dois_conflict("10.1093/eurheartj/ehx502", "10.1093/eurheartj/ehx502.p4339") == ""


def test_record_from_mapping_is_tolerant():
    row = {
        "title": "Intestinal lipoprotein overproduction",
        "authors": "Adeli K.Lewis G. F.",
        "year": "2008",
        "journal": "",
        "secondary_title": "Current Opinion in Lipidology",
        "pages": "221-8",
        "doi": "",
        "url": "https://www.ncbi.nlm.nih.gov/pubmed/18460911",
        "abstract": float("nan"),
    }
    rec = record_from_mapping(row, 7)
    assert rec.id == 7
    assert rec.authors == ("Adeli K.", "Lewis G. F.")
    assert rec.year == 2008
    assert rec.journal == "Current Opinion in Lipidology"
    assert rec.pmid == "18460911"
    assert rec.abstract == ""
    listed = record_from_mapping({"authors": ["A, B", "C, D"], "year": 1999}, "x")
    assert listed.authors == ("A, B", "C, D") and listed.year == 1999
    doi_in_url = record_from_mapping({"url": "https://x.org/?rft_id=info:doi/10.1000%2Fabc&z=1"}, 1)
    assert doi_in_url.doi == "10.1000/abc"


@pytest.mark.parametrize(
    "raw",
    [
        # complete, as Ovid appends it
        "Screening in adults.[Erratum appears in Lancet. 2019;393(10170):406]",
        # cut off by the export's field length: no closing bracket
        "Screening in adults.[Erratum appears in J Clin",
        "Screening in adults.[Erratum appears in Lancet Oncol. 201",
        # nested brackets inside the note
        "Screening in adults.[Erratum appears in Brain Inj. 2013;27(3):377 Note: Small, S [added]]",
        # several notes in a row
        "Screening in adults... [corrected][published erratum appears in Brain Inj. 2013;27:377]",
        "Screening in adults. [97 refs][Erratum appears in J Low Genit Tract Dis. 2008;12(3):255]",
    ],
)
def test_erratum_notes_appended_to_titles_are_dropped(raw):
    assert norm_title(raw) == "screening in adults"
    assert notice_kind(norm_title(raw)) == ""


@pytest.mark.parametrize(
    "title",
    [
        "Erratum: Screening in adults",
        "Erratum to: Screening in adults [Lancet 2019;393:406]",
        "Correction to: Screening in adults",
        "Corrigendum to Screening in adults [J Clin Virol 2006;37(2):137]",
        "Published erratum: Screening in adults",
    ],
)
def test_real_erratum_notices_stay_notices(title):
    assert notice_kind(norm_title(title)) == "notice"


@pytest.mark.parametrize(
    "a, b, conflict",
    [
        ("3", "03", False),
        ("3", "3-4", False),
        ("4", "3-4", False),
        ("3/4", "4", False),
        ("3", "Suppl 1", False),  # a supplement's number is not the issue
        ("3", "", False),  # one record lacks it
        ("Jan", "3", False),  # not a number: unknown
        ("1", "2", True),
        ("3-4", "5", True),
        ("12", "2", True),
    ],
)
def test_issues_conflict(a, b, conflict):
    assert issues_conflict(norm_issue_span(a), norm_issue_span(b)) is conflict


def test_issue_field_holding_an_article_number():
    # Embase: `19 (12) (no pagination)` in the volume, the article number in the issue field
    assert record_issue("19 (12) (no pagination)", "104", "104") == (12, 12)
    assert record_issue("9 (no pagination)", "93", "93") is None
    assert record_issue("19", "104", "104") is None  # the issue repeats the article number
    assert record_issue("22", "3", "139") == (3, 3)
    assert not issues_conflict(record_issue("11", "791", ""), (3, 3))  # two numbering schemes
    assert issues_conflict((10170, 10170), (10171, 10171))
