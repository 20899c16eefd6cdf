"""CSV / TSV (pandas) and Excel .xlsx (openpyxl) exports with automatic column mapping.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first record row 2.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings

import pandas as pd

from review.importers import normalise, xlsx
from review.importers.base import Context, ImportFileError
from review.keys import fold

#: Record fields (plus the helpers ``page_start``/``page_end``) a column can be mapped to.
MAPPABLE_FIELDS = (
    "title",
    "abstract",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "page_start",
    "page_end",
    "doi",
    "pmid",
    "url",
    "keywords",
    "keywords_2",
    "keywords_3",
    "extra",
    "language",
)

#: For each field, the usual headers (folded: lower-case ASCII words) in order of preference.
#: Scopus, Web of Science (tab-delimited tags), Covidence, Rayyan, ASReview, Zotero, EndNote,
#: Embase.com, SpringerLink and generic names. ``keywords_2``/``keywords_3`` are further keyword
#: columns joined after ``keywords`` (Scopus' Index Keywords, Zotero's Automatic Tags, Embase's
#: Emtree terms, as their RIS puts them all in KW); ``extra`` is Zotero's Extra field, read for
#: ``PMID: …`` and ``DOI: …`` lines when no column gives them.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "title": (
        "title",
        "ti",
        "article title",
        "document title",
        "primary title",
        "t1",
        "paper title",
        "titles",
        "item title",
    ),
    "abstract": ("abstract", "ab", "abstract note", "abstracts", "n2", "summary"),
    "authors": (
        "author full names",
        "af",
        "authors",
        "author",
        "au",
        "author s",
        "author names",
        "creators",
        "creator",
        "contributors",
    ),
    "year": (
        "year",
        "publication year",
        "py",
        "published year",
        "pub year",
        "year published",
        "publication date",
        "date published",
        "pubdate",
        "date",
        "dp",
    ),
    "journal": (
        "source title",
        "journal",
        "publication title",
        "so",
        "journal title",
        "journal name",
        "secondary title",
        "jo",
        "jt",
        "t2",
        "journal book",
        "publication name",
        "source",
        "publication",
    ),
    "volume": ("volume", "vl", "vol", "vi", "journal volume"),
    "issue": ("issue", "is", "number", "ip", "issue number", "no", "journal issue"),
    "pages": ("pages", "page", "pg", "page range", "pagination"),
    "page_start": ("page start", "bp", "start page", "first page", "sp"),
    "page_end": ("page end", "ep", "end page", "last page"),
    "doi": ("doi", "di", "digital object identifier", "doi link", "item doi"),
    "pmid": ("pubmed id", "pmid", "pm", "pubmed", "pubmedid", "medline pmid"),
    "url": ("url", "link", "ur", "links", "uri", "web link", "full text link"),
    "keywords": (
        "keywords",
        "author keywords",
        "de",
        "kw",
        "manual tags",
        "keyword",
        "key words",
        "mesh terms",
        "index keywords",
    ),
    "keywords_2": ("index keywords", "automatic tags", "emtree medical index terms"),
    "keywords_3": ("emtree drug index terms",),
    "extra": ("extra",),
    "language": ("language", "la", "language of original document", "lang", "article language"),
}


def guess_column_mapping(headers: list[str]) -> dict[str, str]:
    """Map Record fields to the file's headers: {"title": "Title", "year": "Publication Year"…}.

    Matching ignores case, accents and punctuation; the first alias present wins.
    """
    by_key: dict[str, str] = {}
    for header in headers:
        by_key.setdefault(fold(str(header)), header)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for name, aliases in HEADER_ALIASES.items():
        for alias in aliases:
            header = by_key.get(alias)
            if header is not None and header not in used:
                mapping[name] = header
                used.add(header)
                break
    return mapping


def _delimiter(text: str, filename: str) -> str:
    head = text.split("\n", 1)[0]
    if filename.lower().endswith(".tsv") and "\t" in head:
        return "\t"
    counts = {d: head.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


_BAD_LINE = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")
_ROW_IN_ERROR = re.compile(r"(?:row|line) (\d+)")


def parse_csv_text(text: str, ctx: Context, *, max_rows: int | None = None) -> dict[str, str]:
    """Read CSV/TSV text; `max_rows` stops after that many rows below the header (a preview)."""
    ctx.unit = "Row"
    sep = _delimiter(text, ctx.filename)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                on_bad_lines="warn",
                skip_blank_lines=False,
                index_col=False,
                engine="c",
                nrows=max_rows,
            )
        except pd.errors.EmptyDataError:
            raise ImportFileError(ctx.filename, "the file has no header row.", 1) from None
        except (pd.errors.ParserError, ValueError) as exc:
            message = str(exc).replace("Error tokenizing data. C error: ", "")
            found = _ROW_IN_ERROR.search(message)
            row = int(found.group(1)) + (1 if found else 0) if found else 1
            ctx.error(row, f"Row {row}: the file could not be read as CSV ({message.strip()}).")
            return {}
    for warning in caught:
        for line, expected, saw in _BAD_LINE.findall(str(warning.message)):
            ctx.error(
                int(line),
                f"Row at line {line} has {saw} cells but the header has {expected}; "
                "it was skipped. Check for an unquoted delimiter or quote in that row.",
            )
    headers = [str(h) for h in frame.columns]
    columns = (
        [frame[h].tolist() for h in frame.columns]
        if len(set(headers)) == len(headers)
        else [frame.iloc[:, i].tolist() for i in range(len(headers))]
    )
    rows = zip(*columns, strict=True) if columns else iter(())
    return _records(headers, ((i + 2, row) for i, row in enumerate(rows)), ctx)


def parse_excel_bytes(
    data, ctx: Context, limits: xlsx.Limits | None = None, *, preview: int | None = None
) -> dict[str, str]:
    """Read the first worksheet of an .xlsx workbook (bytes or a binary file). The zip
    directory is checked against `limits` before anything is parsed (xlsx.check_workbook) and
    reading stops past its rows and columns. With `preview`, only the header and the `preview`
    rows after it are read, and shared strings only as far as those cells need."""
    ctx.unit = "Row"
    limits = limits or xlsx.Limits()
    head = data[:4] if isinstance(data, bytes | bytearray) else _peek(data, 4)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            ctx.filename,
            "this is an old Excel 97-2003 (.xls) file; save it as .xlsx or CSV and upload again.",
        )
    book = xlsx.open_workbook(data, ctx.filename, limits, lazy=preview is not None)
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise ImportFileError(ctx.filename, "the workbook has no worksheet.")
        iterator = xlsx.rows(sheet, ctx.filename, limits)
        header_row = 0
        headers: list[str] = []
        for number, row in iterator:
            if row and any(cell not in (None, "") for cell in row):
                header_row = number
                headers = [_cell(c) for c in row]
                break
        if not headers:
            raise ImportFileError(ctx.filename, "the first worksheet is empty.")
        while headers and not headers[-1]:
            headers.pop()
        headers = [h or f"Column {i + 1}" for i, h in enumerate(headers)]
        width = len(headers)

        def rows():
            for number, row in iterator:
                if preview is not None and number > header_row + preview:
                    return
                cells = [_cell(c) for c in row[:width]]
                cells += [""] * (width - len(cells))
                yield number, cells

        return _records(headers, rows(), ctx)
    finally:
        book.close()


def _peek(stream, n: int) -> bytes:
    stream.seek(0)
    head = stream.read(n)
    stream.seek(0)
    return head


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def resolve_mapping(
    headers: list[str], override: dict[str, str] | None, ctx: Context
) -> dict[str, str]:
    mapping = guess_column_mapping(headers)
    if override:
        header_set = set(headers)
        for name, header in override.items():
            if name not in MAPPABLE_FIELDS:
                ctx.error(
                    1, f"Row 1: {name!r} is not a record field that a column can be mapped to."
                )
            elif not header:
                mapping.pop(name, None)
            elif header not in header_set:
                ctx.error(
                    1,
                    f"Row 1: the column {header!r} chosen for {name} is not in the file; columns "
                    f"found: {_listing(headers)}.",
                )
            else:
                mapping[name] = header
    return mapping


def _listing(headers: list[str]) -> str:
    shown = ", ".join(f'"{h}"' for h in headers[:30])
    return shown + (f" and {len(headers) - 30} more" if len(headers) > 30 else "")


def _records(headers: list[str], rows, ctx: Context) -> dict[str, str]:
    ctx.headers = list(headers)
    mapping = resolve_mapping(headers, ctx.column_override, ctx)
    if "title" not in mapping:
        ctx.error(
            1,
            f"Row 1: no title column was found. Columns found: {_listing(headers)}. "
            'Rename the title column to "Title" or choose it in the column mapping.',
        )
        return mapping
    index = {h: i for i, h in enumerate(headers)}
    pick = {name: index[header] for name, header in mapping.items()}
    # Embase.com: "Source" holds the whole citation, "Journal 2019 12:3 (123-130)".
    embase_source = fold(mapping.get("journal", "")) == "source"
    # SpringerLink writes its authors run together: "Ross McDonaldAnne LeBlanc".
    springer = fold(mapping["title"]) == "item title"
    keyword_fields = [name for name in ("keywords", "keywords_2", "keywords_3") if name in pick]
    for number, row in rows:
        if not any(row):
            continue
        v = {name: row[i] for name, i in pick.items()}
        get = v.get
        pages = get("pages") or normalise.join_pages(get("page_start", ""), get("page_end", ""))
        values = {
            "title": v["title"],
            "abstract": get("abstract", ""),
            "authors": split_run_together_names(get("authors", ""))
            if springer
            else normalise.split_authors(get("authors", "")),
            "year": get("year", ""),
            "journal": get("journal", ""),
            "volume": get("volume", ""),
            "issue": get("issue", ""),
            "pages": pages,
            "doi": get("doi", ""),
            "pmid": get("pmid", ""),
            "url": get("url", ""),
            "keywords": [
                keyword for name in keyword_fields for keyword in normalise.split_keywords(v[name])
            ],
            "language": get("language", ""),
        }
        if embase_source:
            _split_citation(values)
        if get("extra"):
            _read_extra(get("extra"), values)
        ctx.add(values, number, dict(zip(headers, row, strict=False)))
    return mapping


_CITATION = re.compile(
    r"^(?P<journal>.*?\S)\s+(?P<year>(?:1[6-9]|2\d)\d\d)"
    r"(?:\s+(?P<volume>[^\s:()]+)(?::(?P<issue>[^()]*?))?)?"
    r"(?:\s*\((?P<pages>[^()]*)\))?\s*$"
)


def _split_citation(values: dict) -> None:
    """`Cancer Prevention Research 2010 3:11 (1451-1461)` → journal, year, volume, issue,
    pages; fields that have columns of their own keep them."""
    found = _CITATION.match(values["journal"].strip())
    if found is None:
        return
    values["journal"] = found.group("journal")
    for name in ("year", "volume", "issue", "pages"):
        if not values[name].strip():
            values[name] = (found.group(name) or "").strip()


_EXTRA_LINE = re.compile(r"^\s*(PMID|DOI)\s*:\s*(\S.*?)\s*$", re.IGNORECASE | re.MULTILINE)


def _read_extra(extra: str, values: dict) -> None:
    """Zotero's Extra field: `PMID: 24847228` and `DOI: 10.…` lines, used when no column gave
    them."""
    for name, value in _EXTRA_LINE.findall(extra):
        field = name.lower()
        if not values[field].strip():
            values[field] = value


#: Family-name prefixes written with a capital inside: "McDonald", "LeBlanc", "DeVries"…
_NAME_PREFIXES = frozenset({"mc", "mac", "le", "la", "de", "di", "da", "du", "van", "von", "o"})
_CASE_CHANGE = re.compile(r"(?<=[^\W\d_])(?=[^\W\d_])")


def split_run_together_names(value: str) -> list[str]:
    """SpringerLink's Authors cell, where names are run together without a separator:
    `Ross McDonaldAnne LeBlancYu Wang` → `Ross McDonald`, `Anne LeBlanc`, `Yu Wang`. A name
    starts where a lower-case letter is followed by a capital, except after a family-name
    prefix (Mc, Mac, Le, De, Van…)."""
    value = normalise.collapse(value)
    names: list[str] = []
    start = 0
    for match in _CASE_CHANGE.finditer(value):
        cut = match.start()
        before, after = value[cut - 1], value[cut]
        if not (before.islower() and after.isupper()):
            continue
        word = value[max(value.rfind(" ", start, cut) + 1, start) : cut]
        if word.lower().strip("'") in _NAME_PREFIXES:
            continue
        names.append(value[start:cut])
        start = cut
    names.append(value[start:])
    return [name.strip() for name in names if name.strip()]
