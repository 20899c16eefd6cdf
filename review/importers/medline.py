"""PubMed MEDLINE / .nbib text: `TAG - value`, tags padded to four characters, continuation
lines indented by six spaces, records separated by blank lines (NLM's MEDLINE display format).
"""

from __future__ import annotations

import re

from review.importers.base import Context, first_value, warn_stray_lines

_TAG = re.compile(r"([A-Z][A-Z0-9]{1,3}) {0,3}- ?(.*)$")
_DOI = re.compile(r"^(.*?)\s*\[doi\]\s*$", re.IGNORECASE)


def parse_text(text: str, ctx: Context) -> None:
    lines = text.split("\n")
    entry: dict[str, list[str]] | None = None
    start = 0
    last_tag = ""
    stray_start = 0

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            if entry is not None:
                _finish(entry, start, ctx)
                entry = None
            continue
        match = _TAG.match(line) if not line[0].isspace() else None
        if match is not None:
            tag, value = match.group(1), match.group(2).strip()
            if entry is not None and tag == "PMID" and entry:
                _finish(entry, start, ctx)  # no blank line between two records
                entry = None
            if entry is None:
                if stray_start:
                    _stray(ctx, stray_start, number - 1)
                    stray_start = 0
                entry = {}
                start = number
            entry.setdefault(tag, []).append(value)
            last_tag = tag
        elif entry is not None:
            values = entry[last_tag]
            values[-1] = f"{values[-1]} {line.strip()}" if values[-1] else line.strip()
        else:
            stray_start = stray_start or number
    if stray_start:
        _stray(ctx, stray_start, len(lines))
    if entry is not None:
        _finish(entry, start, ctx)


def _stray(ctx: Context, first: int, last: int) -> None:
    warn_stray_lines(ctx, first, last, "text that is not a MEDLINE tag line (TAG - value)")


def _doi(entry: dict[str, list[str]]) -> str:
    for tag in ("AID", "LID"):
        for value in entry.get(tag, ()):
            match = _DOI.match(value)
            if match:
                return match.group(1)
    return ""


def _finish(entry: dict[str, list[str]], line: int, ctx: Context) -> None:
    get = entry.get
    authors = list(get("FAU", ())) or list(get("AU", ()))
    authors += get("CN", [])
    ctx.add(
        {
            "title": first_value(entry, "TI", "BTI", "TT"),
            "abstract": " ".join(get("AB", ())),
            "authors": authors,
            "year": first_value(entry, "DP", "DEP"),
            "journal": first_value(entry, "JT", "TA"),
            "volume": first_value(entry, "VI"),
            "issue": first_value(entry, "IP"),
            "pages": first_value(entry, "PG"),
            "doi": _doi(entry),
            "pmid": first_value(entry, "PMID"),
            "keywords": [*get("MH", ()), *get("OT", ())],
            "language": first_value(entry, "LA"),
        },
        line,
        entry,
    )
