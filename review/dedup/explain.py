"""How two records matched, in words a reviewer reads.

The rules (`rules.judge`, `engine`) explain each match in a compact technical form that is
stored with the pair, e.g. ``rule: … | agree: same DOI 10.1/x; title 0.97; first author =
(smith/smith), author overlap 1.00; year equal | differ: journal differs``. `explain_match`
turns it into plain phrases ("Same DOI", "Titles 97% alike", "Same first author and year",
"Different journals"): the one place that wording lives, used for stored pairs old and new.
"""

from __future__ import annotations

import re

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
