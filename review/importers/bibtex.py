"""BibTeX / BibLaTeX via bibtexparser 2 (Zotero, Mendeley, JabRef, Google Scholar exports)."""

from __future__ import annotations

import logging
import re

import bibtexparser
from bibtexparser.middlewares import (
    LatexDecodingMiddleware,
    MergeNameParts,
    SeparateCoAuthors,
    SplitNameParts,
)
from bibtexparser.model import DuplicateBlockKeyBlock, ParsingFailedBlock
from pylatexenc.latex2text import LatexNodes2Text

from review.importers import normalise
from review.importers.base import Context

# bibtexparser logs every failed block; we report them as Problems instead.
logging.getLogger("bibtexparser").addHandler(logging.NullHandler())
logging.getLogger("bibtexparser").propagate = False

_latex = LatexNodes2Text(math_mode="text", strict_latex_spaces=False)
_PAGES_DASH = re.compile(r"\s*-{1,3}\s*|\s*–\s*")


def _decode_latex(text: str) -> str:
    if "\\" not in text and "{" not in text and "$" not in text:
        return text
    try:
        return _latex.latex_to_text(text)
    except Exception:  # pylatexenc is lenient, but never let an odd name stop the import
        return text.replace("{", "").replace("}", "")


def parse_text(text: str, ctx: Context) -> None:
    library = bibtexparser.parse_string(
        text,
        append_middleware=[
            SeparateCoAuthors(),
            SplitNameParts(),
            MergeNameParts(style="last"),
            LatexDecodingMiddleware(),
        ],
    )
    # Entries are read in file order (a repeated key's entry among the others), so that each
    # one's number in the file is right in messages.
    entries = [((entry.start_line or 0) + 1, entry) for entry in library.entries]
    for block in library.failed_blocks:
        line = (block.start_line or 0) + 1
        if isinstance(block, DuplicateBlockKeyBlock):
            ctx.warning(
                line,
                f"Entry starting at line {line} repeats the key {block.key!r} of an earlier "
                "entry; it was imported as well.",
            )
            if block.ignore_error_block is not None:
                entries.append((line, block.ignore_error_block))
            continue
        reason = ""
        if isinstance(block, ParsingFailedBlock) and block.error is not None:
            reason = getattr(block.error, "abort_reason", "") or str(block.error)
            reason = " ".join(reason.split()).rstrip(".")
        ctx.error(
            line,
            f"Entry starting at line {line} could not be read as BibTeX"
            + (f" ({reason})" if reason else "")
            + "; check its braces and quotes.",
        )
    entries.sort(key=lambda item: item[0])
    for line, entry in entries:
        _entry(entry, line, ctx)


def _names(value) -> list[str]:
    if isinstance(value, list):
        return [_decode_latex(name) for name in value]
    return normalise.split_authors(_decode_latex(str(value)))


def _entry(entry, line: int, ctx: Context) -> None:
    if entry is None:
        return
    fields = {f.key.lower(): f.value for f in entry.fields}

    def text(*keys: str) -> str:
        for key in keys:
            value = fields.get(key)
            if value:
                return _decode_latex(value if isinstance(value, str) else "; ".join(value))
        return ""

    keywords_text = text("keywords", "keyword", "mesh")
    keywords = re.split(r"\s*[;,]\s*" if ";" not in keywords_text else r"\s*;\s*", keywords_text)
    pages = _PAGES_DASH.sub("-", text("pages"))
    url = text("url")
    raw = {"ENTRYTYPE": entry.entry_type, "ID": entry.key}
    for key, value in fields.items():
        raw[key] = value if isinstance(value, str | list) else str(value)
    ctx.add(
        {
            "title": text("title", "booktitle").replace("{", "").replace("}", ""),
            "abstract": text("abstract"),
            "authors": _names(fields.get("author") or fields.get("editor") or []),
            "year": text("year", "date"),
            "journal": text("journal", "journaltitle", "booktitle"),
            "volume": text("volume"),
            "issue": text("number", "issue"),
            "pages": pages,
            "doi": text("doi"),
            "pmid": text("pmid"),
            "url": url,
            "keywords": keywords if keywords_text else [],
            "language": text("language", "langid"),
        },
        line,
        raw,
    )
