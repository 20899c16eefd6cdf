"""Open an uploaded .xlsx workbook only after its zip directory shows it is not a bomb.

An .xlsx file is a zip of XML parts. An 82 KB upload can hold a 24 MB worksheet (200,000 rows)
that takes a web worker down when it is parsed in full. Before openpyxl reads anything,
`check_workbook` reads the zip's central directory (names and sizes only, a few KB) and refuses:

- more than `max_members` parts;
- more than `max_uncompressed` bytes in all (the sizes the directory declares);
- a part larger than 1 MB that expands more than `max_ratio` times (what a zip bomb does:
  ordinary workbooks expand 5 to 20 times).

The declared sizes bind: Python's zipfile never returns more than a part's declared size (and
checks its CRC), so a zip that understates them cannot expand further.

Reading is bounded too: `rows()` stops past `max_rows` rows and reads at most `max_columns + 1`
columns of each (a sheet whose declared dimension reaches column XFD would otherwise be padded
to 16,384 cells a row), refusing a sheet past either limit with a message naming it.
`open_lazily` opens a workbook whose shared-string table is read only as far as the cells read
need (the column-mapping preview reads the header and five rows of a 100 MB workbook in
milliseconds); openpyxl's own loader reads the whole table first.

Pure Python (no Django): the limits come in as a `Limits`, the app takes them from settings.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from review.importers.base import ImportFileError

#: Parts smaller than this are never refused for their compression ratio (XML of a few KB
#: compresses unevenly; only a large part can hurt).
RATIO_MIN_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What a workbook may hold; `setting` names where each limit is configured, for messages."""

    max_uncompressed: int = 100 * 1024 * 1024
    max_ratio: int = 100
    max_members: int = 2000
    max_rows: int = 200_000
    max_columns: int = 500
    prefix: str = "SPREADSHEET"  # messages name <prefix>_MAX_ROWS and the like
    rows_setting: str = "SPREADSHEET_MAX_ROWS"


class SpreadsheetTooLarge(ImportFileError):
    """The workbook is past one of the limits (the message names it and its setting)."""


def size_text(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def check_workbook(source, filename: str, limits: Limits) -> None:
    """Raise ImportFileError, naming the file and the limit, when the zip directory of `source`
    (bytes or a binary file) shows more than `limits` allow. Reads only the directory."""
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ImportFileError(filename, f"this is not a readable .xlsx workbook ({exc}).") from None
    finally:
        if stream is not source:
            stream.close()
        elif hasattr(source, "seek"):
            source.seek(0)
    if len(infos) > limits.max_members:
        raise SpreadsheetTooLarge(
            filename,
            f"the workbook holds {len(infos):,} parts; at most {limits.max_members:,} are "
            f"accepted ({limits.prefix}_MAX_MEMBERS).",
        )
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed:
        raise SpreadsheetTooLarge(
            filename,
            f"the workbook expands to {size_text(total)}; at most "
            f"{size_text(limits.max_uncompressed)} uncompressed is accepted "
            f"({limits.prefix}_MAX_UNCOMPRESSED_MB). Save it as CSV, or split it.",
        )
    for info in infos:
        if info.file_size < RATIO_MIN_BYTES:
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_ratio:
            raise SpreadsheetTooLarge(
                filename,
                f"its part {info.filename} expands from {size_text(info.compress_size)} to "
                f"{size_text(info.file_size)} ({ratio:,.0f} times); a workbook part may expand "
                f"at most {limits.max_ratio} times ({limits.prefix}_MAX_RATIO). This looks "
                "like a zip bomb, not a spreadsheet export.",
            )


def _reader_class():
    """openpyxl's ExcelReader, read-only, with two changes: shared strings can be read lazily,
    and worksheets are opened without reading their declared dimension. openpyxl looks for
    `<dimension>` with an "end"-event scan that, when the element is missing (openpyxl's own
    write-only files), parses the whole sheet once per open (2.8 s for 20,000 rows) before
    the first row is read; `rows()` always passes its own bounds, so the dimension is never
    needed (and a hostile one is never believed)."""
    from openpyxl.reader.excel import SHARED_STRINGS, ExcelReader
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class UnsizedSheet(ReadOnlyWorksheet):
        def _get_size(self):
            pass  # _min/_max_row/_column stay openpyxl's class defaults (1, 1, None, None)

    class BoundedReader(ExcelReader):
        lazy_strings = False

        def read_strings(self):
            if not self.lazy_strings:
                return super().read_strings()
            part = self.package.find(SHARED_STRINGS)
            self.shared_strings = _LazyStrings(self.archive, part.PartName[1:]) if part else []

        def read_worksheets(self):
            # openpyxl's read-only branch of read_worksheets, with UnsizedSheet
            for sheet, rel in self.parser.find_sheets():
                if rel.target not in self.valid_files or "chartsheet" in rel.Type:
                    continue
                ws = UnsizedSheet(self.wb, sheet.name, rel.target, self.shared_strings)
                ws.sheet_state = sheet.state
                self.wb._sheets.append(ws)

    return BoundedReader


class _LazyStrings:
    """openpyxl's shared-string table (parsed as `openpyxl.reader.strings.read_string_table`
    does), read only as far as the highest index asked for."""

    def __init__(self, archive: zipfile.ZipFile, path: str):
        from openpyxl.xml.constants import SHEET_MAIN_NS

        self._archive, self._path = archive, path
        self._tag = f"{{{SHEET_MAIN_NS}}}si"
        self._strings: list[str] = []
        self._events = None

    def _more(self) -> Iterator[str]:
        from openpyxl.cell.text import Text
        from openpyxl.xml.functions import iterparse

        with self._archive.open(self._path) as src:
            for _, node in iterparse(src):
                if node.tag == self._tag:
                    text = Text.from_tree(node).content.replace("x005F_", "")
                    node.clear()
                    yield text

    def __getitem__(self, index: int) -> str:
        if self._events is None:
            self._events = self._more()
        while len(self._strings) <= index:
            try:
                self._strings.append(next(self._events))
            except StopIteration:
                raise IndexError(index) from None
        return self._strings[index]

    def __len__(self) -> int:  # pragma: no cover - openpyxl does not ask while reading cells
        return len(self._strings)


def open_workbook(source, filename: str, limits: Limits, *, lazy: bool = False):
    """Check the zip directory, then open the workbook read-only (values, not formulas).
    With `lazy`, shared strings are read only as far as the cells read need them."""
    check_workbook(source, filename, limits)
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        reader = _reader_class()(stream, read_only=True, data_only=True)
        reader.lazy_strings = lazy
        reader.read()
        return reader.wb
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise ImportFileError(filename, f"this is not a readable .xlsx workbook ({exc}).") from None
    except Exception as exc:  # openpyxl raises many kinds of errors for damaged files
        raise ImportFileError(
            filename, f"this is not a readable .xlsx workbook ({type(exc).__name__}: {exc})."
        ) from None


def rows(sheet, filename: str, limits: Limits, *, stop_after: int | None = None):
    """Yield (row number, tuple of values) of a read-only worksheet, at most `max_columns`
    values a row; raise ImportFileError past `max_rows` rows or `max_columns` columns.
    `stop_after` ends quietly after that many rows (a preview)."""
    last = limits.max_rows + 1 if stop_after is None else min(stop_after, limits.max_rows + 1)
    width = limits.max_columns + 1
    for number, row in enumerate(
        sheet.iter_rows(min_row=1, max_row=last, max_col=width, values_only=True), start=1
    ):
        if number > limits.max_rows:
            raise SpreadsheetTooLarge(
                filename,
                f"the worksheet has more than {limits.max_rows:,} rows; at most "
                f"{limits.max_rows:,} are accepted ({limits.rows_setting}). Split the file.",
                number,
            )
        if len(row) >= width and row[width - 1] not in (None, ""):
            raise SpreadsheetTooLarge(
                filename,
                f"row {number} has more than {limits.max_columns:,} columns; at most "
                f"{limits.max_columns:,} are accepted ({limits.prefix}_MAX_COLUMNS).",
                number,
            )
        yield number, row
