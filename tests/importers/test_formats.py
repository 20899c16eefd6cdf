"""Each supported export, written by hand in the database's documented format, parses to
exactly these fields."""

import json

import openpyxl
import pytest

from review.importers import FORMATS, ParsedRecord, parse
from tests.importers.conftest import read


def fields(record: ParsedRecord) -> dict:
    out = record.as_fields()
    out.pop("raw")
    return out


def check_json_raw(result):
    for record in result.records:
        json.dumps(record.raw)  # raw must be JSON-serialisable
        assert "line" not in record.as_fields()


def test_formats_constant_matches_the_model_codes():
    assert FORMATS == (
        "ris",
        "bibtex",
        "medline",
        "pubmed_xml",
        "endnote_xml",
        "wos",
        "csv",
        "excel",
        "endnote_tagged",
        "proquest",
    )


def test_pubmed_medline_nbib():
    result = parse(read("pubmed.nbib"), "pubmed.nbib")
    assert (result.format, result.encoding, result.problems) == ("medline", "utf-8", [])
    first, second = result.records
    assert first.line == 1
    assert fields(first) == {
        "title": "A Novel Coronavirus from Patients with Pneumonia in China, 2019.",
        "abstract": "In December 2019, a cluster of patients with pneumonia of unknown cause was "
        "linked to a seafood wholesale market in Wuhan, China.",
        "authors": [
            "Zhu, Na",
            "Zhang, Dingyu",
            "China Novel Coronavirus Investigating and Research Team",
        ],
        "year": 2020,
        "journal": "The New England journal of medicine",
        "volume": "382",
        "issue": "8",
        "pages": "727-733",
        "doi": "10.1056/nejmoa2001017",
        "pmid": "31978945",
        "url": "",
        "keywords": ["Betacoronavirus/*genetics", "Humans", "COVID-19"],
        "language": "eng",
    }
    assert first.raw["FAU"] == ["Zhu, Na", "Zhang, Dingyu"]
    assert first.raw["SO"][0].endswith("Epub 2020 Jan 24.")
    assert second.line == 38
    assert second.title == (
        "Effect of exercise on depressive symptoms in older adults: a systematic review and "
        "meta-analysis."
    )
    assert second.authors == ["Müller HK"]  # no FAU: the AU form is kept
    assert (second.year, second.pages, second.doi, second.pmid) == (
        2014,
        "e96852",
        "10.1371/journal.pone.0096852",
        "24847228",
    )
    check_json_raw(result)


def test_pubmed_xml():
    result = parse(read("pubmed.xml"), "pubmed.xml")
    assert (result.format, result.problems) == ("pubmed_xml", [])
    first, second = result.records
    assert first.line == 4
    assert fields(first) == {
        "title": "A Novel Coronavirus from Patients with Pneumonia in China, 2019.",
        "abstract": "BACKGROUND: In December 2019, a cluster of patients with pneumonia was linked "
        "to Wuhan. METHODS: We used deep sequencing of samples.",
        "authors": [
            "Zhu, Na",
            "Zhang, Dingyu",
            "China Novel Coronavirus Investigating and Research Team",
        ],
        "year": 2020,
        "journal": "The New England journal of medicine",
        "volume": "382",
        "issue": "8",
        "pages": "727-733",
        "doi": "10.1056/nejmoa2001017",
        "pmid": "31978945",
        "url": "",
        "keywords": ["Betacoronavirus", "Humans", "COVID-19"],
        "language": "eng",
    }
    assert first.raw["xml"].startswith("<PubmedArticle>")
    assert second.line == 71
    assert second.title == "Effect of exercise on depressive symptoms in older adults."
    assert (second.authors, second.year, second.pages) == (["Müller, HK"], 2014, "e96852")
    check_json_raw(result)


def test_ovid_embase_and_medline_ris():
    result = parse(read("ovid_embase.ris"), "ovid_embase.ris")
    assert (result.format, result.problems) == ("ris", [])
    embase, medline = result.records
    assert embase.line == 1
    assert fields(embase) == {
        "title": "Metformin and cancer risk in diabetic patients: a systematic review",
        "abstract": "Metformin has been associated with a reduced risk of cancer.",
        "authors": ["Decensi, A.", "Puntoni, M."],
        "year": 2010,
        "journal": "Cancer Prevention Research",
        "volume": "3",
        "issue": "11",
        "pages": "1451-61",
        "doi": "10.1158/1940-6207.capr-10-0121",
        "pmid": "",  # an Embase accession number is not a PMID
        "url": "http://ovidsp.ovid.com/ovidweb.cgi?T=JS&PAGE=reference&D=emed11&NEWS=N"
        "&AN=2005123456",
        "keywords": ["*metformin", "cancer risk", "human"],
        "language": "English",
    }
    assert embase.raw["name_of_database"] == "Embase"
    assert embase.raw["keywords"] == ["*metformin", "cancer risk", "human"]
    assert medline.line == 26
    assert medline.pmid == "20947488"  # AN of an Ovid MEDLINE record is the PMID
    assert medline.abstract == (
        "Metformin is widely used for the treatment of type 2 diabetes. It also inhibits "
        "tumour growth."
    )
    assert (medline.year, medline.pages) == (2010, "1092-1099")
    assert medline.authors == ["Ben Sahra, Issam", "Le Marchand-Brustel, Yannick"]


def test_scopus_ris():
    result = parse(read("scopus.ris"), "scopus.ris")
    assert result.problems == []
    (record,) = result.records
    assert fields(record) == {
        "title": "Physical activity interventions for older adults: A meta-analysis",
        "abstract": "Background: Physical activity declines with age. © 2021 Human Kinetics, Inc.",
        "authors": ["Smith, J.", "García-López, M.A."],
        "year": 2021,
        "journal": "Journal of Aging and Physical Activity",
        "volume": "29",
        "issue": "4",
        "pages": "680-695",
        "doi": "10.1123/japa.2020-0123",
        "pmid": "33512345",  # from Scopus's N1 note "PubMed ID: …"
        "url": "https://www.scopus.com/inward/record.uri?eid=2-s2.0-85100000000"
        "&doi=10.1123%2fjapa.2020-0123&partnerID=40&md5=abc",
        "keywords": ["exercise", "older adults", "systematic review"],
        "language": "English",
    }
    assert record.raw["custom2"] == "33500000"
    assert record.raw["name_of_database"] == "Scopus"


def test_endnote_ris_with_y1_slashes_and_semicolon_keywords():
    (record,) = parse(read("endnote.ris"), "endnote.ris").records
    assert (record.year, record.journal, record.pages) == (
        2002,
        "Statistics in Medicine",
        "1539-1558",
    )
    assert record.keywords == ["heterogeneity", "meta-analysis", "I2"]
    assert record.authors == ["Higgins, Julian P. T.", "Thompson, Simon G."]


def test_ris_with_windows_line_endings():
    result = parse(read("crlf.ris"), "crlf.ris")
    assert [(r.line, r.title, r.authors, r.year) for r in result.records] == [
        (1, "Windows line endings work", ["Doe, Jane"], 2019)
    ]


def test_web_of_science_plain_text():
    result = parse(read("wos.txt"), "savedrecs.txt")
    assert (result.format, result.problems) == ("wos", [])
    first, second = result.records
    assert first.line == 3
    assert fields(first) == {
        "title": "Randomised trial of tai chi for knee osteoarthritis: a pragmatic multicentre "
        "study",
        "abstract": "Tai chi is a mind-body exercise. We randomised 204 participants.",
        "authors": ["Smith, John", "Doe, Anne"],
        "year": 2018,
        "journal": "ARTHRITIS CARE & RESEARCH",
        "volume": "70",
        "issue": "3",
        "pages": "221-228",
        "doi": "10.1002/acr.23456",
        "pmid": "28800000",
        "url": "",
        "keywords": ["tai chi", "osteoarthritis", "knee", "EXERCISE", "PAIN"],
        "language": "English",
    }
    assert first.raw["AU"] == ["Smith, J", "Doe, A"]
    assert first.raw["UT"] == "WOS:000426543200007"
    assert (second.line, second.pages, second.authors) == (27, "85", ["Lee, Kwang"])


def test_web_of_science_tab_delimited():
    result = parse(read("wos_tab.txt"), "savedrecs.txt")
    assert (result.format, result.problems) == ("wos", [])
    first, second = result.records
    assert first.line == 2
    assert fields(first) == {
        "title": 'Randomised trial of tai chi for knee osteoarthritis: a "pragmatic" study',
        "abstract": "Tai chi is a mind-body exercise.",
        "authors": ["Smith, John", "Doe, Anne"],
        "year": 2018,
        "journal": "ARTHRITIS CARE & RESEARCH",
        "volume": "70",
        "issue": "3",
        "pages": "221-228",
        "doi": "10.1002/acr.23456",
        "pmid": "28800000",
        "url": "",
        "keywords": ["tai chi", "osteoarthritis", "EXERCISE"],
        "language": "English",
    }
    assert (second.line, second.title, second.pages) == (3, "Yoga for chronic low back pain", "")


def test_zotero_bibtex_with_latex_accents():
    result = parse(read("zotero.bib"), "zotero.bib")
    assert (result.format, result.problems) == ("bibtex", [])
    first, second = result.records
    assert first.line == 2
    assert fields(first) == {
        "title": "Quantifying heterogeneity in a meta-analysis",
        "abstract": "The extent of heterogeneity in a meta-analysis partly determines the "
        "difficulty in drawing overall conclusions.",
        "authors": ["Higgins, Julian P. T.", "Thompson, Simon G."],
        "year": 2002,
        "journal": "Statistics in Medicine",
        "volume": "21",
        "issue": "11",
        "pages": "1539-1558",
        "doi": "10.1002/sim.1186",
        "pmid": "",
        "url": "https://onlinelibrary.wiley.com/doi/10.1002/sim.1186",
        "keywords": ["heterogeneity", "meta-analysis"],
        "language": "en",
    }
    assert first.raw["ID"] == "higgins_quantifying_2002"
    assert second.line == 18
    assert second.title == "L'effet de l'exercice chez les personnes âgées: une étude de Montréal"
    assert second.authors == ["Müller, Jörg", "World Health Organization"]
    assert (second.journal, second.pmid) == ("Revue d'Épidémiologie", "25000000")
    check_json_raw(result)


def test_endnote_xml():
    result = parse(read("endnote.xml"), "My EndNote Library.xml")
    assert (result.format, result.problems) == ("endnote_xml", [])
    first, second = result.records
    assert first.line == 1
    assert fields(first) == {
        "title": "The PRISMA 2020 statement: an updated guideline for reporting systematic reviews",
        "abstract": "The PRISMA statement was designed to help systematic reviewers.",
        "authors": ["Page, Matthew J.", "McKenzie, Joanne E."],
        "year": 2021,
        "journal": "BMJ",
        "volume": "372",
        "issue": "",
        "pages": "n71",
        "doi": "10.1136/bmj.n71",
        "pmid": "33782057",
        "url": "https://www.bmj.com/content/372/bmj.n71",
        "keywords": ["Humans", "*Guidelines as Topic"],
        "language": "eng",
    }
    assert second.line == 2
    # A PII in electronic-resource-num is not a DOI and is silently not used as one.
    assert (second.doi, second.issue, second.pages) == ("", "7", "e1000097")


def test_scopus_csv():
    result = parse(read("scopus.csv"), "scopus.csv")
    assert (result.format, result.encoding, result.problems) == ("csv", "utf-8-sig", [])
    assert result.column_mapping == {
        "title": "Title",
        "abstract": "Abstract",
        "authors": "Author full names",
        "year": "Year",
        "journal": "Source title",
        "volume": "Volume",
        "issue": "Issue",
        "page_start": "Page start",
        "page_end": "Page end",
        "doi": "DOI",
        "pmid": "PubMed ID",
        "url": "Link",
        "keywords": "Author Keywords",
        "keywords_2": "Index Keywords",
        "language": "Language of Original Document",
    }
    first, second = result.records
    assert first.line == 2
    assert fields(first) == {
        "title": "Physical activity interventions for older adults: A meta-analysis",
        "abstract": 'Background: Physical activity declines with age, "despite" benefits.\n'
        "Methods: We pooled 40 trials.",
        "authors": ["Smith, John", "García-López, María A."],
        "year": 2021,
        "journal": "Journal of Aging and Physical Activity",
        "volume": "29",
        "issue": "4",
        "pages": "680-695",
        "doi": "10.1123/japa.2020-0123",
        "pmid": "33512345",
        "url": "https://www.scopus.com/inward/record.uri?eid=2-s2.0-85100000000&partnerID=40"
        "&md5=abc",
        # Author Keywords, then Index Keywords (both are KW in Scopus' RIS).
        "keywords": ["exercise", "older adults", "systematic review", "Aged", "Exercise", "Humans"],
        "language": "English",
    }
    assert first.raw["EID"] == "2-s2.0-85100000000"
    # The second row starts on line 4 of the file (the abstract above spans two lines) but is
    # row 3 of the spreadsheet.
    assert (second.line, second.pages, second.authors) == (3, "85", ["Lee, Kwang"])


def test_zotero_csv():
    result = parse(read("zotero.csv"), "Exported Items.csv")
    assert result.problems == []
    (record,) = result.records
    assert fields(record) == {
        "title": "Quantifying heterogeneity in a meta-analysis",
        "abstract": "The extent of heterogeneity in a meta-analysis partly determines the "
        "difficulty.",
        "authors": ["Higgins, Julian P. T.", "Thompson, Simon G."],
        "year": 2002,
        "journal": "Statistics in Medicine",
        "volume": "21",
        "issue": "11",
        "pages": "1539-1558",
        "doi": "10.1002/sim.1186",
        "pmid": "12111919",  # from Extra, "PMID: 12111919"
        "url": "https://onlinelibrary.wiley.com/doi/10.1002/sim.1186",
        "keywords": ["heterogeneity", "meta-analysis", "Humans"],  # Manual, then Automatic Tags
        "language": "en",
    }
    assert result.column_mapping["year"] == "Publication Year"
    assert result.column_mapping["journal"] == "Publication Title"


def test_rayyan_csv():
    result = parse(read("rayyan.csv"), "articles.csv")
    assert result.problems == []
    first, second = result.records
    assert fields(first) == {
        "title": "Effect of exercise on depressive symptoms in older adults",
        "abstract": "Depression is common, and exercise may help.",
        "authors": ["Smith J", "Doe A"],
        "year": 2014,
        "journal": "PLoS One",
        "volume": "9",
        "issue": "5",
        "pages": "e96852",
        "doi": "10.1371/journal.pone.0096852",
        "pmid": "24847228",
        "url": "https://doi.org/10.1371/journal.pone.0096852",
        "keywords": ["exercise", "depression"],
        "language": "",
    }
    assert first.raw["key"] == "rayyan-101"
    assert (second.line, second.title, second.authors, second.year) == (
        3,
        "A trial with no extras",
        [],
        1899,
    )


def test_covidence_csv():
    result = parse(read("covidence.csv"), "review_123_included_csv_20240101.csv")
    assert result.problems == []
    (record,) = result.records
    assert fields(record) == {
        "title": "Metformin in cancer therapy: a new perspective",
        "abstract": "Metformin is widely used.",
        "authors": ["Ben Sahra I", "Le Marchand-Brustel Y"],
        "year": 2010,
        "journal": "Molecular cancer therapeutics",
        "volume": "9",
        "issue": "5",
        "pages": "1092-9",
        "doi": "10.1158/1535-7163.mct-09-1186",
        "pmid": "",
        "url": "",
        "keywords": [],
        "language": "",
    }
    assert result.column_mapping["year"] == "Published Year"


def test_semicolon_delimited_generic_csv_with_blank_row():
    result = parse(read("generic_semicolon.csv"), "export.csv")
    assert result.problems == []
    first, second = result.records
    assert (first.line, first.title, first.authors, first.year, first.doi, first.keywords) == (
        2,
        "Caffeine and sleep",
        ["Durand, Paul"],
        2019,
        "10.1000/xyz.1",
        ["sleep", "caffeine"],
    )
    # Row 3 is blank, so the next record is row 4.
    assert (second.line, second.title, second.authors, second.doi) == (
        4,
        "Naps; a review",
        ["Martin, Léa", "Bernard, Luc"],
        "10.1000/abc",
    )


def _asreview_workbook(path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(
        ["record_id", "title", "abstract", "authors", "doi", "year", "keywords", "included"]
    )
    sheet.append(
        [
            0,
            "Deep learning for screening",
            "We trained a model.",
            "van de Schoot, R.; de Bruin, J.",
            "https://doi.org/10.1038/S42256-020-00287-7",
            2021,
            "active learning; screening",
            1,
        ]
    )
    sheet.append([None] * 8)
    sheet.append([1, "A second study", None, "Doe, J.", None, 2019.0, None, 0])
    book.save(path)
    return path.read_bytes()


def test_asreview_excel(tmp_path):
    data = _asreview_workbook(tmp_path / "asreview.xlsx")
    result = parse(data, "asreview_result.xlsx")
    assert (result.format, result.encoding, result.problems) == ("excel", "xlsx", [])
    first, second = result.records
    assert fields(first) == {
        "title": "Deep learning for screening",
        "abstract": "We trained a model.",
        "authors": ["van de Schoot, R.", "de Bruin, J."],
        "year": 2021,
        "journal": "",
        "volume": "",
        "issue": "",
        "pages": "",
        "doi": "10.1038/s42256-020-00287-7",
        "pmid": "",
        "url": "",
        "keywords": ["active learning", "screening"],
        "language": "",
    }
    assert first.raw == {
        "record_id": "0",
        "title": "Deep learning for screening",
        "abstract": "We trained a model.",
        "authors": "van de Schoot, R.; de Bruin, J.",
        "doi": "https://doi.org/10.1038/S42256-020-00287-7",
        "year": "2021",
        "keywords": "active learning; screening",
        "included": "1",
    }
    assert (first.line, second.line, second.year) == (2, 4, 2019)


def test_explicit_column_mapping_overrides_the_guess():
    data = b"Name,Summary,Published\nMy study,An abstract,2001\n"
    result = parse(
        data, "x.csv", column_mapping={"title": "Name", "abstract": "Summary", "year": "Published"}
    )
    assert result.problems == []
    assert result.column_mapping == {"title": "Name", "abstract": "Summary", "year": "Published"}
    (record,) = result.records
    assert (record.title, record.abstract, record.year) == ("My study", "An abstract", 2001)


def test_column_mapping_naming_a_missing_column_is_an_error():
    data = b"Title,Year\nA,2001\n"
    result = parse(data, "x.csv", column_mapping={"abstract": "Summary"})
    assert [p.message for p in result.errors] == [
        "Row 1: the column 'Summary' chosen for abstract is not in the file; columns found: "
        '"Title", "Year".'
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pubmed.nbib", "medline"),
        ("pubmed.xml", "pubmed_xml"),
        ("endnote.xml", "endnote_xml"),
        ("scopus.ris", "ris"),
        ("wos.txt", "wos"),
        ("wos_tab.txt", "wos"),
        ("zotero.bib", "bibtex"),
        ("scopus.csv", "csv"),
    ],
)
def test_detect_format_by_content(name, expected):
    from review.importers import detect_format

    # The content decides even when the extension is unhelpful.
    assert detect_format(read(name), "download.txt") == expected
    assert parse(read(name), "download.txt").format == expected
