"""ProQuest plain-text export ("Download → TXT"): records separated by a line of underscores,
each starting with `Document 1 of 20` and its title on a line of its own, then `Label: value`
fields separated by blank lines (`Title:`, `Author:`, `Publication title:`, `Publication year:`,
`Volume:`, `Issue:`, `Pages:`, `Abstract:`, `DOI:`, `ISSN:`, `Document URL:` …). The report
header, table of contents and closing copyright block between separators are not records.

An abstract or full text may run over several paragraphs, and its paragraphs may start with
`Background:` or `Results:`; so a paragraph continues the field above it unless its label is a
ProQuest field name, or (below a short field) looks like one.
"""

from __future__ import annotations

import re

from review.importers import normalise
from review.importers.base import Context, first_value, skip_untitled

_SEPARATOR = re.compile(r"^_{20,}\s*$")
_DOCUMENT = re.compile(r"^Document (\d+) of \d+\s*$")
_LABEL = re.compile(r"^([A-Za-z][\w /&,().'®-]{0,50}?): (.*)$")

#: ProQuest's field labels (English interface), lower case.
KNOWN_FIELDS = frozenset(
    {
        "title",
        "alternate title",
        "author",
        "editor",
        "publication info",
        "links",
        "abstract",
        "translated abstract",
        "full text",
        "subject",
        "mesh subject",
        "identifier / keyword",
        "keywords",
        "location",
        "company / organization",
        "people",
        "classification",
        "publication title",
        "volume",
        "issue",
        "pages",
        "first page",
        "number of pages",
        "publication year",
        "publication date",
        "year",
        "section",
        "publisher",
        "place of publication",
        "country of publication",
        "publication subject",
        "issn",
        "e-issn",
        "isbn",
        "source type",
        "language of publication",
        "document type",
        "document feature",
        "doi",
        "pubmed id",
        "accession number",
        "proquest document id",
        "document url",
        "copyright",
        "last updated",
        "update",
        "first available online",
        "publication history",
        "conference title",
        "database",
        "advisor",
        "university/institution",
        "degree",
        "dissertation/thesis number",
    }
)
#: Fields whose text may run over several paragraphs.
_LONG_FIELDS = frozenset({"abstract", "translated abstract", "full text"})
_MEDLINE = re.compile(r"medline|pubmed", re.IGNORECASE)


def looks_like_proquest(text: str) -> bool:
    """A ProQuest text export: its report header, or a separator line followed by a
    `Document N of M` line or ProQuest's own field names."""
    if "Report Information from ProQuest" in text[:2000]:
        return True
    if not re.search(r"^_{20,}\s*$", text, re.MULTILINE):
        return False
    return bool(
        re.search(r"^Document \d+ of \d+\s*$", text, re.MULTILINE)
        or re.search(r"^(?:ProQuest document ID|Document URL): ", text, re.MULTILINE)
    )


def parse_text(text: str, ctx: Context) -> None:
    lines = text.split("\n")
    chunk_start = 1
    count = 0
    for number, line in enumerate([*lines, "_" * 20], start=1):
        if _SEPARATOR.match(line):
            if number > chunk_start:
                count += _chunk(lines[chunk_start - 1 : number - 1], chunk_start, count, ctx)
            chunk_start = number + 1


def _chunk(lines: list[str], first_line: int, count: int, ctx: Context) -> int:
    """Read the lines between two separators; returns 1 when they held a record."""
    document = ""
    start = 0
    offset = 0
    for i, line in enumerate(lines):
        if line.strip():
            found = _DOCUMENT.match(line.strip())
            if found:
                document, start, offset = found.group(1), first_line + i, i + 1
            break
    entry: dict[str, list[str]] = {}
    heading: list[str] = []
    label = ""
    known = False
    blank_before = True
    for i, line in enumerate(lines[offset:], start=offset):
        text = line.strip()
        if not text:
            blank_before = True
            continue
        if not start:
            start = first_line + i
        found = _LABEL.match(text)
        name = found.group(1).strip() if found else ""
        key = name.lower()
        is_known = key in KNOWN_FIELDS
        starts_field = found is not None and (
            is_known
            or (blank_before and label.lower() not in _LONG_FIELDS and len(name.split()) <= 6)
        )
        if starts_field:
            known = known or is_known
            label = name
            entry.setdefault(label, []).append(found.group(2).strip())
        elif label and (label.lower() in _LONG_FIELDS or not blank_before):
            values = entry[label]
            values[-1] = f"{values[-1]} {text}" if values[-1] else text
        elif not label and (blank_before or heading):
            heading.append(text)  # the title line(s) below "Document N of M"
        blank_before = False
    if not known:
        return 0  # report header, table of contents, closing copyright block
    _finish(entry, " ".join(heading), start, document or str(count + 1), bool(document), ctx)
    return 1


def _finish(
    entry: dict[str, list[str]], heading: str, line: int, number: str, is_doc: bool, ctx: Context
) -> None:
    title = first_value(entry, "Title") or heading
    position = f"{ctx.where(line)} ({'Document' if is_doc else 'record'} {number})"
    if skip_untitled(ctx, title, line, position):
        return
    get = entry.get
    keywords: list[str] = []
    for name in ("Subject", "MeSH subject", "Identifier / keyword", "Keywords"):
        for value in get(name, ()):
            keywords.extend(normalise.split_keywords(value))
    pmid = first_value(entry, "PubMed ID")
    accession = first_value(entry, "Accession number")
    if not pmid and accession.isdigit() and _MEDLINE.search(first_value(entry, "Database")):
        pmid = accession
    abstract = first_value(entry, "Abstract")
    if abstract.rstrip(".").lower() == "none available":
        abstract = ""  # what ProQuest writes for a record without one
    ctx.add(
        {
            "title": title,
            "abstract": abstract,
            "authors": normalise.split_authors(first_value(entry, "Author")),
            "year": first_value(entry, "Publication year", "Publication date", "Year"),
            "journal": first_value(entry, "Publication title"),
            "volume": first_value(entry, "Volume"),
            "issue": first_value(entry, "Issue"),
            "pages": first_value(entry, "Pages", "First page"),
            "doi": first_value(entry, "DOI"),
            "pmid": pmid,
            "url": first_value(entry, "Document URL"),
            "keywords": keywords,
            "language": first_value(entry, "Language of publication"),
        },
        line,
        entry,
    )
