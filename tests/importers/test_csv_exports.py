"""The CSV layouts of Embase.com, SpringerLink, Zotero and Scopus mapped to the same fields as
their RIS (issue 16).

The samples are in tests/data/importers/ (provenance in tests/data/README.md)."""

from pathlib import Path

from review.importers import parse

DATA = Path(__file__).resolve().parents[1] / "data" / "importers"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def fields(record) -> dict:
    out = record.as_fields()
    out.pop("raw")
    return out


# -- CSV exports ------------------------------------------------------------------------------


def test_embase_csv_source_is_split_into_journal_year_volume_issue_pages():
    result = parse(read("embase.csv"), "records.csv")
    assert (result.format, result.problems) == ("csv", [])
    assert result.column_mapping["journal"] == "Source"
    first, abstract, trial, plain = result.records
    assert fields(first) == {
        "title": "Metformin and cancer risk in diabetic patients: a systematic review",
        "abstract": "Metformin has been associated with a reduced risk of cancer.",
        "authors": ["Decensi A.", "Puntoni M."],
        "year": 2010,
        "journal": "Cancer Prevention Research",
        "volume": "3",
        "issue": "11",
        "pages": "1451-1461",
        "doi": "10.1158/1940-6207.capr-10-0121",
        "pmid": "20947488",
        "url": "https://doi.org/10.1158/1940-6207.CAPR-10-0121",
        # Author keywords, then the Emtree medical and drug index terms, as in Embase's RIS KW.
        "keywords": ["cancer risk", "human", "systematic review", "metformin"],
        "language": "English",
    }
    assert first.raw["Source"] == "Cancer Prevention Research 2010 3:11 (1451-1461)"
    assert (abstract.journal, abstract.year, abstract.volume, abstract.issue, abstract.pages) == (
        "Journal of Clinical Oncology",
        2019,
        "37",
        "15 SUPPL",
        "e18047",
    )
    assert (trial.journal, trial.year, trial.volume, trial.issue, trial.pages) == (
        "Trials",
        2020,
        "21",
        "",
        "455",
    )
    assert (plain.journal, plain.year, plain.volume) == ("Journal of Unusual Sources", None, "")


def test_springerlink_csv():
    result = parse(read("springer.csv"), "SearchResults.csv")
    assert result.problems == []
    assert result.column_mapping == {
        "title": "Item Title",
        "authors": "Authors",
        "year": "Publication Year",
        "journal": "Publication Title",
        "volume": "Journal Volume",
        "issue": "Journal Issue",
        "doi": "Item DOI",
        "url": "URL",
    }
    article, chapter = result.records
    assert fields(article) == {
        "title": "Machine learning for screening in systematic reviews",
        "abstract": "",
        # SpringerLink writes the names run together; family-name prefixes are not split.
        "authors": ["Ross McDonald", "Anne LeBlanc", "Yu Wang"],
        "year": 2019,
        "journal": "Systematic Reviews",
        "volume": "8",
        "issue": "1",
        "pages": "",
        "doi": "10.1186/s13643-019-1074-9",
        "pmid": "",
        "url": "http://link.springer.com/article/10.1186/s13643-019-1074-9",
        "keywords": [],
        "language": "",
    }
    assert (chapter.authors, chapter.journal, chapter.year) == (
        ["Andy Smith", "Tom Weber"],
        "Intelligent Systems and Applications",
        2020,
    )
    assert chapter.raw["Content Type"] == "Chapter"


def test_other_csv_authors_are_not_split_on_case():
    data = b"Title,Authors\nA study,Ross McDonaldAnne LeBlanc\n"
    (record,) = parse(data, "x.csv").records
    assert record.authors == ["Ross McDonaldAnne LeBlanc"]


def test_zotero_csv_pmid_from_extra_and_both_tag_columns():
    result = parse(read("zotero_extra.csv"), "Exported Items.csv")
    assert result.problems == []
    assert result.column_mapping["keywords"] == "Manual Tags"
    assert result.column_mapping["keywords_2"] == "Automatic Tags"
    assert result.column_mapping["extra"] == "Extra"
    first, preprint = result.records
    assert (first.pmid, first.keywords, first.authors, first.pages) == (
        "24847228",
        ["exercise", "Aged", "Humans"],
        ["Müller, Hans K.", "Doe, Anne"],
        "e96852",
    )
    assert (preprint.title, preprint.pmid, preprint.year) == (
        "A preprint whose Extra holds no PMID",
        "",
        2023,
    )


def test_a_pmid_column_wins_over_extra():
    data = b'Title,PMID,Extra\nA study,111,"PMID: 222"\n'
    (record,) = parse(data, "x.csv").records
    assert record.pmid == "111"


def test_scopus_csv_index_keywords_join_author_keywords():
    result = parse((DATA.parent.parent / "importers" / "data" / "scopus.csv").read_bytes(), "s.csv")
    assert result.column_mapping["keywords"] == "Author Keywords"
    assert result.column_mapping["keywords_2"] == "Index Keywords"
    first, second = result.records
    assert first.keywords == [
        "exercise",
        "older adults",
        "systematic review",
        "Aged",
        "Exercise",
        "Humans",
    ]
    assert second.keywords == []


def test_a_second_keyword_column_can_be_unmapped():
    data = b"Title,Author Keywords,Index Keywords\nA,x; y,z\n"
    assert parse(data, "x.csv").records[0].keywords == ["x", "y", "z"]
    result = parse(data, "x.csv", column_mapping={"keywords_2": ""})
    assert result.ok
    assert result.records[0].keywords == ["x", "y"]
