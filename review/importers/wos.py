"""Web of Science exports: the plain-text "Other file formats → Plain text" file (FN/VR header,
PT … ER records, EF) and the tab-delimited file (a header row of field tags: PT, AU, AF, TI…).
"""

from __future__ import annotations

import csv
import re

from review.importers import normalise
from review.importers.base import Context, first_value, warn_stray_lines

_TAG = re.compile(r"([A-Z][A-Z0-9])(?: (.*))?$")
# Tags whose continuation lines are separate items rather than wrapped text.
_LIST_TAGS = frozenset({"AU", "AF", "BA", "BF", "CA", "GP", "BE", "C1", "C3", "CR", "ED", "RP"})
_HEADER_TAGS = frozenset({"FN", "VR", "EF"})


def is_tab_delimited(text: str) -> bool:
    head = text.split("\n", 1)[0]
    return head.startswith("PT\t") or ("\tTI\t" in head and "\tAU\t" in head)


def parse_text(text: str, ctx: Context) -> None:
    if is_tab_delimited(text):
        parse_tab(text, ctx)
    else:
        parse_plain(text, ctx)


def parse_plain(text: str, ctx: Context) -> None:
    lines = text.split("\n")
    entry: dict[str, list[str]] | None = None
    start = 0
    last_tag = ""
    stray_start = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if line.startswith("   ") or line[0] == "\t":
            if entry is not None and last_tag:
                values = entry[last_tag]
                if last_tag in _LIST_TAGS:
                    values.append(line.strip())
                else:
                    values[-1] = f"{values[-1]} {line.strip()}"
            elif entry is None:
                stray_start = stray_start or number
            continue
        match = _TAG.match(line)
        if match is None:
            if entry is None:
                stray_start = stray_start or number
            else:
                ctx.warning(
                    number, f"Line {number}: {line[:40]!r} is not a field tag line; ignored."
                )
            continue
        tag, value = match.group(1), (match.group(2) or "").strip()
        if tag in _HEADER_TAGS:
            if entry is not None and tag == "EF":
                ctx.error(
                    start,
                    f"Entry starting at line {start} has no ER tag before the EF (end of file) "
                    f"tag at line {number}; it was closed there.",
                )
                _finish(entry, start, ctx)
                entry = None
            continue
        if tag == "PT":
            if stray_start:
                _stray(ctx, stray_start, number - 1)
                stray_start = 0
            if entry is not None:
                ctx.error(
                    start,
                    f"Entry starting at line {start} has no ER tag before the next PT "
                    f"(line {number}); it was closed there.",
                )
                _finish(entry, start, ctx)
            entry = {"PT": [value]}
            start = number
            last_tag = "PT"
        elif tag == "ER":
            if entry is None:
                ctx.warning(number, f"Line {number}: an ER tag without a PT before it was ignored.")
            else:
                _finish(entry, start, ctx)
                entry = None
        elif entry is None:
            stray_start = stray_start or number
        else:
            entry.setdefault(tag, []).append(value)
            last_tag = tag
    if stray_start:
        _stray(ctx, stray_start, len(lines))
    if entry is not None:
        ctx.error(
            start,
            f"Entry starting at line {start} is not closed: the file ends without an ER tag "
            "(was the download cut short?).",
        )
        _finish(entry, start, ctx)


def parse_tab(text: str, ctx: Context) -> None:
    ctx.unit = "Row"
    reader = csv.reader(text.split("\n"), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [h.strip() for h in next(reader)]
    width = len(header)
    for index, row in enumerate(reader):
        number = index + 2
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            ctx.warning(
                number,
                f"Row {number} has {len(row)} cells but the header has {width}; "
                "the extra cells were ignored.",
            )
        entry: dict[str, list[str]] = {}
        for tag, cell in zip(header, row, strict=False):
            cell = cell.strip()
            if tag and cell:
                if tag in _LIST_TAGS:
                    entry[tag] = [v.strip() for v in cell.split(";") if v.strip()]
                else:
                    entry[tag] = [cell]
        _finish(entry, number, ctx)


def _stray(ctx: Context, first: int, last: int) -> None:
    warn_stray_lines(ctx, first, last, "text outside any record (not between PT and ER)")


def _finish(entry: dict[str, list[str]], line: int, ctx: Context) -> None:
    get = entry.get
    authors = list(get("AF", ())) or list(get("AU", ()))
    if not authors:
        authors = list(get("CA", ())) or list(get("GP", ()))
    keywords: list[str] = []
    for tag in ("DE", "ID"):
        for value in get(tag, ()):
            keywords.extend(normalise.split_keywords(value))
    pages = normalise.join_pages(first_value(entry, "BP"), first_value(entry, "EP")) or first_value(
        entry, "AR"
    )
    ctx.add(
        {
            "title": first_value(entry, "TI"),
            "abstract": " ".join(get("AB", ())),
            "authors": authors,
            "year": first_value(entry, "PY", "EA"),
            "journal": first_value(entry, "SO", "SE", "BS", "J9", "JI"),
            "volume": first_value(entry, "VL"),
            "issue": first_value(entry, "IS"),
            "pages": pages,
            "doi": first_value(entry, "DI", "D2"),
            "pmid": first_value(entry, "PM"),
            "keywords": keywords,
            "language": first_value(entry, "LA"),
        },
        line,
        {
            tag: (values if tag in _LIST_TAGS or len(values) > 1 else values[0])
            for tag, values in entry.items()
        },
    )
