"""The second look (`review.dedup.triage`) at pairs the rules can only queue as *possible*:
hand-written pairs in the shapes found in real EndNote / Ovid exports."""

from __future__ import annotations

from dataclasses import replace

from review.dedup import DedupRecord, find_duplicates
from review.dedup.prepare import Prepared
from review.dedup.rules import POSSIBLE, judge
from review.dedup.triage import second_look

ABSTRACT = (
    "Objective: to compare human papillomavirus testing with repeat cytology in women with "
    "borderline smears. Methods: a randomised trial in four screening centres enrolled women "
    "aged 25 to 60 years; the outcome was high grade intraepithelial neoplasia at two years. "
    "Results: testing detected more lesions with fewer referrals for colposcopy."
)
OTHER_ABSTRACT = (
    "Conference abstract. We report preliminary data of a pilot study in one centre: thirty "
    "women were followed for six months with self-sampling devices, and acceptability was "
    "high. Full results will be presented after the main trial has ended next spring."
)

ARTICLE = DedupRecord(
    id=1,
    title="Human papillomavirus testing versus repeat cytology for triage of borderline smears",
    authors=("Wendel, S B", "Kaldensjo, T", "Peterson, P", "Andersson, S"),
    year=2010,
    journal="International Journal of Oncology",
    volume="37",
    pages="1565-1573",
    abstract=ABSTRACT,
)


def verdicts(a: DedupRecord, b: DedupRecord):
    """(the rules' verdict, the verdict after the second look)."""
    x, y = Prepared(0, a), Prepared(1, b)
    first = judge(x, y, set())
    return first, second_look(x, y, first)


def engine_outcome(a: DedupRecord, b: DedupRecord) -> str:
    result = find_duplicates([a, b])
    return result.matches[0].outcome if result.matches else "distinct"


def test_swapped_author_names_on_an_identical_citation_merge():
    # EndNote wrote "Family, Given" as "Given, Family" for the whole list
    swapped = replace(
        ARTICLE, id=2, authors=("Brismar, Wendel S", "T, Kaldensjo", "P, Peterson", "S, Andersson")
    )
    first, second = verdicts(ARTICLE, swapped)
    assert first.outcome == POSSIBLE  # the rules alone queue it
    assert second.outcome == "duplicate"
    assert second.reason.startswith("second look: same title, abstract, journal and volume")
    assert engine_outcome(ARTICLE, swapped) == "duplicate"


def test_swapped_authors_with_a_different_abstract_do_not_merge():
    swapped = replace(
        ARTICLE,
        id=2,
        authors=("Brismar, Wendel S", "T, Kaldensjo", "P, Peterson", "S, Andersson"),
        abstract=OTHER_ABSTRACT,
    )
    assert engine_outcome(ARTICLE, swapped) == "distinct"


def test_article_number_against_printed_pages_merges_with_agreeing_authors():
    bmj = replace(ARTICLE, journal="BMJ", volume="340", pages="1014")
    online = replace(bmj, id=2, journal="BMJ (Clinical research ed.)", pages="c1804")
    first, second = verdicts(bmj, online)
    assert first.outcome == POSSIBLE
    assert second.outcome == "duplicate"


def test_two_printed_first_pages_are_not_an_article_number():
    bmj = replace(ARTICLE, journal="BMJ", volume="340", pages="1014")
    other = replace(bmj, id=2, pages="1804")
    assert (
        second_look(
            Prepared(0, bmj), Prepared(1, other), judge(Prepared(0, bmj), Prepared(1, other), set())
        ).outcome
        != "duplicate"
    )


def test_same_citation_different_volume_is_not_promoted():
    swapped = replace(
        ARTICLE, id=2, volume="38",
        authors=("Brismar, Wendel S", "T, Kaldensjo", "P, Peterson", "S, Andersson"),
    )  # fmt: skip
    assert engine_outcome(ARTICLE, swapped) != "duplicate"


def test_conference_abstract_and_article_sharing_a_title_leave_the_queue():
    abstract_copy = replace(
        ARTICLE,
        id=2,
        journal="Diabetologia",
        volume="53",
        issue="Suppl 1",
        pages="S120",
        abstract=OTHER_ABSTRACT,
    )
    first, second = verdicts(ARTICLE, abstract_copy)
    assert first.outcome in (POSSIBLE, "distinct")
    assert second.outcome == "distinct"
    assert engine_outcome(ARTICLE, abstract_copy) == "distinct"


def test_shared_doi_with_two_different_abstracts_leaves_the_queue():
    a = replace(ARTICLE, doi="10.1002/dmrr.2604", pages="51")
    b = replace(a, id=2, title="The " + a.title, pages="52", abstract=OTHER_ABSTRACT)
    first, second = verdicts(a, b)
    assert first.outcome == POSSIBLE
    assert second.outcome == "distinct"
    assert "abstracts differ" in second.reason


def test_similar_title_without_evidence_against_stays_possible():
    # no abstract, no volume, no pages: nothing settles it, a person must look
    a = DedupRecord(id=1, title=ARTICLE.title, authors=ARTICLE.authors, year=2010,
                    journal="Int J Oncol")  # fmt: skip
    b = DedupRecord(
        id=2, title=ARTICLE.title + " a pilot", authors=(*ARTICLE.authors[:2], "Other, Q"),
        year=2010,
    )  # fmt: skip
    first, second = verdicts(a, b)
    assert first.outcome == POSSIBLE
    assert second is first


def test_non_possible_verdicts_pass_through():
    same = replace(ARTICLE, id=2)
    first, second = verdicts(ARTICLE, same)
    assert first.outcome == "duplicate"
    assert second is first


GERMAN = DedupRecord(
    id=10,
    title="Plattformökonomie und Crowdworking als Herausforderungen für das deutsche Modell",
    authors=("Greef, Samuel", "Schroeder, Wolfgang", "Sperling, Hans Joachim"),
    year=2020,
    journal="Industrielle Beziehungen",
    volume="27",
    issue="2",
    pages="205 -- 226",
    doi="10.3224/indbez.v27i2.06",
)
ENGLISH = DedupRecord(
    id=11,
    title="Platform economy and crowdworking as challenges for the German model",
    authors=("Greef, S.", "Schroeder, W.", "Sperling, H.J."),
    year=2020,
    journal="Industrielle Beziehungen",
    volume="27",
    issue="2",
    pages="205--226",
)


def test_translated_title_with_one_address_merges():
    # the rules see two different titles (a hard conflict) and the title filter would drop it
    first, second = verdicts(GERMAN, ENGLISH)
    assert first.outcome == "distinct"
    assert second.outcome == "duplicate"
    assert "page range" in second.reason
    assert engine_outcome(GERMAN, ENGLISH) == "duplicate"


def test_subtitle_dropped_by_one_database_merges():
    full = replace(ENGLISH, id=12, title="Diminished control in crowdsourcing: an investigation "
                   "of crowdworker multitasking behavior", doi="")  # fmt: skip
    short = replace(full, id=13, title="Diminished Control in Crowdsourcing")
    assert engine_outcome(full, short) == "duplicate"


def test_one_address_but_other_authors_stays_apart():
    other = replace(ENGLISH, authors=("Mueller, K.", "Weber, A."))
    assert engine_outcome(GERMAN, other) == "distinct"


def test_one_first_page_only_is_not_an_address():
    a = replace(GERMAN, pages="205")
    b = replace(ENGLISH, pages="205")
    assert engine_outcome(a, b) == "distinct"


def test_one_address_with_another_issue_stays_apart():
    assert engine_outcome(GERMAN, replace(ENGLISH, issue="3")) == "distinct"


def test_one_abstract_printed_in_two_journals_supplements_leaves_the_queue():
    # the same meeting abstract in two journals' supplements, other pages: two records to keep
    a = replace(ARTICLE, journal="Journal of Vascular Research", volume="", pages="45")
    b = replace(a, id=2, journal="Cardiology (Switzerland)", pages="374")
    first, second = verdicts(a, b)
    assert first.outcome == POSSIBLE
    assert second.outcome == "distinct"
    assert "first pages 45 / 374" in second.reason


def test_supplement_page_is_not_an_article_number():
    bmj = replace(ARTICLE, journal="BMJ", volume="340", pages="1014")
    supplement = replace(bmj, id=2, pages="S67")
    _first, second = verdicts(bmj, supplement)
    assert second.outcome != "duplicate"


def test_explanation_says_the_pair_was_settled_on_a_second_look():
    from review.dedup.explain import explain_match

    match = find_duplicates([GERMAN, ENGLISH]).matches[0]
    phrases = explain_match(match.reason)
    assert phrases[0] == (
        "Settled on a second look: same authors, journal, year, volume and page range; "
        "the titles differ (translated or shortened)"
    )
    assert "Same first author and year" in phrases


def test_a_paper_and_its_later_version_at_another_venue_leave_the_queue():
    icis = DedupRecord(
        id=1,
        title="Home bias in online employment",
        authors=("Liang, Chen", "Hong, Kevin", "Gu, Bin"),
        year=2017,
        journal="International Conference on Information Systems",
    )
    hicss = replace(icis, id=2, authors=("Liang, C.", "Hong, Y.", "Gu, B."), year=2018,
                    journal="Proceedings of the 51st Hawaii International Conference on "
                    "System Sciences")  # fmt: skip
    first, second = verdicts(icis, hicss)
    assert first.outcome == POSSIBLE
    assert second.outcome == "distinct"
    assert "another venue in another year" in second.reason
    # the same venue a year later (proceedings dated the next year) stays for a person
    later = replace(icis, id=3, year=2018)
    assert engine_outcome(icis, later) == POSSIBLE


COLUMN = DedupRecord(
    id=1, title="Editor's Comments", authors=("Weber, R",), year=2002,
    journal="MIS Quarterly", volume="26", issue="1",
)  # fmt: skip


def test_a_column_recurring_in_each_issue_leaves_the_queue():
    """The same editor's column in issues 1 and 2 of one volume: two articles (issue 16's
    digital_work search queued twenty such pairs)."""
    first, second = verdicts(COLUMN, replace(COLUMN, id=2, issue="2"))
    assert first.outcome == POSSIBLE
    assert second.outcome == "distinct"
    assert "issues 1 / 2 of one journal" in second.reason


def test_an_issue_written_another_way_or_missing_is_not_against_the_pair():
    for other in ("01", "", "1-2"):
        _, second = verdicts(COLUMN, replace(COLUMN, id=2, issue=other))
        assert "of one journal" not in second.reason, other
