"""Pair rules: field agreement → duplicate / possible / distinct, with an explanation.

Precision first. A pair is merged automatically only on an identifier (DOI or PMID) backed by a
similar title, or on a near-identical title backed by agreeing authors and bibliographic detail
(journal, volume, pages, abstract). Any field conflict that proves two records are different
items (two DOIs of one registrant, two PMIDs, different first pages or volumes, years more than
one apart, an erratum/reply against an article, a conference abstract against a journal article
with other pages) stops an automatic merge.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import Indel
from rapidfuzz.fuzz import token_set_ratio

from .normalise import dois_conflict, issues_conflict, journals_compatible
from .prepare import Prepared

DUPLICATE = "duplicate"
POSSIBLE = "possible"
DISTINCT = "distinct"


@dataclass
class Verdict:
    outcome: str
    score: float
    reason: str


def title_similarity(x: Prepared, y: Prepared) -> float:
    if not x.title or not y.title:
        return 0.0
    if x.title == y.title:
        return 1.0
    return Indel.normalized_similarity(x.title, y.title)


def _surname_close(a: str, b: str) -> bool:
    if a == b:
        return True
    if not a or not b:
        return False
    if min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)):
        return True  # compound names cut short: "kroellerschoen" / "kroeller"
    return Indel.normalized_similarity(a, b) >= 0.8


def author_agreement(x: Prepared, y: Prepared) -> tuple[str, str]:
    """('agree' | 'partial' | 'conflict' | 'unknown', description)."""
    if not x.authors or not y.authors:
        return "unknown", "authors missing"
    first = _surname_close(x.first_author, y.first_author)
    sx, sy = x.surnames, y.surnames
    common = len(sx & sy)
    if common < min(len(sx), len(sy)):  # tolerate spelling variants
        rest_y = list(sy - sx)
        for name in sx - sy:
            if any(_surname_close(name, other) for other in rest_y):
                common += 1
    overlap = common / max(1, min(len(sx), len(sy)))
    text = f"first author {'=' if first else '≠'} ({x.first_author}/{y.first_author}), "
    text += f"author overlap {overlap:.2f}"
    if first and overlap >= 0.6:
        return "agree", text
    if first or overlap >= 0.6:
        return "partial", text
    if overlap <= 0.25:
        return "conflict", text
    return "partial", text


def _digits(page: str) -> str:
    return page.lstrip("abcdefghijklmnopqrstuvwxyz")


def pages_relation(x: Prepared, y: Prepared) -> str:
    """'equal' | 'overlap' | 'different' | 'unknown' on first pages (S/e/A prefixes tolerated)."""
    if not x.pstart or not y.pstart:
        return "unknown"
    if x.pstart == y.pstart:
        return "equal"
    if _digits(x.pstart) == _digits(y.pstart):
        return "equal"
    # overlapping ranges (`S145-S146` / `S146`): the same pages indexed from another start
    for p, q in ((x, y), (y, x)):
        lo, hi = _digits(p.pstart), _digits(p.pend)
        other = _digits(q.pstart)
        if lo.isdigit() and hi.isdigit() and other.isdigit() and int(lo) <= int(other) <= int(hi):
            return "overlap"
    # article number (single page) vs "1-12": not comparable
    for p, q in ((x, y), (y, x)):
        if not p.pend and _digits(q.pstart) == "1" and q.pend:
            return "unknown"
    return "different"


def journal_relation(x: Prepared, y: Prepared) -> str:
    if x.issns and y.issns and x.issns & y.issns:
        return "equal"
    if not x.journal or not y.journal:
        return "unknown"
    if x.journal == y.journal or journals_compatible(x.journal_toks, y.journal_toks):
        return "equal"
    if token_set_ratio(x.journal, y.journal) >= 90:
        return "equal"
    return "different"


def hard_conflicts(x: Prepared, y: Prepared, title_sim: float) -> list[str]:
    """Field disagreements that prove two records are different items."""
    found = []
    if dois_conflict(x.doi, y.doi) == "family":
        found.append(f"different DOIs of one registrant ({x.doi} / {y.doi})")
    if x.pmid and y.pmid and x.pmid != y.pmid:
        found.append(f"different PMIDs ({x.pmid} / {y.pmid})")
    if x.notice != y.notice:
        found.append("erratum/reply/comment vs article")
    if x.year and y.year and abs(x.year - y.year) > 1:
        found.append(f"years {x.year} / {y.year}")
    if x.volume and y.volume and x.volume != y.volume and not (x.conference or y.conference):
        found.append(f"volumes {x.volume} / {y.volume}")
    if issues_conflict(x.issue_span, y.issue_span):
        found.append(f"issues {_span(x.issue_span)} / {_span(y.issue_span)}")
    if pages_relation(x, y) == "different":
        found.append(f"first pages {x.pstart} / {y.pstart}")
    if title_sim < 0.6:
        found.append(f"titles differ ({title_sim:.2f})")
    return found


def _span(span: tuple[int, int]) -> str:
    return str(span[0]) if span[0] == span[1] else f"{span[0]}-{span[1]}"


def judge(x: Prepared, y: Prepared, shared_dois: frozenset[str] | set[str]) -> Verdict:
    """The rule-based verdict for one candidate pair."""
    t = title_similarity(x, y)
    agree: list[str] = []
    disagree: list[str] = []

    same_doi = bool(x.doi) and x.doi == y.doi
    doi_is_shared = same_doi and x.doi in shared_dois
    same_pmid = bool(x.pmid) and x.pmid == y.pmid
    doi_conf = dois_conflict(x.doi, y.doi)
    if same_doi:
        agree.append(f"same DOI {x.doi}" + (" (shared by several titles)" if doi_is_shared else ""))
    if same_pmid:
        agree.append(f"same PMID {x.pmid}")
    agree.append(f"title {t:.2f}") if t >= 0.9 else disagree.append(f"title {t:.2f}")

    authors, author_text = author_agreement(x, y)
    (agree if authors == "agree" else disagree).append(author_text)

    if x.year and y.year:
        if x.year == y.year:
            agree.append("year equal")
        else:
            disagree.append(f"years {x.year}/{y.year}")
    journal = journal_relation(x, y)
    if journal == "equal":
        agree.append("journal equal")
    elif journal == "different":
        disagree.append("journal differs")
    volume = "unknown"
    if x.volume and y.volume:
        volume = "equal" if x.volume == y.volume else "different"
        agree.append("volume equal") if volume == "equal" else None
    pages = pages_relation(x, y)
    if pages == "equal":
        agree.append("pages equal")
    abstract = None
    if len(x.abstract) >= 100 and len(y.abstract) >= 100:
        abstract = Indel.normalized_similarity(x.abstract, y.abstract)
        if abstract >= 0.9:
            agree.append(f"abstract {abstract:.2f}")
        elif abstract < 0.6:
            disagree.append(f"abstract {abstract:.2f}")
    if x.conference != y.conference:
        disagree.append("conference abstract vs article")

    conflicts = hard_conflicts(x, y, t)
    soft = []
    if doi_conf == "other":
        soft.append(f"different DOIs ({x.doi} / {y.doi})")
    if authors == "conflict":
        soft.append("different authors")
    if x.year and y.year and abs(x.year - y.year) == 1:
        soft.append("years one apart")
    if x.conference != y.conference and pages != "equal" and (abstract or 0) < 0.95:
        soft.append("conference abstract vs article")
    if abstract is not None and abstract < 0.5:
        soft.append("abstracts differ")

    support = sum(
        (
            journal == "equal",
            volume == "equal",
            pages == "equal",
            bool(x.issue) and x.issue == y.issue,
            bool(x.year) and x.year == y.year,
            abstract is not None and abstract >= 0.9,
        )
    )
    score = _score(t, authors, same_doi and not doi_is_shared, same_pmid, support, conflicts, soft)

    def verdict(outcome: str, rule: str) -> Verdict:
        parts = [rule]
        if agree:
            parts.append("agree: " + "; ".join(agree))
        if disagree:
            parts.append("differ: " + "; ".join(disagree))
        if conflicts or soft:
            parts.append("conflicts: " + "; ".join(conflicts + soft))
        return Verdict(outcome, score, " | ".join(parts))

    strong_id = (same_doi and not doi_is_shared) or same_pmid
    detail_only = all(c.startswith(("volumes", "first pages")) for c in conflicts)
    if (
        conflicts
        and strong_id
        and detail_only
        and t >= 0.95
        and authors == "agree"
        and not soft
        and (abstract is None or abstract >= 0.9)
    ):
        # one identifier, one title, one author list: a wrong volume or page in one database
        return verdict(DUPLICATE, "rule: same identifier and title despite a detail conflict")
    if conflicts:
        if strong_id and t >= 0.9 and authors != "conflict" and len(conflicts) == 1:
            return verdict(POSSIBLE, "rule: identifier shared but a field conflicts")
        if (
            t >= 0.9
            and authors != "conflict"
            and not any(
                c.startswith(("different DOIs", "different PMIDs", "erratum")) for c in conflicts
            )
            and len(conflicts) == 1
        ):
            return verdict(POSSIBLE, "rule: similar title but a field conflicts")
        return verdict(DISTINCT, "rule: conflicting fields")

    if strong_id:
        if (t >= 0.95 and (abstract or 0) >= 0.9) or (t >= 0.95 and pages == "equal" == volume):
            return verdict(DUPLICATE, "rule: same identifier, same title and details")
        if t >= 0.8 and authors != "conflict":
            return verdict(DUPLICATE, "rule: same identifier and similar title")
        if t >= 0.6 and authors == "agree" and not soft:
            return verdict(DUPLICATE, "rule: same identifier, same authors, related title")
        return verdict(POSSIBLE, "rule: same identifier but title/authors differ")

    # no identifier in common
    if (
        soft == [f"different DOIs ({x.doi} / {y.doi})"]
        and t >= 0.97
        and authors == "agree"
        and pages == "equal"
        and volume == "equal"
        and journal == "equal"
        and x.year == y.year
    ):
        # DOIs from two registrants on an otherwise identical citation: one DOI is mis-keyed
        return verdict(DUPLICATE, "rule: identical citation; DOIs of two registrants disagree")
    if (
        soft == ["years one apart"]
        and t >= 0.95
        and authors == "agree"
        and pages == "equal"
        and support >= 3
        and ((abstract or 0) >= 0.9 or volume == "equal")
    ):
        # online-first vs print year
        return verdict(DUPLICATE, "rule: same title, authors, pages; year off by one")
    if (
        t >= 0.7
        and not soft
        and authors == "agree"
        and pages == "equal"
        and volume == "equal"
        and journal == "equal"
        and bool(x.pend)
        and x.pend == y.pend
        and ((abstract or 0) >= 0.9 or (bool(x.issue) and x.issue == y.issue))
    ):
        return verdict(DUPLICATE, "rule: same authors, journal, volume, page range; title variant")
    if t >= 0.97 and authors == "agree" and not soft and support >= 2:
        return verdict(DUPLICATE, "rule: same title, authors and details")
    if t >= 0.9 and authors == "agree" and not soft and support >= 3 and pages == "equal":
        return verdict(DUPLICATE, "rule: similar title, same authors, same pages")
    if t >= 0.97 and authors == "unknown" and not soft and support >= 4 and pages == "equal":
        return verdict(DUPLICATE, "rule: same title and details, authors missing")
    if t >= 0.85 and authors != "conflict":
        return verdict(POSSIBLE, "rule: similar title, not enough agreement to merge")
    if t >= 0.95:
        return verdict(POSSIBLE, "rule: same title, different authors")
    return verdict(DISTINCT, "rule: not similar enough")


def _score(t, authors, doi, pmid, support, conflicts, soft) -> float:
    score = 0.55 * t
    score += {"agree": 0.15, "partial": 0.08, "unknown": 0.05, "conflict": 0.0}[authors]
    score += 0.15 if (doi or pmid) else 0.0
    score += 0.025 * min(support, 6)
    score -= 0.2 * len(conflicts) + 0.05 * len(soft)
    return round(max(0.0, min(1.0, score)), 4)
