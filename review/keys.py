"""Normalised keys for bibliographic fields, used to index and de-duplicate records.

Pure functions (no Django): the importers and the de-duplication package use them too.
"""

import re
import unicodedata

_DOI_PREFIX = re.compile(
    r"^\s*(?:doi:\s*|https?://(?:dx\.)?doi\.org/|(?:dx\.)?doi\.org/)", re.IGNORECASE
)
_DOI_SHAPE = re.compile(r"^10\.\d{4,9}/\S+$")
# MEDLINE's AID/LID tag after the identifier ("10.1000/xyz [doi]"), copied by EndNote and others.
_DOI_TAG = re.compile(r"\s*\[doi\]\s*$", re.IGNORECASE)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_PMID = re.compile(r"(?<!\d)(\d{1,9})\s*$")


def fold(text: str) -> str:
    """Lower-case ASCII with accents removed and every run of other characters made one space."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return _NON_ALNUM.sub(" ", ascii_text).strip()


def normalise_doi(value: str | None) -> str:
    """`https://doi.org/10.1000/ABC` → `10.1000/abc`; returns "" when no DOI can be read.

    DOIs are case-insensitive (DOI Handbook 2.4), so lower case is the canonical form.
    """
    if not value:
        return ""
    doi = _DOI_TAG.sub("", _DOI_PREFIX.sub("", value.strip())).strip().rstrip(".;,").lower()
    doi = doi.replace(" ", "")
    return doi if _DOI_SHAPE.match(doi) else ""


def normalise_pmid(value: str | int | None) -> str:
    """`PMID: 24847228`, `https://pubmed.ncbi.nlm.nih.gov/24847228` or `24847228` → `24847228`."""
    if value is None:
        return ""
    match = _PMID.search(str(value).strip().rstrip("/"))
    if not match:
        return ""
    digits = match.group(1).lstrip("0")
    return digits


def title_key(title: str | None) -> str:
    """The title folded to lower-case ASCII words separated by single spaces."""
    return fold(title or "")


def first_author_key(authors: list[str] | None) -> str:
    """The first author's family name, folded: `["Sep, Milou S.C.", …]` → `sep`.

    Accepts "Family, Given" and "Given Family" forms; for the latter the last word is taken.
    """
    if not authors:
        return ""
    first = (authors[0] or "").strip()
    family = first.split(",", 1)[0] if "," in first else (first.split() or [""])[-1]
    return fold(family).replace(" ", "")
