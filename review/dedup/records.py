"""The public record type and a tolerant constructor from a mapping of strings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from review.keys import normalise_doi, normalise_pmid

from .normalise import demojibake, split_authors

_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")
_PMID_IN_URL = re.compile(
    r"(?:pubmed(?:\.ncbi\.nlm\.nih\.gov)?/|/pubmed/|info:pmid/|[?&]pmid[=:]|access_num=)(\d{1,9})(?!\d)",
    re.IGNORECASE,
)
_DOI_IN_TEXT = re.compile(r"10\.\d{4,9}/[^\s\"'<>&]+", re.IGNORECASE)


@dataclass(frozen=True)
class DedupRecord:
    """One bibliographic record as the de-duplicator sees it (all fields optional but `id`)."""

    id: int | str
    title: str = ""
    authors: tuple[str, ...] = ()
    year: int | None = None
    journal: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    doi: str = ""
    pmid: str = ""
    abstract: str = ""
    isbn: str = ""


def _text(row: Mapping[str, object], *names: str) -> str:
    for name in names:
        value = row.get(name)
        if value is None:
            continue
        if isinstance(value, float) and value != value:  # NaN from pandas
            continue
        text = str(value).strip()
        if text and text.lower() not in {"nan", "none", "null", "na"}:
            return text
    return ""


def _year(value: str) -> int | None:
    match = _YEAR.search(value or "")
    return int(match.group(1)) if match else None


def record_from_mapping(row: Mapping[str, object], id) -> DedupRecord:
    """Build a `DedupRecord` from a dict of strings as exported by EndNote, Ovid, Scopus, WoS...

    `authors` may be a list, an `A; B` string or a run-together `Adeli K.Lewis G. F.` string.
    A missing DOI or PMID is looked for in the `url` field (PubMed / OpenURL links).
    """
    raw_authors = row.get("authors")
    if isinstance(raw_authors, (list, tuple)):
        authors = tuple(demojibake(str(a)).strip() for a in raw_authors if str(a).strip())
    else:
        authors = tuple(split_authors(_text(row, "authors", "author")))
    url = _text(row, "url", "urls")
    doi = normalise_doi(_text(row, "doi"))
    if not doi and _text(row, "doi"):
        found = _DOI_IN_TEXT.search(_text(row, "doi"))
        doi = normalise_doi(found.group(0)) if found else ""
    if not doi and url:
        found = _DOI_IN_TEXT.search(url.replace("%2F", "/").replace("%2f", "/"))
        doi = normalise_doi(found.group(0)) if found else ""
    pmid = (
        normalise_pmid(_text(row, "pmid", "pubmed_id")) if _text(row, "pmid", "pubmed_id") else ""
    )
    if not pmid and url:
        found = _PMID_IN_URL.search(url)
        pmid = found.group(1).lstrip("0") if found else ""
    year_value = row.get("year")
    year = year_value if isinstance(year_value, int) else _year(_text(row, "year", "date"))
    return DedupRecord(
        id=id,
        title=demojibake(_text(row, "title", "primary_title")),
        authors=authors,
        year=year,
        journal=demojibake(_text(row, "journal", "secondary_title", "journal_name")),
        volume=_text(row, "volume"),
        issue=_text(row, "issue", "number"),
        pages=_text(row, "pages", "start_page"),
        doi=doi,
        pmid=pmid,
        abstract=demojibake(_text(row, "abstract")),
        isbn=_text(row, "isbn", "issn"),
    )
