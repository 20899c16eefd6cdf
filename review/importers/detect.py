"""Tell the export format from the file name and the first few kilobytes."""

from __future__ import annotations

import re

from review.importers.base import FORMATS, ImportFileError
from review.importers.encoding import binary_kind
from review.importers.proquest import looks_like_proquest

_EXTENSIONS = {
    "ris": "ris",
    "bib": "bibtex",
    "bibtex": "bibtex",
    "nbib": "medline",
    "medline": "medline",
    "csv": "csv",
    "tsv": "csv",
    "xlsx": "excel",
    "xlsm": "excel",
    "enw": "endnote_tagged",
}

_RIS = re.compile(r"^TY {1,2}- ", re.MULTILINE)
_MEDLINE = re.compile(r"^PMID- ?\d", re.MULTILINE)
_WOS_PLAIN = re.compile(r"^(?:FN |VR |PT [A-Z]\s*$)", re.MULTILINE)
_BIBTEX = re.compile(r"^\s*@[A-Za-z]+\s*[{(]", re.MULTILINE)
# EndNote tagged / Refer: "%0 Journal Article", "%T …", "%A …" — a tag, a space, a value.
_REFER_TAG = re.compile(r"%[0-9A-Z@+~!#$&*^|?] \S")


def _head_text(data: bytes) -> str:
    head = data[:16384]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore")
    if len(head) > 3 and head[1] == 0 and head[3] == 0:
        return head.decode("utf-16-le", errors="ignore")
    if len(head) > 3 and head[0] == 0 and head[2] == 0:
        return head.decode("utf-16-be", errors="ignore")
    return head.decode("utf-8", errors="ignore").lstrip("\ufeff").replace("\r", "\n")


def sniff(data: bytes) -> str | None:
    """The format the content shows, or None when it is not recognisable."""
    text = _head_text(data)
    stripped = text.lstrip()
    if stripped.startswith("<"):
        if "<PubmedArticleSet" in text or "<PubmedArticle" in text or "<PubmedBookArticle" in text:
            return "pubmed_xml"
        if re.search(r"<records?[\s>]", text):
            return "endnote_xml"
        return None
    first_line = stripped.split("\n", 1)[0]
    if first_line.startswith("PT\t") or ("\tTI\t" in first_line and "\tAU\t" in first_line):
        return "wos"
    if _RIS.search(text):
        return "ris"
    if _MEDLINE.search(text):
        return "medline"
    if _WOS_PLAIN.search(text) and re.search(r"^(?:TI|AU|ER)\b", text, re.MULTILINE):
        return "wos"
    if _BIBTEX.search(text):
        return "bibtex"
    if _is_refer(stripped):
        return "endnote_tagged"
    if looks_like_proquest(text):
        return "proquest"
    return None


def _is_refer(text: str) -> bool:
    """The first non-blank lines are Refer tag lines, and one of them is %0, %T or %A."""
    lines = [line for line in text.split("\n", 40)[:40] if line.strip()]
    tagged = [line[:2] for line in lines[:10] if _REFER_TAG.match(line)]
    return len(tagged) >= 2 and lines[0][:2] in tagged and bool({"%0", "%T", "%A"} & set(tagged))


def detect_format(data: bytes, filename: str) -> str:
    """The format code (one of FORMATS) for an upload, by content first, then by extension.

    Raises ImportFileError for empty, binary or unrecognisable files.
    """
    if not data or not data.strip():
        raise ImportFileError(filename, "the file is empty.")
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    by_extension = _EXTENSIONS.get(extension)
    if data.startswith(b"PK\x03\x04") and extension in ("", "xlsx", "xlsm", "zip"):
        return "excel"
    if data.startswith(b"\xd0\xcf\x11\xe0") and extension == "xls":
        return "excel"  # refused with a clear message by the Excel reader
    kind = binary_kind(data)
    if kind:
        raise ImportFileError(filename, f"this is not a text export: it looks like {kind}.")
    found = sniff(data)
    if found:
        return found
    if by_extension in ("csv", "excel"):
        return by_extension
    if by_extension:
        return by_extension  # let the parser explain what is wrong with the content
    if extension == "xml":
        raise ImportFileError(
            filename,
            "this XML file is neither PubMed XML (<PubmedArticleSet>) nor EndNote XML "
            "(<xml><records>).",
        )
    if extension in ("txt", "tsv", "tab", ""):
        head = _head_text(data).split("\n", 1)[0]
        if head.count("\t") >= 2 or head.count(",") >= 2 or head.count(";") >= 2:
            return "csv"
    raise ImportFileError(
        filename,
        "the format could not be recognised; upload RIS, BibTeX, PubMed (MEDLINE or XML), "
        "EndNote XML or tagged, Web of Science, ProQuest text, CSV or Excel "
        f"({', '.join(FORMATS)}).",
    )
