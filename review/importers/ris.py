"""RIS (Ovid/Embase, Scopus, Web of Science, EndNote, Zotero, Mendeley…).

A careful line parser, so every entry knows the line it starts on and broken files give
precise messages; tag names in ``raw`` follow rispy's mapping (``rispy.TAG_KEY_MAPPING``), so
``rispy.dumps([record.raw])`` writes the entry back out.
"""

from __future__ import annotations

import re
from collections import Counter

from rispy.config import LIST_TYPE_TAGS, TAG_KEY_MAPPING

from review.importers import normalise
from review.importers.base import Context, first_value, warn_stray_lines

_TAG = re.compile(r"([A-Z][A-Z0-9]) {1,2}-(?: (.*)|\s*)$")
_BARE_ER = re.compile(r"(ER)\s*-?\s*()$")
_PUBMED_ID_NOTE = re.compile(r"PubMed ID:\s*(\d+)", re.IGNORECASE)
_LIST_TAGS = frozenset(LIST_TYPE_TAGS)
_MEDLINE_DB = re.compile(r"medline|pubmed", re.IGNORECASE)
# "If the information following any one tag is more than 70 characters long, it is allowable
# … to insert a carriage return/line feed at the end of 70 characters" (RIS specification).
_WRAP_WIDTH = 70


def parse_text(text: str, ctx: Context) -> None:
    lines = text.split("\n")
    entry: dict[str, list[str]] | None = None
    start = 0
    last_tag = ""
    stray_start = 0  # first line of a stretch of text outside any entry
    match_tag = _TAG.match

    for number, line in enumerate(lines, start=1):
        # Fast path for the standard "XX  - value" line; the regex handles odd spacing.
        tag = line[:2]
        if line[2:5] == "  -" and tag.isupper() and tag[0].isalpha() and line[5:6] in (" ", ""):
            value = line[6:].strip()
        else:
            match = match_tag(line) if len(line) >= 4 else None
            if match is None and tag == "ER":
                match = _BARE_ER.match(line)  # "ER", "ER -", "ER-" written by some tools
            if match is None:
                tag = ""
            else:
                tag = match.group(1)
                value = (match.group(2) or "").strip()
        if tag:
            if tag == "TY":
                if stray_start:
                    _stray(ctx, stray_start, number - 1)
                    stray_start = 0
                if entry is not None:
                    ctx.error(
                        start,
                        f"Entry starting at line {start} has no ER tag before the next TY "
                        f"(line {number}); it was closed there.",
                    )
                    _finish(entry, start, ctx)
                entry = {"TY": [value]}
                start = number
                last_tag = "TY"
            elif tag == "ER":
                if entry is None:
                    ctx.warning(
                        number, f"Line {number}: an ER tag without a TY before it was ignored."
                    )
                else:
                    _finish(entry, start, ctx)
                    entry = None
            elif entry is None:
                stray_start = stray_start or number
            else:
                entry.setdefault(tag, []).append(value)
                last_tag = tag
        elif not line.strip():
            continue
        elif entry is None:
            stray_start = stray_start or number
        elif last_tag == "KW" and _new_keyword(line, lines[number - 2]):
            entry["KW"].append(line.strip())
        else:
            values = entry.setdefault(last_tag, [""])
            values[-1] = f"{values[-1]} {line.strip()}" if values[-1] else line.strip()

    if stray_start:
        _stray(ctx, stray_start, len(lines))
    if entry is not None:
        end = len(lines) if lines[-1] else len(lines) - 1
        ctx.error(
            start,
            f"Entry starting at line {start} is not closed: the file ends at line {end} without "
            "an ER tag (was the download cut short?).",
        )
        _finish(entry, start, ctx)


def _new_keyword(line: str, previous: str) -> bool:
    """Is this untagged line after a KW line a keyword of its own? EndNote and Rayyan write the
    first keyword after the tag and each further one on its own untagged line. A line that is
    indented (Ovid), or that follows a line cut at the RIS specification's 70 characters,
    continues the keyword instead."""
    return not line[0].isspace() and len(previous.rstrip()) < _WRAP_WIDTH


def _stray(ctx: Context, first: int, last: int) -> None:
    warn_stray_lines(ctx, first, last, "text outside any entry (not between TY and ER tags)")


def raw_entry(entry: dict[str, list[str]]) -> dict:
    """The entry keyed like rispy's output (list tags as lists; unknown tags in unknown_tag)."""
    raw: dict = {}
    unknown: dict[str, list[str]] = {}
    for tag, values in entry.items():
        name = TAG_KEY_MAPPING.get(tag)
        if name is None:
            unknown[tag] = values
        elif tag in _LIST_TAGS or len(values) > 1:
            raw[name] = values
        else:
            raw[name] = values[0]
    if unknown:
        raw["unknown_tag"] = unknown
    return raw


def _authors(au: list[str], a1: list[str]) -> list[str]:
    """AU then A1, every name in order (two co-authors may share a written name), except that
    an A1 name already given as AU is not repeated: some tools write the authors under both."""
    authors = list(au)
    given = Counter(au)
    for name in a1:
        if given[name]:
            given[name] -= 1
        else:
            authors.append(name)
    return authors


def _finish(entry: dict[str, list[str]], line: int, ctx: Context) -> None:
    get = entry.get
    authors = _authors(get("AU", ()), get("A1", ()))
    keywords: list[str] = []
    for value in get("KW", ()):
        keywords.extend(value.split(";") if ";" in value else (value,))

    doi = first_value(entry, "DO", "DI")
    if not doi:
        for tag in ("M3", "UR", "L2", "N1", "ID"):
            for value in get(tag, ()):
                if normalise.doi(value):
                    doi = value
                    break
            if doi:
                break

    pmid = ""
    accession = first_value(entry, "AN")
    database = " ".join(get("DB", ())) + " " + " ".join(get("DP", ()))
    if accession and (
        accession.lower().startswith("pmid")
        or (_MEDLINE_DB.search(database) and accession.isdigit())
    ):
        pmid = accession
    if not pmid:
        for note in get("N1", ()):
            found = _PUBMED_ID_NOTE.search(note)
            if found:
                pmid = found.group(1)
                break

    url = first_value(entry, "UR", "L2")
    if ";" in url:
        url = url.split(";", 1)[0].strip()

    ctx.add(
        {
            "title": first_value(entry, "TI", "T1", "CT", "BT", "TT"),
            "abstract": " ".join(get("AB", ())) or " ".join(get("N2", ())),
            "authors": authors,
            "year": first_value(entry, "PY", "Y1", "DA", "Y2"),
            "journal": first_value(entry, "JF", "JO", "T2", "JA", "J2"),
            "volume": first_value(entry, "VL"),
            "issue": first_value(entry, "IS"),
            "pages": normalise.join_pages(first_value(entry, "SP"), first_value(entry, "EP")),
            "doi": doi,
            "pmid": pmid,
            "url": url,
            "keywords": keywords,
            "language": first_value(entry, "LA"),
        },
        line,
        raw_entry(entry),
    )
