"""How two records matched, in words a reviewer reads.

The rules (`rules.judge`, `engine`) explain each match in a compact technical form that is
stored with the pair, e.g. ``rule: … | agree: same DOI 10.1/x; title 0.97; first author =
(smith/smith), author overlap 1.00; year equal | differ: journal differs``. `explain_match`
turns it into plain phrases ("Same DOI", "Titles 97% alike", "Same first author and year",
"Different journals"): the one place that wording lives, used for stored pairs old and new.
"""

from __future__ import annotations

import re

from rapidfuzz.distance import Indel

from review.keys import fold

from .normalise import clean_text, issues_conflict
from .prepare import Prepared
from .rules import author_agreement, journal_relation, pages_relation, title_similarity

_FIRST_AUTHOR = re.compile(r"first author (=|≠) \((.*?)/(.*?)\), author overlap ([\d.]+)")
_PAIR = r"(.+?) ?/ ?(.+)"


def _percent(value: str) -> int:
    return round(float(value) * 100)


def _alike(what: str, plural: str, value: str) -> tuple[str, str]:
    pct = _percent(value)
    if pct >= 100:
        return what, f"Same {what}"
    return what, f"{plural} {'only ' if pct < 60 else ''}{pct}% alike"


def _overlap(value: str) -> str:
    pct = _percent(value)
    if pct >= 100:
        return "All authors shared"
    return "No authors shared" if pct == 0 else f"{pct}% of authors shared"


# (pattern, key, phrase): the key keeps one phrase per fact (the rules may state it twice).
_PHRASES: list[tuple[re.Pattern, str, object]] = [
    (r"same DOI .* \(shared by several titles\)", "doi", "Same DOI, but other titles share it"),
    (r"same DOI .*", "doi", "Same DOI"),
    (r"same PMID .*", "pmid", "Same PubMed ID"),
    (r"title ([\d.]+)", None, lambda m: _alike("title", "Titles", m[1])),
    (r"titles differ \(([\d.]+)\)", None, lambda m: _alike("title", "Titles", m[1])),
    (r"abstract ([\d.]+)", None, lambda m: _alike("abstract", "Abstracts", m[1])),
    (r"abstracts differ", "abstract", "Different abstracts"),
    (r"authors missing", "authors", "Authors missing on a record"),
    (r"different authors", "authors", "Different authors"),
    (r"year equal", "year", "Same year"),
    (r"years one apart", "year", "Years one apart"),
    (rf"years {_PAIR}", "year", lambda m: f"Years differ ({m[1]}, {m[2]})"),
    (r"journal equal", "journal", "Same journal"),
    (r"journal differs", "journal", "Different journals"),
    (r"volume equal", "volume", "Same volume"),
    (rf"volumes {_PAIR}", "volume", lambda m: f"Different volumes ({m[1]}, {m[2]})"),
    (rf"issues {_PAIR}", "issue", lambda m: f"Different issues ({m[1]}, {m[2]})"),
    (r"pages equal", "pages", "Same pages"),
    (rf"first pages {_PAIR}", "pages", lambda m: f"Different first pages ({m[1]}, {m[2]})"),
    (r"different DOIs(?: of one registrant)? \((.+) / (.+)\)", "doi",
     lambda m: f"Different DOIs ({m[1]}, {m[2]})"),
    (r"different PMIDs \((.+) / (.+)\)", "pmid",
     lambda m: f"Different PubMed IDs ({m[1]}, {m[2]})"),
    (r"erratum/reply/comment vs article", "kind", "An erratum, reply or comment and an article"),
    (r"conference abstract vs article", "kind", "A conference abstract and an article"),
    (r"not similar enough", "similar", "Not alike enough"),
]  # fmt: skip
_COMPILED = [(re.compile(p), key, phrase) for p, key, phrase in _PHRASES]


def _phrase(item: str) -> tuple[str, str]:
    """(key, plain phrase) for one item of the rules' explanation."""
    for pattern, key, phrase in _COMPILED:
        match = pattern.fullmatch(item)
        if match:
            if callable(phrase):
                result = phrase(match)
                return result if isinstance(result, tuple) else (key, result)
            return key, phrase
    return item, item[:1].upper() + item[1:]  # not one of ours: shown as written


def explain_match(reason: str) -> list[str]:
    """Plain phrases for a stored match explanation: what agrees first, then what differs."""
    items: list[str] = []
    demoted = ""
    settled = ""
    for part in (reason or "").split(" | "):
        part = part.strip()
        if part.startswith("second look: "):  # triage.second_look: already in plain words
            settled = part.removeprefix("second look: ")
        if part.startswith("demoted: "):
            found = re.search(r"\((.*)\)$", part)
            demoted = found[1] if found else ""
        for label in ("agree: ", "differ: ", "conflicts: "):
            if part.startswith(label):
                items += [i.strip() for i in part.removeprefix(label).split("; ") if i.strip()]
    same_year = "year equal" in items
    seen: set[str] = set()
    phrases: list[str] = [f"Settled on a second look: {settled}"] if settled else []

    def add(key: str, text: str) -> None:
        if key not in seen:
            seen.add(key)
            phrases.append(text)

    for item in items:
        author = _FIRST_AUTHOR.fullmatch(item)
        if author:
            if author[1] == "=" and same_year:
                add("first author", "Same first author and year")
                seen.add("year")
            elif author[1] == "=":
                add("first author", "Same first author")
            else:
                add("first author", f"Different first authors ({author[2]}, {author[3]})")
            add("overlap", _overlap(author[4]))
            continue
        add(*_phrase(item))
    if demoted:
        key, why = _phrase(demoted)
        why = f"with {why[:1].lower()}{why[1:]}" if key != "similar" else "not alike enough"
        phrases.append(f"Not merged automatically: it would join records {why}")
    return phrases


# ---------------------------------------------------------------------------------------------
# describe_pair: the records themselves compared, for a person deciding a possible pair


def _shown(value) -> str:
    return " ".join(str(value or "").split())


def _title_phrase(x, y) -> str:
    a, b = _shown(x.rec.title), _shown(y.rec.title)
    if a == b:
        return "same title"
    if a.casefold() == b.casefold():
        return "titles differ only in capitals"
    if fold(clean_text(a)) == fold(clean_text(b)):
        return "titles differ only in punctuation"
    if x.title and x.title == y.title:
        return "titles differ only by a note appended to one"
    return f"titles {round(title_similarity(x, y) * 100)}% alike"


def _authors_phrase(x, y) -> str | None:
    a, b = x.rec.authors, y.rec.authors
    if not a and not b:
        return None
    if not a or not b:
        return "authors on one record only"
    if x.authors == y.authors or (
        x.surnames == y.surnames and author_agreement(x, y)[0] == "agree"
    ):
        return "same authors"
    agreement, _ = author_agreement(x, y)
    if agreement == "agree":
        return "same first author, most authors shared"
    if x.first_author != y.first_author:
        return f"first authors {_shown(a[0])} vs {_shown(b[0])}"
    shared = len(x.surnames & y.surnames)
    return f"{shared} of {max(len(x.surnames), len(y.surnames))} authors shared"


def describe_pair(a, b) -> list[str]:
    """Plain phrases comparing two `DedupRecord`s as a reviewer would read them: "same DOI",
    "titles differ only in punctuation", "pages 32 vs S112"; identifiers first, then title,
    authors, year, journal, volume, issue, pages and abstract. Values are shown as written."""
    x, y = Prepared(0, a), Prepared(1, b)
    words: list[str] = []
    if x.doi and y.doi:
        words.append("same DOI" if x.doi == y.doi else f"DOIs differ ({a.doi} vs {b.doi})")
    elif x.doi or y.doi:
        words.append("DOI on one record only")
    if x.pmid and y.pmid:
        words.append("same PubMed ID" if x.pmid == y.pmid else f"PubMed IDs {a.pmid} vs {b.pmid}")
    if a.title or b.title:
        words.append(_title_phrase(x, y))
    if x.notice != y.notice:
        words.append("one is an erratum, reply or comment")
    authors = _authors_phrase(x, y)
    if authors:
        words.append(authors)
    if x.year and y.year:
        words.append("same year" if x.year == y.year else f"years {x.year} vs {y.year}")
    journal = journal_relation(x, y)
    if journal == "equal":
        same = _shown(a.journal).casefold() == _shown(b.journal).casefold() or not (
            a.journal and b.journal
        )
        words.append("same journal" if same else "same journal (abbreviated)")
    elif journal == "different":
        words.append(f"journals {_shown(a.journal)} vs {_shown(b.journal)}")
    if x.volume and y.volume and x.volume != y.volume:
        words.append(f"volumes {_shown(a.volume)} vs {_shown(b.volume)}")
    if issues_conflict(x.issue_span, y.issue_span):
        words.append(f"issues {_shown(a.issue)} vs {_shown(b.issue)}")
    pages = pages_relation(x, y)
    if pages == "equal":
        words.append("same pages")
    elif pages in ("different", "overlap"):
        words.append(f"pages {_shown(a.pages)} vs {_shown(b.pages)}")
    if len(x.abstract) >= 100 and len(y.abstract) >= 100:
        similar = Indel.normalized_similarity(x.abstract, y.abstract)
        words.append(
            "same abstract" if similar >= 0.99 else f"abstracts {round(similar * 100)}% alike"
        )
    elif bool(a.abstract) != bool(b.abstract):
        words.append("abstract on one record only")
    if x.conference != y.conference:
        words.append("a conference abstract and an article")
    return words
