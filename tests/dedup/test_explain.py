"""How two records matched, in words a reviewer reads (not the engine's field names)."""

import pytest

from review.dedup.explain import explain_match


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
