"""EndNote tagged (Refer) and ProQuest plain-text exports (issue 16).

The samples are in tests/data/importers/ (provenance in tests/data/README.md)."""

from pathlib import Path

import pytest

from review.importers import FORMATS, detect_format, parse

DATA = Path(__file__).resolve().parents[1] / "data" / "importers"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def fields(record) -> dict:
    out = record.as_fields()
    out.pop("raw")
    return out


def test_the_new_formats_are_importer_formats():
    assert "endnote_tagged" in FORMATS
    assert "proquest" in FORMATS


# -- EndNote tagged (Refer) -------------------------------------------------------------------


def test_endnote_tagged_export():
    result = parse(read("endnote_tagged.txt"), "My EndNote Library.txt")
    assert result.format == "endnote_tagged"
    assert result.ok
    first, chapter, prisma = result.records
    assert first.line == 1
    assert fields(first) == {
        "title": "Quantifying heterogeneity in a meta-analysis",
        "abstract": "The extent of heterogeneity in a meta-analysis partly determines the "
        "difficulty in drawing overall conclusions.",
        "authors": ["Higgins, Julian P. T.", "Thompson, Simon G."],
        "year": 2002,
        "journal": "Statistics in Medicine",  # %J wins over %B
        "volume": "21",
        "issue": "11",
        "pages": "1539-1558",
        "doi": "10.1002/sim.1186",
        "pmid": "12111919",  # %M of a record whose database (%~) is PubMed
        "url": "https://onlinelibrary.wiley.com/doi/10.1002/sim.1186",
        "keywords": ["heterogeneity", "meta-analysis", "I2"],  # one per continuation line
        "language": "eng",
    }
    assert first.raw["A"] == ["Higgins, Julian P. T.", "Thompson, Simon G."]
    assert first.raw["0"] == ["Journal Article"]
    # A book section: the book title (%B) stands for the journal; editors are not authors.
    assert chapter.line == 23
    assert chapter.authors == ["Deeks, Jonathan J.", "Higgins, Julian P. T.", "Altman, Douglas G."]
    assert (chapter.journal, chapter.pages, chapter.doi, chapter.keywords) == (
        "Cochrane Handbook for Systematic Reviews of Interventions",
        "241-284",
        "10.1002/9781119536604.ch10",
        ["meta-analysis", "heterogeneity"],
    )
    # Wrapped lines are joined; an accession number without a PubMed database is not a PMID.
    assert prisma.line == 47
    assert prisma.title == (
        "The PRISMA 2020 statement: an updated guideline for reporting systematic reviews"
    )
    assert prisma.abstract == (
        "The PRISMA statement was designed to help systematic reviewers. It was updated in 2020."
    )
    assert (prisma.year, prisma.pmid, prisma.pages) == (2021, "", "n71")


def test_endnote_tagged_record_without_title_is_a_warning_naming_it():
    result = parse(read("endnote_tagged.txt"), "library.txt")
    assert result.errors == []
    assert [(p.line, p.severity) for p in result.warnings] == [(40, "warning")]
    message = result.warnings[0].message
    assert "line 40" in message and "record 3" in message and "no title" in message


def test_endnote_tagged_with_windows_line_endings_and_doi_url():
    result = parse(read("endnote_tagged_crlf.txt"), "export.txt")
    assert (result.format, result.problems) == ("endnote_tagged", [])
    (record,) = result.records
    assert (record.title, record.authors, record.year, record.journal, record.doi) == (
        "Windows line endings in a tagged export",
        ["Doe, Jane"],
        2019,
        "Trials",
        "10.1186/s13063-019-3000-1",
    )


def test_endnote_tagged_text_before_the_first_record_is_a_warning():
    data = b"Exported from EndNote\n\n%0 Journal Article\n%T A title\n%A Doe, J.\n"
    result = parse(data, "x.enw")
    assert [r.title for r in result.records] == ["A title"]
    assert [(p.line, p.severity) for p in result.problems] == [(1, "warning")]
    assert "Line 1" in result.problems[0].message


# -- ProQuest plain text ----------------------------------------------------------------------


def test_proquest_plain_text_export():
    result = parse(read("proquest.txt"), "ProQuestDocuments-2026-12-06.txt")
    assert result.format == "proquest"
    assert result.errors == []
    first, second = result.records
    assert first.line == 15  # the "Document 1 of 3" line
    assert fields(first) == {
        "title": "Effects of mindfulness on anxiety in nursing students: A randomized "
        "controlled trial",
        "abstract": "Background: Nursing students report high anxiety. Methods: We randomised "
        "120 students to an eight-week mindfulness course or a waiting list. Results: Anxiety "
        "fell more in the course group.",
        "authors": ["Kim, Soo-Jin", "O'Brien, Mary"],
        "year": 2020,
        "journal": "Nurse Education Today",
        "volume": "95",
        "issue": "",
        "pages": "104596",
        "doi": "10.1016/j.nedt.2020.104596",
        "pmid": "",
        "url": "https://www.proquest.com/scholarly-journals/effects-mindfulness-on-anxiety-"
        "nursing-students/docview/2460000001/se-2?accountid=12345",
        "keywords": [
            "Anxiety",
            "Mindfulness",
            "Nursing students",
            "Randomized controlled trials",
            "Anxiety -- prevention & control",
            "Humans",
            "stress",
            "education",
        ],
        "language": "English",
    }
    assert first.raw["ProQuest document ID"] == ["2460000001"]
    assert second.line == 83
    assert (second.title, second.authors, second.issue, second.pages, second.pmid) == (
        "Nurse staffing and patient outcomes: a cross-sectional study",
        ["Aiken, Linda H"],
        "2",
        "143-153",
        "20800000",
    )


def test_proquest_record_without_title_is_a_warning_naming_it():
    result = parse(read("proquest.txt"), "ProQuestDocuments.txt")
    assert len(result.records) == 2
    assert [(p.line, p.severity) for p in result.problems] == [(125, "warning")]
    message = result.problems[0].message
    assert "line 125" in message and "Document 3" in message and "no title" in message


def test_proquest_heading_stands_for_a_missing_title_field():
    data = (
        b"____________________________________________________________\n\n"
        b"Document 1 of 1\n\nA heading only\n\nAuthor: Doe, Jane\n\nPublication year: 2001\n\n"
        b"Abstract: None available.\n\n"
        b"ProQuest document ID: 1\n\n"
        b"____________________________________________________________\n"
    )
    result = parse(data, "pq.txt")
    assert result.format == "proquest"
    assert [(r.line, r.title, r.authors, r.year, r.abstract) for r in result.records] == [
        (3, "A heading only", ["Doe, Jane"], 2001, "")
    ]


# -- detection --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("endnote_tagged.txt", "endnote_tagged"),
        ("endnote_tagged_crlf.txt", "endnote_tagged"),
        ("proquest.txt", "proquest"),
    ],
)
@pytest.mark.parametrize("filename", ["download.txt", "export", "records.enw"])
def test_new_formats_are_detected_by_content(name, expected, filename):
    assert detect_format(read(name), filename) == expected


def test_a_percent_sign_in_prose_is_not_an_endnote_export():
    from review.importers import ImportFileError

    with pytest.raises(ImportFileError):
        detect_format(b"%0 of the trials were blinded\nthe rest were not\n", "notes.txt")
