"""Rules on hand-written pairs: true duplicates formatted differently by each database, and
distinct records that look alike."""

from __future__ import annotations

from dataclasses import replace

from review.dedup import DedupRecord, find_duplicates

ABSTRACT = (
    "Background: GLP-1 receptor agonists lower glucose. We examined whether liraglutide reduces "
    "plaque burden in apolipoprotein E deficient mice fed a western diet for twelve weeks, and "
    "measured lesion area, macrophage content and circulating lipids in treated animals."
)

MEDLINE = DedupRecord(
    id=1,
    title="Liraglutide reduces atherosclerotic plaque in apolipoprotein E deficient mice",
    authors=("Smith J. A.", "Olsen K.", "Berg M."),
    year=2015,
    journal="Atherosclerosis",
    volume="240",
    issue="2",
    pages="321-8",
    doi="10.1016/j.atherosclerosis.2015.03.012",
    pmid="25812345",
    abstract=ABSTRACT,
    isbn="0021-9150 (Print)",
)


def outcome(a: DedupRecord, b: DedupRecord) -> str:
    result = find_duplicates([a, b])
    return result.matches[0].outcome if result.matches else "distinct"


def test_embase_copy_with_other_formatting_is_duplicate():
    embase = replace(
        MEDLINE,
        id=2,
        title="Liraglutide reduces atherosclerotic plaque in apolipoprotein E-deficient mice.",
        authors=("Smith, John A.", "Olsen, Karl", "Berg, Maria"),
        journal="Atherosclerosis.",
        pages="321-328",
        doi="http://dx.doi.org/10.1016/J.ATHEROSCLEROSIS.2015.03.012",
        pmid="",
        isbn="0021-9150",
    )
    result = find_duplicates([MEDLINE, embase])
    [match] = result.matches
    assert match.outcome == "duplicate"
    assert (match.a, match.b) == (1, 2)
    assert "same DOI" in match.reason and "rule:" in match.reason
    assert 0 < match.score <= 1
    assert result.clusters() == [[1, 2]]


def test_duplicate_without_doi_on_title_authors_and_details():
    scopus = replace(
        MEDLINE, id=2, doi="", pmid="", pages="321-328", authors=("Smith J.", "Olsen K.", "Berg M.")
    )
    assert outcome(MEDLINE, scopus) == "duplicate"


def test_duplicate_with_journal_abbreviation_and_excel_pages():
    a = replace(MEDLINE, doi="", pmid="", journal="Current Opinion in Lipidology", pages="6-10")
    b = replace(a, id=2, journal="Curr Opin Lipidol", pages="06-Oct", issue="")
    assert outcome(a, b) == "duplicate"


def test_conference_abstract_vs_journal_article_is_not_merged():
    abstract = replace(
        MEDLINE,
        id=2,
        doi="",
        pmid="",
        journal="Diabetologia. Conference: 51st EASD Annual Meeting",
        volume="58",
        issue="Suppl 1",
        pages="S312",
        abstract="",
    )
    assert outcome(MEDLINE, abstract) != "duplicate"


def test_erratum_is_distinct():
    erratum = replace(
        MEDLINE,
        id=2,
        title="Erratum: " + MEDLINE.title,
        doi="10.1016/j.atherosclerosis.2015.09.001",
        pmid="",
        pages="1",
        abstract="",
    )
    assert outcome(MEDLINE, erratum) == "distinct"


def test_reply_letter_is_distinct():
    reply = replace(
        MEDLINE,
        id=2,
        title="Reply: " + MEDLINE.title,
        doi="",
        pmid="",
        pages="400",
        abstract="",
    )
    assert outcome(MEDLINE, reply) == "distinct"


def test_two_abstracts_in_a_supplement_sharing_a_doi_are_distinct():
    supp = dict(
        journal="Diabetologia",
        volume="60",
        issue="Suppl 1",
        doi="10.1007/s00125-017-4350-z",
        year=2017,
    )
    a = DedupRecord(
        id="a", title="SGLT2 inhibition improves coronary microvascular function in mice",
        authors=("Adingupu D. D.", "Gronros J."), pages="S31", **supp,
    )  # fmt: skip
    b = DedupRecord(
        id="b", title="DPP-4 inhibition and endothelial progenitor cells in type 2 diabetes",
        authors=("Fadini G. P.", "Avogaro A."), pages="S32", **supp,
    )  # fmt: skip
    c = DedupRecord(
        id="c", title="Dapagliflozin and renal oxygenation in diabetic rats",
        authors=("Hansell P.",), pages="S33", **supp,
    )  # fmt: skip
    a_again = replace(a, id="a2", authors=("Adingupu D.", "Gronros J."))
    result = find_duplicates([a, b, c, a_again])
    assert result.clusters() == [["a", "a2"]]
    assert all({m.a, m.b} == {"a", "a2"} for m in result.duplicates())
    assert "shared by several titles" in result.duplicates()[0].reason


def test_same_title_different_year_and_volume_is_distinct():
    later = replace(
        MEDLINE, id=2, year=2019, volume="280", pages="11-19", doi="", pmid="", abstract=""
    )
    assert outcome(MEDLINE, later) == "distinct"


def test_different_dois_of_one_publisher_are_distinct():
    other = replace(MEDLINE, id=2, doi="10.1016/j.atherosclerosis.2016.01.001", pmid="")
    assert outcome(MEDLINE, other) == "distinct"


def test_different_pmids_are_distinct():
    other = replace(MEDLINE, id=2, doi="", pmid="25899999")
    assert outcome(MEDLINE, other) == "distinct"


def test_similar_title_without_enough_evidence_is_queued_as_possible():
    vague = DedupRecord(id=2, title=MEDLINE.title, authors=("Smith J.",), year=2015)
    result = find_duplicates([MEDLINE, vague])
    assert [m.outcome for m in result.matches] == ["possible"]
    assert result.possible() == result.matches and result.clusters() == []


def test_unrelated_records_give_no_match():
    other = DedupRecord(id=2, title="Sleep and memory consolidation in adolescents", year=2015)
    assert find_duplicates([MEDLINE, other]).matches == []


def test_copy_with_a_cut_off_erratum_note_is_merged():
    ovid = replace(
        MEDLINE,
        id=2,
        title=MEDLINE.title + ".[Erratum appears in Atherosclerosis. 201",
        doi="",
        pmid="",
        abstract="",
    )
    assert outcome(MEDLINE, ovid) == "duplicate"


def test_copy_with_a_nested_erratum_note_is_merged():
    ovid = replace(
        MEDLINE,
        id=2,
        title=MEDLINE.title + ".[Erratum appears in Atheroscler. 2016;244:1 Note: Berg, M [added]]",
        pmid="",
    )
    assert outcome(MEDLINE, ovid) == "duplicate"


def test_erratum_notice_with_the_articles_title_stays_distinct():
    for title in ("Correction to: " + MEDLINE.title, "Erratum to: " + MEDLINE.title):
        notice = replace(MEDLINE, id=2, title=title, doi="", pmid="", pages="", abstract="")
        assert outcome(MEDLINE, notice) != "duplicate"


EDITORIAL = DedupRecord(
    id="q1",
    title="Editor's Comments",
    authors=("Weber, Ron",),
    year=2002,
    journal="MIS Quarterly",
    volume="26",
    issue="1",
)


def test_recurring_editorials_in_other_issues_are_not_merged():
    issues = [replace(EDITORIAL, id=f"q{n}", issue=str(n)) for n in (1, 2, 3, 4)]
    result = find_duplicates(issues)
    assert result.duplicates() == [] and result.clusters() == []
    assert all("issues" in m.reason for m in result.possible())


def test_column_with_other_issue_and_doi_of_another_registrant_is_not_merged():
    a = DedupRecord(
        id="a", title="Editorial Introduction", authors=("Zwass, Vladimir",), year=2005,
        journal="Journal of Management Information Systems", volume="22", issue="1",
        pages="5-11", doi="10.1080/07421222.2003.11045832",
    )  # fmt: skip
    b = replace(a, id="b", issue="3", pages="5-7", doi="10.2753/mis0742-1222220300")
    assert outcome(a, b) != "duplicate"


def test_issue_written_differently_or_missing_still_merges():
    for other in ("02", "2-3", "", "Suppl 1"):
        base = replace(MEDLINE, doi="", pmid="")
        copy = replace(base, id=2, issue=other, pages="321-328")
        assert outcome(base, copy) == "duplicate", other


def test_different_volume_blocks_a_merge_without_an_identifier():
    other = replace(MEDLINE, id=2, volume="241", doi="", pmid="", abstract="")
    assert outcome(replace(MEDLINE, doi="", pmid=""), other) != "duplicate"
