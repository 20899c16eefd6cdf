"""EndNote XML (File → Export → XML): <xml><records><record>…, text wrapped in <style> runs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from review.importers import normalise
from review.importers.base import Context
from review.importers.xmlsafe import Position, stream_records, text_of, to_string

_MEDLINE = ("medline", "pubmed")


def parse_bytes(data: bytes, ctx: Context) -> str:
    encoding, root = stream_records(
        data, ctx.filename, ("record",), lambda e, n: _record(e, n, ctx)
    )
    if root not in (None, "xml", "records", "record"):
        ctx.warning(1, f"Line 1: the root element is <{root}>, not EndNote's <xml><records>.")
    return encoding


def _all(element: ET.Element, path: str) -> list[str]:
    return [t for t in (text_of(e) for e in element.iterfind(path)) if t]


def _record(element: ET.Element, position: Position, ctx: Context) -> None:
    def one(*paths: str) -> str:
        for path in paths:
            value = text_of(element.find(path))
            if value:
                return value
        return ""

    keywords: list[str] = []
    for keyword in _all(element, "keywords/keyword"):
        keywords.extend(keyword.split(";") if ";" in keyword else keyword.split("\n"))
    database = one("remote-database-name", "remote-database-provider").lower()
    accession = one("accession-num")
    pmid = accession if accession.isdigit() and any(d in database for d in _MEDLINE) else ""
    doi = one("electronic-resource-num")
    if doi and not normalise.doi(doi):
        doi = ""  # EndNote also keeps PII and other identifiers here
    if not doi:
        for url in _all(element, "urls/related-urls/url"):
            if normalise.doi(url) and "doi.org" in url:
                doi = url
                break
    ctx.add(
        {
            "title": one("titles/title"),
            "abstract": one("abstract"),
            "authors": _all(element, "contributors/authors/author"),
            "year": one("dates/year", "dates/pub-dates/date"),
            "journal": one(
                "periodical/full-title",
                "titles/secondary-title",
                "periodical/abbr-1",
                "alt-periodical/full-title",
                "titles/alt-title",
            ),
            "volume": one("volume"),
            "issue": one("number", "issue"),
            "pages": one("pages"),
            "doi": doi,
            "pmid": pmid,
            "url": one("urls/related-urls/url", "urls/web-urls/url"),
            "keywords": keywords,
            "language": one("language"),
        },
        position.line,
        {"xml": to_string(element)},
        position.describe(ctx.entries + 1),
    )
