"""A CSV of study data as `manage.py meta_analyze` reads it: one study per row, columns named as
metafor's escalc arguments. Pure Python (no Django).

Files come from anywhere, so every problem is an error naming the file, the line and the column:
a row with more or fewer fields than the header, a header naming a column twice, a number that
is not one (or could be two). What it reads without asking:

* the encoding: UTF-8 (with or without a byte-order mark), else Windows-1252 / Latin-1, the
  encoding of Excel's "CSV" on Western European Windows;
* the delimiter: comma, semicolon or tab, whichever the header line uses most;
* the decimal separator: a point, unless the file is semicolon- or tab-separated and its numbers
  hold commas (Excel's CSV where the comma is the decimal mark). Numbers are read by
  `analysis.engine.numbers.parse_number`, which refuses what it cannot read unambiguously.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

from analysis.engine.numbers import COMMA, POINT, NumberError, parse_number

INPUT_COLUMNS = ("ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "m2i", "sd1i", "sd2i",
                 "xi", "ni", "ri", "yi", "vi", "sei")  # fmt: skip
LABEL_COLUMNS = ("study", "slab")
MISSING = ("", "NA", "NaN", "nan", "N/A", ".")
DELIMITERS = (",", ";", "\t")


class TableError(ValueError):
    """A problem with the file; the message names the file, and the line and column if any."""


@dataclass(frozen=True)
class StudyTable:
    columns: dict[str, list[float]]  # the escalc inputs present; NaN where missing
    labels: list[str] | None
    encoding: str
    delimiter: str
    decimal: str  # "point" or "comma"


def decode(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding name) of a CSV file's bytes."""
    if b"\x00" in data:
        raise TableError(f"{name} is not a text file (it holds NUL bytes).")
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1"


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_study_table(data: bytes, name: str, *, decimal: str | None = None) -> StudyTable:
    """The study table in `data` (the bytes of the file called `name`). `decimal`: "point",
    "comma" or None (decided from the file, as the module says)."""
    text, encoding = decode(data, name)
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise TableError(f"{name} is empty.")
    delimiter = _delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header, header_line, rows = None, None, []
    try:
        for fields in reader:
            if not any(f.strip() for f in fields):
                continue  # a blank line
            if header is None:
                header = [f.strip() for f in fields]
                header_line = reader.line_num
                continue
            if len(fields) != len(header):
                raise TableError(
                    f"{name}, line {reader.line_num}: {len(fields)} fields, but the header "
                    f"(line {header_line}) has {len(header)}."
                )
            rows.append((reader.line_num, fields))
    except csv.Error as exc:
        raise TableError(f"{name}, line {reader.line_num}: {exc}.") from None
    _check_header(header, name, header_line)
    if not rows:
        raise TableError(f"{name} has a header but no data rows.")
    index = {col: i for i, col in enumerate(header)}
    inputs = [col for col in INPUT_COLUMNS if col in index]
    if decimal is None:
        commas = delimiter != "," and any(
            "," in fields[index[col]] for _, fields in rows for col in inputs
        )
        decimal = COMMA if commas else POINT
    columns = {col: [] for col in inputs}
    for line, fields in rows:
        for col in inputs:
            raw = fields[index[col]].strip()
            if raw in MISSING:
                columns[col].append(math.nan)
                continue
            where = f"{name}, line {line}, column '{col}'"
            try:
                value = float(parse_number(raw, decimal=decimal, field=where))
            except NumberError as exc:
                raise TableError(str(exc)) from None
            columns[col].append(value)
    label_col = next((c for c in LABEL_COLUMNS if c in index), None)
    labels = [fields[index[label_col]].strip() for _, fields in rows] if label_col else None
    return StudyTable(columns, labels, encoding, delimiter, decimal)


def _check_header(header, name: str, line) -> None:
    if header is None:
        raise TableError(f"{name} is empty.")
    seen: dict[str, int] = {}
    for position, col in enumerate(header, start=1):
        if not col:
            continue
        if col in seen:
            raise TableError(
                f"{name}, line {line}: columns {seen[col]} and {position} are both named "
                f"'{col}'; rename or remove one."
            )
        seen[col] = position
    if not any(col in seen for col in INPUT_COLUMNS):
        raise TableError(
            f"{name}, line {line}: no column is named as an escalc argument "
            f"({', '.join(INPUT_COLUMNS)})."
        )
