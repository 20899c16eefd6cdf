"""How two records matched, in words a reviewer reads (not the engine's field names)."""

from dataclasses import replace

import pytest

from review.dedup import DedupRecord
from review.dedup.explain import describe_pair, explain_match


@pytest.mark.parametrize(
    ("reason", "plain"),
    [
        (
            "rule: same identifier and similar title | agree: same DOI 10.1/x; title 0.97; "
            "first author = (smith/smith), author overlap 1.00; year equal | "
            "differ: journal differs",
            ["Same DOI", "Titles 97% alike", "Same first author and year", "All authors shared",
             "Different journals"],
        ),
        (
            "rule: similar title but a field conflicts | agree: title 0.93; journal equal | "
            "differ: first author ≠ (lee/li), author overlap 0.50; years 2019/2021 | "
            "conflicts: years 2019 / 2021",
            ["Titles 93% alike", "Same journal", "Different first authors (lee, li)",
             "50% of authors shared", "Years differ (2019, 2021)"],
        ),
        (
            "demoted: would join 12 and 40 (first pages 10 / 99) | rule: same title, authors and "
            "details | agree: same PMID 123; title 1.00; pages equal; volume equal",
            ["Same PubMed ID", "Same title", "Same pages", "Same volume",
             "Not merged automatically: it would join records with different first pages "
             "(10, 99)"],
        ),
        (
            "rule: same identifier but title/authors differ | agree: same DOI 10.1/y (shared by "
            "several titles) | differ: title 0.55; authors missing; abstract 0.40 | "
            "conflicts: titles differ (0.55); abstracts differ",
            ["Same DOI, but other titles share it", "Titles only 55% alike",
             "Authors missing on a record", "Abstracts only 40% alike"],
        ),
    ],
)
def test_the_match_is_explained_in_plain_words(reason, plain):
    assert explain_match(reason) == plain


def test_a_different_issue_is_explained():
    reason = (
        "rule: similar title but a field conflicts | agree: title 1.00; journal equal; volume "
        "equal | conflicts: issues 1 / 2"
    )
    assert explain_match(reason)[-1] == "Different issues (1, 2)"


def test_no_engine_words_reach_the_reader():
    words = " ".join(
        explain_match(
            "rule: x | agree: title 0.91; abstract 0.95 | differ: conference abstract vs article "
            "| conflicts: erratum/reply/comment vs article; different DOIs of one registrant "
            "(10.1/a / 10.1/b); volumes 3 / 4; years one apart; different authors"
        )
    )
    for jargon in ("rule:", "agree:", "differ:", "conflicts:", "0.9", "registrant", " vs "):
        assert jargon not in words
    assert "Different volumes (3, 4)" in words


# -- describe_pair: how two records compare, read from the records themselves ---------------

ARTICLE = DedupRecord(
    id=1,
    title="Liraglutide reduces atherosclerotic plaque in apolipoprotein E-deficient mice",
    authors=("Smith J. A.", "Olsen K."),
    year=2015,
    journal="Atherosclerosis",
    volume="240",
    issue="2",
    pages="32",
    doi="10.1016/j.atherosclerosis.2015.03.012",
)


def test_a_pair_is_described_in_plain_words():
    other = DedupRecord(
        id=2,
        title="Liraglutide reduces atherosclerotic plaque in apolipoprotein E deficient mice.",
        authors=("Smith, John A.", "Olsen, Karl"),
        year=2015,
        journal="Atherosclerosis",
        volume="240",
        issue="2",
        pages="S112",
        doi="https://doi.org/10.1016/J.ATHEROSCLEROSIS.2015.03.012",
    )
    words = describe_pair(ARTICLE, other)
    assert words[:2] == ["same DOI", "titles differ only in punctuation"]
    assert "pages 32 vs S112" in words
    assert "same authors" in words and "same year" in words and "same journal" in words


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        ({"title": ARTICLE.title}, "same title"),
        ({"title": ARTICLE.title.upper()}, "titles differ only in capitals"),
        (
            {"title": ARTICLE.title + ".[Erratum appears in Atherosclerosis. 201"},
            "titles differ only by a note appended to one",
        ),
        ({"title": "Liraglutide and plaque in mice"}, "titles 52% alike"),
        ({"doi": "10.1016/j.atherosclerosis.2015.09.001"}, "DOIs differ (10.1016"),
        ({"doi": ""}, "DOI on one record only"),
        ({"year": 2016}, "years 2015 vs 2016"),
        ({"volume": "241"}, "volumes 240 vs 241"),
        ({"issue": "3"}, "issues 2 vs 3"),
        ({"journal": "Atheroscler"}, "same journal (abbreviated)"),
        ({"authors": ("Jones P.",)}, "first authors Smith J. A. vs Jones P."),
        ({"title": "Erratum: " + ARTICLE.title}, "one is an erratum, reply or comment"),
    ],
)
def test_each_difference_has_its_phrase(change, phrase):
    words = describe_pair(ARTICLE, replace(ARTICLE, id=2, **change))
    assert any(w.startswith(phrase) for w in words), words


def test_the_description_has_no_engine_words():
    words = "; ".join(describe_pair(ARTICLE, replace(ARTICLE, id=2, year=2017, pages="40-9")))
    for jargon in ("0.", "registrant", "≠", "overlap", "agree:", "rule:"):
        assert jargon not in words
