"""Real exports that were misread (issue 16): keywords one per line, co-authors with the same
name, `… [doi]` tags, title-less records, tabs in PubMed abstracts, GBK-encoded BibTeX.

The samples in data/quirks/ are written in the exact layout of each tool (tests/data/README).
"""

import pytest

from review import keys
from review.importers import parse
from review.importers.encoding import decode

from .conftest import read


def quirk(name: str) -> bytes:
    return read(f"quirks/{name}")


# -- 1. keywords one per line -------------------------------------------------------------------


def test_endnote_ris_keywords_on_untagged_lines_are_separate_keywords():
    result = parse(quirk("endnote_keywords.ris"), "endnote_keywords.ris")
    assert result.ok, result.problems
    first, second = result.records
    assert first.keywords == [
        "Adult",
        "Diabetes Mellitus, Type 2/*therapy",
        "Exercise Therapy/*methods",
        "Humans",
        "Randomized Controlled Trials as Topic",
    ]
    assert second.keywords == [
        "Aged",
        "Aged, 80 and over",
        "Frail Elderly/statistics & numerical data",
        "Humans",
    ]
    # The other fields of the entry are unaffected by the keyword lines.
    assert first.language == "eng"
    assert first.year == 2019


def test_ris_keywords_one_kw_tag_each_stay_separate():
    result = parse(quirk("several_kw.ris"), "several_kw.ris")
    assert result.records[0].keywords == ["telehealth", "stroke", "rehabilitation"]


def test_ris_keyword_wrapped_on_an_indented_line_is_one_keyword():
    # Ovid indents continuation lines of a long field; such a line continues the keyword.
    data = (
        b"TY  - JOUR\nTI  - T\nKW  - Antineoplastic Combined Chemotherapy Protocols/tu\n"
        b"   [Therapeutic Use]\nKW  - Humans\nER  - \n"
    )
    result = parse(data, "ovid.ris")
    assert result.records[0].keywords == [
        "Antineoplastic Combined Chemotherapy Protocols/tu [Therapeutic Use]",
        "Humans",
    ]


def test_ris_text_fields_still_join_continuation_lines():
    data = b"TY  - JOUR\nTI  - A title that\nwraps\nAB  - An abstract\nthat wraps\nER  - \n"
    record = parse(data, "x.ris").records[0]
    assert (record.title, record.abstract) == ("A title that wraps", "An abstract that wraps")


# -- 2. co-authors with the same written name ---------------------------------------------------


def test_ris_keeps_coauthors_with_the_same_name_in_order():
    result = parse(quirk("endnote_keywords.ris"), "endnote_keywords.ris")
    assert result.records[0].authors == ["Wang, L.", "Chen, Y.", "Wang, L."]
    assert parse(quirk("several_kw.ris"), "x.ris").records[0].authors == [
        "Smith, Anna",
        "Smith, Anna",
    ]


def test_medline_keeps_coauthors_with_the_same_name():
    record = parse(quirk("same_name.nbib"), "same_name.nbib").records[0]
    assert record.authors == ["Wang, Li", "Zhou, Ming", "Wang, Li"]


def test_endnote_xml_and_pubmed_xml_keep_coauthors_with_the_same_name():
    endnote = parse(quirk("endnote_one_line.xml"), "library.xml")
    assert endnote.records[1].authors == ["Garcia, M.", "Wang, L.", "Wang, L."]
    pubmed = parse(quirk("pubmed_tabs.xml"), "pubmed.xml")
    assert pubmed.records[0].authors == ["Wang, Li", "Wang, Li"]


def test_ris_a1_repeating_au_is_not_doubled():
    # Some tools write the authors twice, as AU and as A1: one list, not two.
    data = b"TY  - JOUR\nTI  - T\nAU  - Roe, J.\nAU  - Roe, J.\nA1  - Roe, J.\nER  - \n"
    assert parse(data, "x.ris").records[0].authors == ["Roe, J.", "Roe, J."]
    data = b"TY  - JOUR\nTI  - T\nAU  - Roe, J.\nA1  - Doe, A.\nER  - \n"
    assert parse(data, "x.ris").records[0].authors == ["Roe, J.", "Doe, A."]


def test_csv_keeps_coauthors_with_the_same_name():
    data = b'Title,Authors\nA trial,"Wang, L.; Chen, Y.; Wang, L."\n'
    assert parse(data, "x.csv").records[0].authors == ["Wang, L.", "Chen, Y.", "Wang, L."]


# -- 3. `10.x [doi]` --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "10.1016/j.diabres.2019.107812 [doi]",
        "10.1016/j.diabres.2019.107812[doi]",
        "10.1016/J.DIABRES.2019.107812 [DOI]",
        "https://doi.org/10.1016/j.diabres.2019.107812 [doi]",
    ],
)
def test_doi_tag_is_stripped(text):
    assert keys.normalise_doi(text) == "10.1016/j.diabres.2019.107812"


def test_doi_with_tag_in_ris_and_endnote_xml():
    ris = parse(quirk("endnote_keywords.ris"), "endnote_keywords.ris")
    assert ris.records[0].doi == "10.1016/j.diabres.2019.107812"
    xml = parse(quirk("endnote_one_line.xml"), "library.xml")
    assert xml.records[1].doi == "10.2337/dc20-0003"


def test_medline_doi_from_lid_and_aid():
    record = parse(quirk("same_name.nbib"), "same_name.nbib").records[0]
    assert record.doi == "10.1016/j.envres.2020.110123"


# -- 4. a record without a title -------------------------------------------------------------


def test_endnote_xml_title_less_records_are_warnings_naming_their_position():
    data = quirk("endnote_one_line.xml")
    result = parse(data, "library.xml")
    assert result.ok
    assert [r.title for r in result.records] == [
        "Metformin and cardiovascular outcomes",
        "Insulin pumps in adolescents",
        "Continuous glucose monitoring in pregnancy",
    ]
    warnings = [p for p in result.warnings if "no title" in p.message]
    assert len(warnings) == 2
    for problem, number in zip(warnings, (2, 4), strict=True):
        byte = _record_byte(number)
        assert problem.message == (
            f"Record {number} (/xml/records/record[{number}], line 1, byte {byte}) has no "
            "title; it was left out."
        )
        assert data[byte:].startswith(b"<record>")
        assert problem.line == 1


def test_endnote_xml_title_less_record_fails_the_file_in_strict_mode():
    result = parse(quirk("endnote_one_line.xml"), "library.xml", strict=True)
    assert not result.ok
    assert [p.message for p in result.errors] == [
        f"Record {n} (/xml/records/record[{n}], line 1, byte {b}) has no title; in strict mode "
        "a file with a title-less record is not imported."
        for n, b in ((2, _record_byte(2)), (4, _record_byte(4)))
    ]


def _record_byte(number: int) -> int:
    data = quirk("endnote_one_line.xml")
    at = -1
    for _ in range(number):
        at = data.index(b"<record>", at + 1)
    return at


def test_other_warnings_of_one_line_xml_name_the_record_too():
    data = quirk("endnote_one_line.xml").replace(b">2020<", b">20x0<", 1)
    result = parse(data, "library.xml")
    year = [p.message for p in result.warnings if "year" in p.message]
    assert year == [
        f"Record 3 (/xml/records/record[3], line 1, byte {_record_byte(3)}): the year 20 is out "
        "of range (1000-2999); the year was left empty."
    ]


PUBMED_UNTITLED = b"""<?xml version="1.0" ?>
<PubmedArticleSet>
<PubmedArticle><MedlineCitation><PMID>1</PMID><Article><ArticleTitle>First</ArticleTitle>
</Article></MedlineCitation></PubmedArticle>
<PubmedArticle><MedlineCitation><PMID>2</PMID><Article><ArticleTitle></ArticleTitle>
</Article></MedlineCitation></PubmedArticle>
</PubmedArticleSet>
"""
_SECOND = PUBMED_UNTITLED.index(b"<PubmedArticle>", PUBMED_UNTITLED.index(b"<PubmedArticle>") + 1)

#: (format, file name, data, the warning for the title-less record)
TITLE_LESS = [
    (
        "ris",
        "x.ris",
        b"TY  - JOUR\nTI  - First\nER  - \n\nTY  - JOUR\nAU  - Roe, J.\nER  - \n",
        "Entry starting at line 5 (record 2) has no title; it was left out.",
    ),
    (
        "bibtex",
        "x.bib",
        b"@article{a, title={First}, year={2020}}\n\n@article{b, author={Roe, J.}}\n",
        "Entry starting at line 3 (record 2) has no title; it was left out.",
    ),
    (
        "medline",
        "x.nbib",
        b"PMID- 1\nTI  - First\n\nPMID- 2\nAU  - Roe J\n",
        "Entry starting at line 4 (record 2) has no title; it was left out.",
    ),
    (
        "wos",
        "x.txt",
        b"FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nTI First\nER\n\nPT J\nAU Roe, J\n"
        b"ER\n\nEF\n",
        "Entry starting at line 7 (record 2) has no title; it was left out.",
    ),
    (
        "wos",
        "x_tab.txt",
        b"PT\tAU\tTI\tPY\nJ\tRoe, J\tFirst\t2020\nJ\tDoe, A\t\t2021\n",
        "Row 3 (record 2) has no title; it was left out.",
    ),
    (
        "csv",
        "x.csv",
        b'Title,Authors\nFirst,"Roe, J."\n,"Doe, A."\n',
        "Row 3 (record 2) has no title; it was left out.",
    ),
    (
        "pubmed_xml",
        "x.xml",
        PUBMED_UNTITLED,
        f"Record 2 (/PubmedArticleSet/PubmedArticle[2], line 5, byte {_SECOND}) has no title; "
        "it was left out.",
    ),
]


@pytest.mark.parametrize(("fmt", "name", "data", "message"), TITLE_LESS)
def test_title_less_record_is_a_warning_in_every_format(fmt, name, data, message):
    result = parse(data, name)
    assert result.format == fmt
    assert result.ok, result.errors
    assert [r.title for r in result.records] == ["First"]
    assert [p.message for p in result.warnings] == [message]


@pytest.mark.parametrize(("fmt", "name", "data", "message"), TITLE_LESS)
def test_title_less_record_is_an_error_in_strict_mode(fmt, name, data, message):
    result = parse(data, name, strict=True)
    assert not result.ok
    strict = message.replace(
        "it was left out.", "in strict mode a file with a title-less record is not imported."
    )
    assert [p.message for p in result.errors] == [strict]


def test_pubmed_xml_position_is_the_line_and_byte_of_the_record():
    assert PUBMED_UNTITLED[:_SECOND].count(b"\n") + 1 == 5


def test_a_file_whose_records_all_lack_a_title_is_an_error():
    data = b"TY  - JOUR\nAU  - Roe, J.\nER  - \n\nTY  - JOUR\nAU  - Doe, A.\nER  - \n"
    result = parse(data, "x.ris")
    assert [p.message for p in result.errors] == [
        "None of the 2 records in the file has a title, so none can be imported."
    ]
    assert len(result.warnings) == 2


def test_bibtex_records_are_numbered_in_file_order_with_repeated_keys():
    data = (
        b"@article{a, title={One}}\n\n@article{a, author={Roe, J.}}\n\n"
        b"@article{c, author={Doe, A.}}\n\n@article{d, title={Four}}\n"
    )
    result = parse(data, "x.bib")
    assert [r.title for r in result.records] == ["One", "Four"]
    untitled = [p.message for p in result.warnings if "no title" in p.message]
    assert untitled == [
        "Entry starting at line 3 (record 2) has no title; it was left out.",
        "Entry starting at line 5 (record 3) has no title; it was left out.",
    ]


# -- 5. tabs in PubMed XML abstracts ---------------------------------------------------------


def test_pubmed_xml_abstract_whitespace_is_normalised():
    record = parse(quirk("pubmed_tabs.xml"), "pubmed.xml").records[0]
    assert record.abstract == (
        "OBJECTIVES: To test walking groups. Second line after a vertical tab. "
        "RESULTS: Steps rose by 1,200 a day."
    )
    assert record.title == "Walking groups for older adults: a cluster trial."


# -- 6. GBK-encoded BibTeX ------------------------------------------------------------------


def test_gbk_bibtex_is_read_as_gbk():
    result = parse(quirk("cnki_gbk.bib"), "CNKI-export.bib")
    assert result.encoding == "gb18030"
    assert result.ok, result.problems
    first, second = result.records
    assert first.title == "基于深度学习的糖尿病视网膜病变筛查研究"
    assert first.authors == ["王丽", "陈明", "Wang, Li"]
    assert first.journal == "中华医学杂志"
    assert first.keywords == ["糖尿病视网膜病变", "深度学习", "筛查"]
    assert second.title == "社区老年人跌倒风险的系统评价"


@pytest.mark.parametrize(
    "text",
    [
        "TI  - Müller's Größe: Ärzte in Köln\n",  # German, two accented letters side by side
        "TI  - Qualité de vie à l'hôpital; « étude » — résumé\n",
        "TI  - São Paulo: avaliação da atenção básica\n",
        "AU  - Øster, Åse\nAU  - Ærø, Søren\n",
    ],
)
def test_western_single_byte_text_is_not_taken_for_gbk(text):
    decoded, encoding, _ = decode(text.encode("cp1252"), "x.ris")
    assert (decoded, encoding) == (text, "cp1252")


def test_utf8_chinese_is_still_utf8():
    text = "TI  - 基于深度学习的糖尿病视网膜病变筛查研究\n"
    assert decode(text.encode("utf-8"), "x.ris")[:2] == (text, "utf-8")
