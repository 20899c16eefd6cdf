"""EndNote tagged export (Refer/BibIX): `%0 Journal Article`, `%T title`, `%A author` (one per
line), records separated by blank lines. A line without a tag continues the field above it; under
`%K` each such line is a keyword of its own (EndNote writes one keyword per line).

Tags used: %T title; %A and %Q authors (%E editors are not authors); %D year (else %8 date);
%J journal (else %B, the book or secondary title); %V volume; %N issue; %P pages; %R DOI (values
that are not DOIs, such as URNs, are skipped); %X abstract; %K keywords; %M accession number,
a PMID when %~ (name of database) or %W (database provider) says PubMed, MEDLINE or NLM; %U URL;
%G language. Every tag is kept in ``raw`` (tag without `%` → list of values).
"""

from __future__ import annotations

import re

from review.importers import normalise
from review.importers.base import Context, first_value, skip_untitled, warn_stray_lines

_MEDLINE = re.compile(r"medline|pubmed|\bnlm\b", re.IGNORECASE)


def is_tag_line(line: str) -> bool:
    return len(line) >= 2 and line[0] == "%" and not line[1].isspace() and line[2:3] in ("", " ")


def parse_text(text: str, ctx: Context) -> None:
    lines = text.split("\n")
    entry: dict[str, list[str]] | None = None
    start = 0
    last_tag = ""
    stray_start = stray_end = 0
    count = 0

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            if entry is not None:
                count += 1
                _finish(entry, start, count, ctx)
                entry = None
            continue
        if is_tag_line(line):
            tag, value = line[1], line[3:].strip()
            if entry is None:
                if stray_start:
                    _stray(ctx, stray_start, stray_end)
                    stray_start = 0
                entry = {}
                start = number
            entry.setdefault(tag, []).append(value)
            last_tag = tag
        elif entry is not None:
            values = entry[last_tag]
            if last_tag == "K":
                values.append(line.strip())
            else:
                values[-1] = f"{values[-1]} {line.strip()}" if values[-1] else line.strip()
        else:
            stray_start = stray_start or number
            stray_end = number
    if stray_start:
        _stray(ctx, stray_start, stray_end)
    if entry is not None:
        _finish(entry, start, count + 1, ctx)


def _stray(ctx: Context, first: int, last: int) -> None:
    warn_stray_lines(ctx, first, last, "text that is not part of a tagged record (%0, %T, %A…)")


def _finish(entry: dict[str, list[str]], line: int, number: int, ctx: Context) -> None:
    get = entry.get
    title = first_value(entry, "T")
    if skip_untitled(ctx, title, line, f"{ctx.where(line)} (record {number})"):
        return
    keywords: list[str] = []
    for value in get("K", ()):
        keywords.extend(value.split(";") if ";" in value else (value,))
    doi = next((value for value in get("R", ()) if normalise.doi(value)), "")
    accession = first_value(entry, "M")
    database = " ".join([*get("~", ()), *get("W", ())])
    pmid = ""
    if accession.lower().startswith("pmid") or (accession.isdigit() and _MEDLINE.search(database)):
        pmid = accession
    ctx.add(
        {
            "title": title,
            "abstract": " ".join(get("X", ())),
            "authors": [*get("A", ()), *get("Q", ())],
            "year": first_value(entry, "D", "8"),
            "journal": first_value(entry, "J", "B"),
            "volume": first_value(entry, "V"),
            "issue": first_value(entry, "N"),
            "pages": first_value(entry, "P"),
            "doi": doi,
            "pmid": pmid,
            "url": first_value(entry, "U"),
            "keywords": keywords,
            "language": first_value(entry, "G"),
        },
        line,
        entry,
    )
