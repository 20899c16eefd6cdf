"""Spreadsheet cells that cannot run a formula (OWASP "CSV injection"): the one function every
CSV and Excel export of the app writes its cells through, and its inverse for uploads.

Excel, LibreOffice and Google Sheets evaluate a cell that starts with = + - @ (and, in some, a
tab or carriage return) as a formula, which can call out (``=HYPERLINK``, DDE ``=cmd|…``).
`safe_cell` gives such text a leading apostrophe, which the spreadsheets show as text.

Numbers stay numbers: a value that is not text (int, float, date, None) is returned as it is,
and so is text that is a plain number as the app writes one (``-0.24``, ``-0,24`` with a decimal
comma, ``-1e-05``): a spreadsheet reads it as a number, never as a formula. Anything else
starting with a formula character, including ``-1+2`` or ``-``, is quoted.

An apostrophe the user typed in front of a formula character (``'=x``) is quoted too
(``''=x``), so that `unquote_cell`, which strips exactly one leading apostrophe before a
formula character (after any further apostrophes), gives back the user's text exactly:
``unquote_cell(safe_cell(text)) == text`` for every text. The extraction sheet's upload reads
its text cells (study labels, outcome names, notes, moderator values) through it.

Pure Python, no Django.
"""

from __future__ import annotations

import re

__all__ = ["FORMULA_PREFIXES", "is_plain_number", "safe_cell", "unquote_cell"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: a number as the app writes one (repr, format_number): an optional minus, digits with a
#: decimal point or comma, an exponent; no thousands separators, no plus, no spaces
_PLAIN_NUMBER = re.compile(r"-?(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def is_plain_number(text: str) -> bool:
    """Whether `text` is a plain number (``-0.24``, ``-0,24``, ``12``, ``-1e-05``)."""
    return _PLAIN_NUMBER.fullmatch(text) is not None


def _formula_like(text: str) -> bool:
    """Text a spreadsheet would evaluate, or would once one leading apostrophe is removed."""
    rest = text.lstrip("'")
    return rest.startswith(FORMULA_PREFIXES) and not is_plain_number(rest)


def safe_cell(value):
    """`value` as a cell to write: text that starts a formula gets a leading apostrophe (so
    does such text behind apostrophes the user typed); anything else is returned unchanged."""
    if isinstance(value, str) and _formula_like(value):
        return "'" + value
    return value


def unquote_cell(value):
    """The text a user typed, from a cell `safe_cell` wrote: exactly one leading apostrophe in
    front of a formula character is removed. Anything else is returned unchanged."""
    if isinstance(value, str) and value.startswith("'") and _formula_like(value[1:]):
        return value[1:]
    return value
