"""Numbers as people type them: the one parser for the extraction page, the sheet upload, the
effect preview and the API.

A comma is a decimal comma in much of the world (``12,5``) and a thousands separator elsewhere
(``1,234``); guessing turns 12.5 into 125. So the parser never guesses:

* ``decimal=None`` (not declared): a point is the decimal point (``12.5``, ``1234``, ``1e-5``);
  anything with a comma is refused, naming the readings it could have.
* ``decimal="point"``: ``1,234.5`` is 1234.5; a comma may only group thousands (three digits).
* ``decimal="comma"``: ``1.234,5`` is 1234.5 and ``-0,24`` is -0.24; a point may only group
  thousands, and ``1.234`` (points but no comma) is refused: it could be 1234 or 1.234.

A leading unicode minus (U+2212) and surrounding spaces are accepted; ``nan``, ``inf`` and anything
else are refused. Values that already are numbers (a spreadsheet's numeric cells) pass through
unchanged. Pure Python; see docs/extraction.md ("Numbers").
"""

from __future__ import annotations

import math
import re

__all__ = ["COMMA", "POINT", "NumberError", "format_number", "parse_number"]

POINT = "point"
COMMA = "comma"

_EXPONENT = r"(?:[eE][+-]?\d+)?"
#: sign, then digits (grouped by threes or not), then the decimals, then an exponent
_GRAMMAR = {
    None: re.compile(rf"[+-]?(?:\d+(?:\.\d+)?|\.\d+){_EXPONENT}"),
    POINT: re.compile(rf"[+-]?(?:(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?|\.\d+){_EXPONENT}"),
    COMMA: re.compile(rf"[+-]?(?:(?:\d{{1,3}}(?:\.\d{{3}})+|\d+)(?:,\d+)?|,\d+){_EXPONENT}"),
}
_SEPARATORS = {None: ("", "."), POINT: (",", "."), COMMA: (".", ",")}  # (thousands, decimal)
_HINT = "set the review's decimal separator (Settings) or type it without a comma"


class NumberError(ValueError):
    """Text that is not a number, or not unambiguously one; the message names the field."""

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


def format_number(value: float, decimal: str | None = None) -> str:
    """A number as the shortest text that reads back as the same float (1234, not 1234.0), in
    the convention `decimal` declares (``0,187`` with a decimal comma; never a thousands
    separator), so that what a page or a sheet shows can be saved again unchanged."""
    value = float(value)
    text = str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    return text.replace(".", ",") if decimal == COMMA else text


def _read(text: str, decimal: str | None) -> float | None:
    """The number `text` is in the convention, or None if it is not written in it."""
    if not _GRAMMAR[decimal].fullmatch(text):
        return None
    thousands, point = _SEPARATORS[decimal]
    plain = text.replace(thousands, "") if thousands else text
    return float(plain.replace(point, "."))


def parse_number(
    raw, *, decimal: str | None = None, field: str = "Value", required: bool = True
) -> float | int | None:
    """`raw` as a number, read with the declared decimal separator (None or "": not declared;
    "point"; "comma"). Raises NumberError naming `field` (and, for ambiguous text, both
    readings). Empty is None unless `required`."""
    decimal = decimal or None
    if decimal not in _GRAMMAR:
        raise ValueError(f"decimal must be None, {POINT!r} or {COMMA!r}, not {decimal!r}")
    if isinstance(raw, bool):
        raise NumberError(field, f"{raw!r} is not a number.")
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            raise NumberError(field, f"'{raw}' is not a number.")
        return raw
    text = "" if raw is None else str(raw).strip()
    if not text:
        if required:
            raise NumberError(field, "required.")
        return None
    if text[0] == "\u2212":  # the typographic minus of word processors and PDFs
        text = "-" + text[1:]
    value = _read(text, decimal)
    if value is None:
        raise NumberError(field, _why_not(raw, text, decimal))
    if decimal == COMMA and text.count(".") == 1 and "," not in text:
        other = float(text)
        raise NumberError(
            field,
            f"'{raw}' could be {format_number(value)} or {format_number(other)}; with a decimal "
            f"comma type {format_number(value)} or {format_number(other).replace('.', ',')}.",
        )
    if not math.isfinite(value):
        raise NumberError(field, f"'{raw}' is too large.")
    return value


def _why_not(raw, text: str, decimal: str | None) -> str:
    if decimal is None and "," in text:
        readings = [_read(text, convention) for convention in (COMMA, POINT)]
        readings = list(dict.fromkeys(r for r in readings if r is not None and math.isfinite(r)))
        if len(readings) == 2:
            a, b = map(format_number, readings)
            return f"'{raw}' could be {a} or {b}; {_HINT}."
        if len(readings) == 1:
            kind = "a decimal comma" if _read(text, COMMA) is not None else "a thousands separator"
            reading = format_number(readings[0])
            return f"'{raw}' has a comma, which could be {kind} ({reading}); {_HINT}."
    if decimal == POINT and _read(text, COMMA) is not None:
        return (
            f"'{raw}' is not a number with a decimal point (a comma may only group thousands, "
            "as in 1,234.5)."
        )
    if decimal == COMMA and _read(text, POINT) is not None:
        return (
            f"'{raw}' is not a number with a decimal comma (a point may only group thousands, "
            "as in 1.234,5)."
        )
    return f"'{raw}' is not a number."
