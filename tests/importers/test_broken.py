"""The broken corpus: each file gives a clear message naming the file (ImportFileError) or the
line (Problem), and the result has errors, so the caller writes nothing."""

import time

import pytest

from review.importers import ImportFileError, Problem, parse
from tests.importers.conftest import read


def broken(name: str) -> bytes:
    return read(f"broken/{name}")


def test_truncated_ris():
    result = parse(broken("truncated.ris"), "truncated.ris")
    assert result.errors == [
        Problem(
            7,
            "Entry starting at line 7 is not closed: the file ends at line 10 without an ER tag "
            "(was the download cut short?).",
            "error",
        )
    ]
    assert not result.ok
    assert result.errors[0].describe("truncated.ris").startswith("truncated.ris: Entry starting")


def test_ris_missing_er():
    result = parse(broken("missing_er.ris"), "missing_er.ris")
    assert [p.message for p in result.errors] == [
        "Entry starting at line 1 has no ER tag before the next TY (line 5); it was closed there."
    ]
    assert [r.line for r in result.records] == [1, 5]


def test_ris_entry_without_title():
    # Left out with a warning naming it; the other entries are imported.
    result = parse(broken("no_title_entry.ris"), "no_title_entry.ris")
    assert result.problems == [
        Problem(4, "Entry starting at line 4 (record 2) has no title; it was left out.", "warning")
    ]
    assert [r.title for r in result.records] == ["Has a title"]


def test_ris_entry_without_title_in_strict_mode():
    result = parse(broken("no_title_entry.ris"), "no_title_entry.ris", strict=True)
    assert result.errors == [
        Problem(
            4,
            "Entry starting at line 4 (record 2) has no title; in strict mode a file with a "
            "title-less record is not imported.",
            "error",
        )
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("binary.ris", "binary.ris: this is not a text export: it looks like a PNG image."),
        (
            "archive.ris",
            "archive.ris: this is not a text export: it looks like a ZIP archive (or an "
            "Excel/Word file).",
        ),
        ("empty.ris", "empty.ris: the file is empty."),
        ("malformed.xml", "malformed.xml, line 5: the XML is not well-formed (mismatched tag)."),
    ],
)
def test_unreadable_files_raise(name, message):
    with pytest.raises(ImportFileError) as caught:
        parse(broken(name), name)
    assert str(caught.value) == message
    assert caught.value.filename == name


def test_binary_file_with_explicit_format_still_raises():
    with pytest.raises(ImportFileError, match="PNG image"):
        parse(broken("binary.ris"), "binary.ris", "ris")


def test_whitespace_only_file_is_empty():
    with pytest.raises(ImportFileError, match="the file is empty"):
        parse(b"  \r\n\n\t", "blank.csv")


XML_ATTACK_MESSAGE = (
    "the XML contains a DTD with declarations (<!DOCTYPE … [ … ]>); entity declarations there "
    "are how 'billion laughs' and external-entity attacks work, so the file was refused without "
    "expanding anything. Export it again from the database."
)


@pytest.mark.parametrize("name", ["bomb.xml", "xxe.xml"])
def test_xml_bomb_and_external_entity_are_refused_quickly(name):
    started = time.perf_counter()
    with pytest.raises(ImportFileError) as caught:
        parse(broken(name), name)
    assert time.perf_counter() - started < 1
    assert str(caught.value) == f"{name}, line 2: {XML_ATTACK_MESSAGE}"


def test_pubmed_doctype_with_external_dtd_is_accepted_but_not_fetched():
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle//EN"'
        b' "http://127.0.0.1:9/never.dtd">\n<PubmedArticleSet><PubmedArticle><MedlineCitation>'
        b"<PMID>1</PMID><Article><ArticleTitle>T</ArticleTitle></Article></MedlineCitation>"
        b"</PubmedArticle></PubmedArticleSet>"
    )
    result = parse(data, "pubmed.xml")
    assert [(r.line, r.title, r.pmid) for r in result.records] == [(3, "T", "1")]


def test_csv_without_title_column():
    result = parse(broken("no_title.csv"), "no_title.csv")
    assert result.errors == [
        Problem(
            1,
            'Row 1: no title column was found. Columns found: "Authors", "Year", "Source title", '
            '"DOI". Rename the title column to "Title" or choose it in the column mapping.',
            "error",
        )
    ]
    assert result.records == []
    # The headers are still reported so that a person can choose the title column.
    assert result.headers == ["Authors", "Year", "Source title", "DOI"]


def test_csv_row_with_too_many_cells():
    result = parse(broken("bad_rows.csv"), "bad_rows.csv")
    assert [p.message for p in result.errors] == [
        "Row at line 3 has 4 cells but the header has 2; it was skipped. Check for an unquoted "
        "delimiter or quote in that row."
    ]


def test_broken_bibtex_block():
    result = parse(broken("broken.bib"), "broken.bib")
    assert [p.line for p in result.errors] == [6]
    assert result.errors[0].message.startswith(
        "Entry starting at line 6 could not be read as BibTeX (Unexpected block start:"
    )
    assert [r.title for r in result.records] == ["A fine entry", "The next entry"]


def test_mixed_encodings_decode_with_a_warning():
    result = parse(broken("mixed_encoding.ris"), "mixed.ris")
    assert result.encoding == "utf-8+cp1252"
    assert result.problems == [
        Problem(
            7,
            "Line 7 is not valid UTF-8 although the rest of the file is (mixed encodings); it "
            "was read as Windows-1252. Check the accented characters there.",
            "warning",
        )
    ]
    assert [r.title for r in result.records] == [
        "Étude sur la santé publique",
        "Café au lait and cancer",
    ]
    assert result.records[1].authors == ["Lefèvre, Zoë"]
    assert result.ok


@pytest.mark.parametrize("fmt", ["ris", "medline", "csv"])
def test_ten_megabyte_abstract_is_an_error_naming_line_and_field(fmt):
    abstract = "word " * 2_000_000  # 10 MB
    if fmt == "ris":
        data = f"TY  - JOUR\nTI  - Ok\nER  - \n\nTY  - JOUR\nTI  - Huge\nAB  - {abstract}\nER  - \n"
        where = "Entry starting at line 5"
    elif fmt == "medline":
        data = f"PMID- 1\nTI  - Ok\n\nPMID- 2\nTI  - Huge\nAB  - {abstract}\n"
        where = "Entry starting at line 4"
    else:
        data = f'Title,Abstract\nOk,\nHuge,"{abstract}"\n'
        where = "Row 3"
    started = time.perf_counter()
    result = parse(data.encode(), f"big.{'nbib' if fmt == 'medline' else fmt}")
    assert time.perf_counter() - started < 10
    size = len(abstract.strip()) if fmt != "csv" else len(abstract)
    assert [p.message for p in result.errors] == [
        f"{where}: the abstract field has {size:,} characters, more than the limit of "
        "1,000,000; the file was not imported."
    ]
    assert [r.title for r in result.records] == ["Ok"]


def test_year_out_of_range_is_a_warning():
    data = b"TY  - JOUR\nTI  - Old\nPY  - 0999\nER  - \nTY  - JOUR\nTI  - Odd\nPY  - n.d.\nER  - \n"
    result = parse(data, "y.ris")
    assert [r.year for r in result.records] == [None, None]
    assert result.problems == [
        Problem(
            1,
            "Entry starting at line 1: the year 999 is out of range (1000-2999); the year "
            "was left empty.",
            "warning",
        ),
        Problem(
            5, "Entry starting at line 5: 'n.d.' is not a year; the year was left empty.", "warning"
        ),
    ]
    assert result.ok


def test_text_before_first_ty_is_a_warning_with_its_lines():
    data = b"Exported from Ovid\nDate: today\n\nTY  - JOUR\nTI  - A\nER  - \n"
    result = parse(data, "o.ris")
    assert result.problems == [
        Problem(
            1,
            "Lines 1-3: text outside any entry (not between TY and ER tags) was ignored.",
            "warning",
        )
    ]
    assert result.records[0].line == 4


def test_file_with_no_records_is_an_error():
    result = parse(b"Title,Year\n", "empty.csv")
    assert [p.message for p in result.errors] == [
        "Line 1: no CSV records were found in the file; is it the right file and format?"
    ]


def test_unknown_format():
    with pytest.raises(ImportFileError) as caught:
        parse(b"just some notes\nnothing bibliographic\n", "notes.txt")
    assert str(caught.value).startswith("notes.txt: the format could not be recognised")
    with pytest.raises(ImportFileError, match="unknown format 'docx'"):
        parse(b"x", "x.docx", "docx")


def test_old_xls_is_refused_with_advice():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    with pytest.raises(ImportFileError, match=r"Excel 97-2003 \(.xls\)"):
        parse(data, "export.xls")


def test_damaged_xlsx():
    with pytest.raises(ImportFileError, match=r"not a readable \.xlsx workbook"):
        parse(b"PK\x03\x04garbage", "export.xlsx")
