"""Small normalisers shared by the importers (pure Python)."""

from __future__ import annotations

import re

from review.keys import normalise_doi, normalise_pmid

_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
_DOI_IN_TEXT = re.compile(r"10\.\d{4,9}/\S+")


def collapse(text: str | None) -> str:
    """Strip and turn every run of whitespace (including line breaks) into one space."""
    if not text:
        return ""
    if "  " not in text and "\n" not in text and "\t" not in text and "\r" not in text:
        return text.strip()
    return _SPACES.sub(" ", text).strip()


def clean_list(values: list[str]) -> list[str]:
    """Collapse whitespace, drop empties and exact duplicates, keep order."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        item = collapse(value).strip(" ;")
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return out


def clean_names(values: list[str]) -> list[str]:
    """Collapse whitespace and drop empties, keeping every name in order: two co-authors may
    write their names the same way (two "Wang, L." on one paper), so repeats are kept."""
    out: list[str] = []
    for value in values:
        item = collapse(value).strip(" ;")
        if item:
            out.append(item)
    return out


def parse_year(text: str) -> tuple[int | None, str]:
    """`2020///`, `2020/05/01`, `2020 May 3`, `Spring 2019`, `20200501` → 2020.

    Returns (year, "") or (None, reason) where reason is a short phrase for a warning.
    """
    match = _DIGITS.search(text)
    if not match:
        return None, f"{text[:40]!r} is not a year"
    digits = match.group()
    if len(digits) == 8:  # yyyymmdd
        digits = digits[:4]
    if len(digits) > 6:
        return None, f"{text[:40]!r} is not a year"
    year = int(digits)
    if not 1000 <= year <= 2999:
        return None, f"the year {year} is out of range (1000-2999)"
    return year, ""


def doi(text: str) -> str:
    """Normalise a DOI; also finds one inside text such as `10.1/x [doi]` or a URL."""
    value = normalise_doi(text)
    if value:
        return value
    match = _DOI_IN_TEXT.search(text)
    return normalise_doi(match.group()) if match else ""


def pmid(text: str) -> str:
    value = text.strip()
    if value.lower().startswith("pmid"):
        value = value[4:].lstrip(": ")
    if not value or not (value.isdigit() or "pubmed" in value.lower()):
        return ""
    return normalise_pmid(value)


def join_pages(start: str, end: str) -> str:
    """`221`, `8` → `221-8`; an empty or equal end gives just the start."""
    start = (start or "").strip()
    end = (end or "").strip()
    if not start:
        return end
    if not end or end == start or "-" in start:
        return start
    return f"{start}-{end}"


_INITIALS = re.compile(r"^(?:[A-Z]\.?-?){1,4}$")
_ROLE_SUFFIX = re.compile(
    r"\s*\(\d+\)\s*$"
)  # Scopus "Author full names": "Smith, John (57200000000)"


def split_authors(value: str) -> list[str]:
    """Split an author cell from a spreadsheet or database export into a list.

    - `Smith, J.; Doe, A.` (semicolons: Scopus, Zotero, ASReview, Covidence) → split on `;`
    - `Smith, J and Doe, A` (Rayyan, BibTeX-style) → split on ` and `
    - `Smith J., Doe A.B.` (old Scopus) → split on `,` when no piece looks like a given name
    - `Smith, John` → one author
    """
    value = (value or "").strip()
    if not value:
        return []
    if ";" in value:
        parts = value.split(";")
    elif " and " in value:
        parts = value.split(" and ")
    elif "|" in value:
        parts = value.split("|")
    elif "\n" in value:
        parts = value.split("\n")
    elif "," in value:
        pieces = [p.strip() for p in value.split(",")]
        # "Smith J., Doe A.B." — every piece is a family name followed by initials: many authors.
        many = len(pieces) > 1 and all(
            _INITIALS.match(p.rsplit(" ", 1)[-1]) and " " in p for p in pieces if p
        )
        parts = pieces if many else [value]
    else:
        parts = [value]
    return [_ROLE_SUFFIX.sub("", collapse(p)) for p in parts if p.strip()]


def split_keywords(value: str) -> list[str]:
    """Keywords cells are `;`-separated in every export we know (Scopus, WoS, Zotero…)."""
    value = (value or "").strip()
    if not value:
        return []
    sep = ";" if ";" in value else ("|" if "|" in value else (";" if "\n" not in value else "\n"))
    return [collapse(v) for v in value.split(sep) if v.strip()]
