"""A second look at the pairs the rules could only call *possible*.

`rules.judge` is cautious: a pair with one field against it is queued for a person. On real
exports most of that queue falls into two kinds that the fields settle on their own:

- **the same citation with the author list written another way** (family and given names
  swapped by EndNote, a group author in place of the first author) or with an article number
  (`c1804`) where the other database gives printed pages: identical title and abstract, same
  journal and volume, years at most one apart, no DOI against it → *duplicate*;
- **two items that only share a title** (a conference abstract and the later article, a column
  that recurs every issue, two papers with one generic title): the abstracts differ, the DOIs
  differ, the volumes differ, one journal's issue numbers differ, or the author lists conflict
  with nothing else to back the pair
  → *distinct* (dropped from the queue).

What is left in the queue is a pair with a similar title, no field against it and not enough
agreement to merge. Each threshold is a round number chosen on the public labelled searches
(see docs/dedup.md, "Second look"); none depends on a data set.
"""

from __future__ import annotations

from rapidfuzz.distance import Indel

from .normalise import dois_conflict, issues_conflict
from .prepare import Prepared
from .rules import (
    DISTINCT,
    DUPLICATE,
    POSSIBLE,
    Verdict,
    author_agreement,
    hard_conflicts,
    journal_relation,
    pages_relation,
    title_similarity,
)

#: titles at least this similar count as the same title
SAME_TITLE = 0.97
#: abstracts (first 600 folded characters) at least this similar count as the same abstract
SAME_ABSTRACT = 0.95
#: a queued pair whose abstracts are less similar than this is two items
DIFFERENT_ABSTRACT = 0.9
#: a title shorter than this (folded) is too generic to merge on without an abstract
MIN_TITLE = 30


def abstract_similarity(x: Prepared, y: Prepared) -> float | None:
    """Indel similarity of the folded abstracts, or None when either is under 100 characters."""
    if len(x.abstract) < 100 or len(y.abstract) < 100:
        return None
    return Indel.normalized_similarity(x.abstract, y.abstract)


def _is_article_number(page: str) -> bool:
    """`c1804`, `a1754`, `e505`: an electronic locator rather than a printed page (`s67` is a
    supplement's printed page)."""
    return len(page) > 1 and page[0].isalpha() and page[0] != "s" and page[1:].isdigit()


def same_locator(x: Prepared, y: Prepared) -> bool:
    """Both records give the same journal, year, volume and whole page range (`205-226`, not a
    single page), issues do not disagree, and no DOI conflicts: one article's address, whatever
    its title (translated, subtitle dropped). Cheap; used by the engine to keep such pairs past
    the title filter."""
    return (
        bool(x.volume)
        and x.volume == y.volume
        and bool(x.pstart)
        and x.pstart == y.pstart
        and bool(x.pend)
        and x.pend == y.pend
        and x.pend != x.pstart
        and bool(x.year)
        and x.year == y.year
        and (not x.issue or not y.issue or x.issue == y.issue)
        and not dois_conflict(x.doi, y.doi)
        and x.notice == y.notice
    )


def _locator_verdict(x: Prepared, y: Prepared, verdict: Verdict) -> Verdict | None:
    """Duplicate when one article's address, the same authors and the same journal back a pair
    whose only conflict is the title (a translation, a subtitle dropped by one database)."""
    if not same_locator(x, y) or journal_relation(x, y) != "equal":
        return None
    authors, _ = author_agreement(x, y)
    if authors != "agree" or len(x.authors) < 1:
        return None
    abstract = abstract_similarity(x, y)
    if abstract is not None and abstract < DIFFERENT_ABSTRACT:
        return None
    t = title_similarity(x, y)
    conflicts = hard_conflicts(x, y, t)
    if any(not c.startswith("titles differ") for c in conflicts):
        return None
    return Verdict(
        DUPLICATE,
        max(verdict.score, 0.85),
        "second look: same authors, journal, year, volume and page range"
        + ("; the titles differ (translated or shortened)" if t < 0.9 else "")
        + f" | was: {verdict.reason}",
    )


def second_look(x: Prepared, y: Prepared, verdict: Verdict) -> Verdict:
    """Settle a *possible* verdict when the fields allow, and merge a *distinct* one whose only
    conflict is the title when the citation is one article's address; any other verdict is
    returned as is."""
    if verdict.outcome == DISTINCT:
        return _locator_verdict(x, y, verdict) or verdict
    if verdict.outcome != POSSIBLE:
        return verdict
    located = _locator_verdict(x, y, verdict)
    if located is not None:
        return located
    t = title_similarity(x, y)
    abstract = abstract_similarity(x, y)
    authors, _ = author_agreement(x, y)
    doi_conflict = dois_conflict(x.doi, y.doi)
    journal = journal_relation(x, y)
    pages = pages_relation(x, y)
    same_volume = bool(x.volume) and x.volume == y.volume
    years_close = not (x.year and y.year) or abs(x.year - y.year) <= 1
    same_notice = x.notice == y.notice
    same_kind = x.conference == y.conference
    shared_id = (bool(x.doi) and x.doi == y.doi) or (bool(x.pmid) and x.pmid == y.pmid)

    def settled(outcome: str, rule: str, score: float) -> Verdict:
        return Verdict(outcome, score, f"{rule} | was: {verdict.reason}")

    # --- the same citation -------------------------------------------------------------------
    if (
        t >= SAME_TITLE
        and not doi_conflict
        and same_notice
        and same_kind
        and journal == "equal"
        and same_volume
        and years_close
    ):
        pages_fit = pages in ("equal", "overlap", "unknown") or (
            pages == "different"
            and authors == "agree"
            and (_is_article_number(x.pstart) or _is_article_number(y.pstart))
        )
        if abstract is not None and abstract >= SAME_ABSTRACT and pages_fit:
            return settled(
                DUPLICATE,
                "second look: same title, abstract, journal and volume",
                max(verdict.score, 0.9),
            )
        if (
            abstract is None
            and pages == "equal"
            and bool(x.pend)
            and x.pend == y.pend
            and x.year == y.year
            and len(x.title) >= MIN_TITLE
            and (not x.issue or not y.issue or x.issue == y.issue)
        ):
            return settled(
                DUPLICATE,
                "second look: same title, journal, volume, page range and year",
                max(verdict.score, 0.88),
            )

    # --- two items that share a title ----------------------------------------------------------
    against = []
    if doi_conflict:
        against.append("different DOIs")
    if abstract is not None and abstract < DIFFERENT_ABSTRACT:
        against.append(f"abstracts differ ({abstract:.2f})")
    if x.volume and y.volume and x.volume != y.volume:
        against.append(f"volumes {x.volume} / {y.volume}")
    if journal == "equal" and issues_conflict(x.issue_span, y.issue_span):
        # one journal's issues 1 and 2 hold different articles: a column that recurs
        against.append(f"issues {x.issue} / {y.issue} of one journal")
    if x.year and y.year and abs(x.year - y.year) > 1:
        against.append(f"years {x.year} / {y.year}")
    elif x.year and y.year and x.year != y.year and journal == "different":
        # a paper and its later version at another venue
        against.append(f"another venue in another year ({x.year} / {y.year})")
    if authors == "conflict" and not (abstract is not None and abstract >= SAME_ABSTRACT):
        against.append("different authors")
    if not same_kind and pages != "equal":
        against.append("conference abstract vs article")
    article_number = _is_article_number(x.pstart) or _is_article_number(y.pstart)
    if pages == "different" and (
        not (abstract is not None and abstract >= SAME_ABSTRACT)
        or (journal == "different" and not article_number)
    ):
        # other pages in another journal: one abstract printed in two meetings' supplements
        against.append(f"first pages {x.pstart} / {y.pstart}")
    # one identifier and one title outweigh a single detail, but not two different abstracts
    excused = (
        shared_id
        and t >= SAME_TITLE
        and len(against) == 1
        and not against[0].startswith("abstracts")
    )
    if against and not excused:
        return settled(DISTINCT, "second look: " + "; ".join(against), verdict.score)
    return verdict
