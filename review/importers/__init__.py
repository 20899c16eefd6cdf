"""Turn uploaded search-export files into plain records plus a list of problems.

Pure Python (no Django): ``parse(data, filename)`` returns a ``ParseResult`` whose records
map one-to-one to the fields of ``review.models.Record``; ``result.errors`` non-empty means the
file must not be imported. ``ImportFileError`` is raised only for files that cannot be read at
all (empty, binary, unknown format, malformed or unsafe XML, undecodable text).
See docs/importers.md.
"""

from __future__ import annotations

from review.importers.base import (
    FORMATS,
    ImportFileError,
    ParsedRecord,
    ParseResult,
    Problem,
)
from review.importers.detect import detect_format
from review.importers.tabular import MAPPABLE_FIELDS, guess_column_mapping

__all__ = [
    "FORMATS",
    "MAPPABLE_FIELDS",
    "ImportFileError",
    "ParseResult",
    "ParsedRecord",
    "Problem",
    "detect_format",
    "guess_column_mapping",
    "iter_parse",
    "parse",
    "preview",
]

#: How much of a CSV the column-mapping page reads: its header and first rows are in here.
PREVIEW_BYTES = 256 * 1024


def parse(
    data: bytes,
    filename: str,
    format: str | None = None,
    *,
    column_mapping: dict[str, str] | None = None,
    max_field_chars: int = 1_000_000,
    limits=None,
    strict: bool = False,
) -> ParseResult:
    """Parse an uploaded export. ``format`` is one of FORMATS, or None to detect it.
    ``limits`` (an ``xlsx.Limits``) bounds what an Excel workbook may hold. A record without a
    title is left out with a warning naming its position, or, when ``strict``, is an error (the
    file must not be imported)."""
    from review.importers import (
        bibtex,
        endnote_tagged,
        endnote_xml,
        medline,
        proquest,
        pubmed_xml,
        ris,
        tabular,
        wos,
    )
    from review.importers.base import Context
    from review.importers.encoding import decode

    if format is None:
        format = detect_format(data, filename)
    elif format not in FORMATS:
        raise ImportFileError(filename, f"unknown format {format!r}; expected one of {FORMATS}.")
    if not data or not data.strip():
        raise ImportFileError(filename, "the file is empty.")

    ctx = Context(filename, max_field_chars, strict=strict)
    ctx.column_override = column_mapping
    mapping: dict[str, str] | None = None

    if format == "excel":
        mapping = tabular.parse_excel_bytes(data, ctx, limits)
        return ctx.result(format, "xlsx", mapping)
    if format == "pubmed_xml":
        encoding = pubmed_xml.parse_bytes(data, ctx)
        return ctx.result(format, encoding)
    if format == "endnote_xml":
        encoding = endnote_xml.parse_bytes(data, ctx)
        return ctx.result(format, encoding)

    text, encoding, problems = decode(data, filename)
    ctx.problems.extend(problems)
    if format == "csv":
        mapping = tabular.parse_csv_text(text, ctx)
    else:
        module = {
            "ris": ris,
            "bibtex": bibtex,
            "medline": medline,
            "wos": wos,
            "endnote_tagged": endnote_tagged,
            "proquest": proquest,
        }[format]
        module.parse_text(text, ctx)
    return ctx.result(format, encoding, mapping)


def preview(
    stream,
    filename: str,
    format: str,
    *,
    column_mapping: dict[str, str] | None = None,
    rows: int = 5,
    limits=None,
) -> ParseResult:
    """The header and first `rows` records of a CSV or Excel export (a binary file), reading only
    them: the first ``PREVIEW_BYTES`` of a CSV; of a workbook, its zip directory (checked against
    `limits`), the first rows and the shared strings they use. What the column-mapping page
    shows, and the columns it offers, whatever the file's size."""
    from review.importers import tabular
    from review.importers.base import Context
    from review.importers.encoding import decode

    ctx = Context(filename, 1_000_000)
    ctx.column_override = column_mapping
    if format == "excel":
        mapping = tabular.parse_excel_bytes(stream, ctx, limits, preview=rows)
        return ctx.result(format, "xlsx", mapping)
    if format != "csv":
        raise ImportFileError(filename, f"only CSV and Excel files have columns, not {format!r}.")
    stream.seek(0)
    head = stream.read(PREVIEW_BYTES + 1)
    stream.seek(0)
    if not head.strip():
        raise ImportFileError(filename, "the file is empty.")
    if len(head) > PREVIEW_BYTES:  # keep whole lines only
        head = head[:PREVIEW_BYTES]
        cut = head.rfind(b"\n") + 1
        if cut and (head.startswith(b"\xff\xfe") or (len(head) > 3 and head[1] == 0)):
            cut += 1  # UTF-16-LE: the newline's second byte
        head = head[:cut] or head
    text, encoding, _ = decode(head, filename)
    mapping = tabular.parse_csv_text(text, ctx, max_rows=rows)
    return ctx.result(format, encoding, mapping)


def iter_parse(data: bytes, filename: str, format: str | None = None, **kwargs):
    """Yield the records of ``parse(...)`` one by one, then return the ParseResult.

    A convenience for callers that write in batches; the parsing itself is not lazy.
    """
    result = parse(data, filename, format, **kwargs)
    yield from result.records
    return result
