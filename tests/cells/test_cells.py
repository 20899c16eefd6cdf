"""review.cells: the one safe-cell function of every export, and its inverse for uploads."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.engine.numbers import COMMA, POINT, format_number
from review.cells import is_plain_number, safe_cell, unquote_cell


@pytest.mark.parametrize(
    "text, written",
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-", "'-"),
        ("-inf", "'-inf"),
        ("+1", "'+1"),  # the app never writes a plus: a user's "+1" is quoted
        ("'=x", "''=x"),  # a typed apostrophe survives the upload's unquoting
        ("''@x", "'''@x"),
        ("a=1", "a=1"),
        ("", ""),
        ("'hello", "'hello"),
        ("'-1", "'-1"),
        ("-0.24", "-0.24"),
        ("-0,24", "-0,24"),
        ("-1e-05", "-1e-05"),
        ("-12", "-12"),
    ],
)
def test_text_starting_a_formula_is_quoted_and_numbers_are_not(text, written):
    assert safe_cell(text) == written
    assert unquote_cell(written) == text


@pytest.mark.parametrize("value", [None, -0.24, -3, 0, True, dt.date(2020, 1, 2)])
def test_values_that_are_not_text_pass_through(value):
    assert safe_cell(value) is value


@given(st.text())
def test_unquote_gives_back_any_text_and_the_cell_never_starts_a_formula(text):
    cell = safe_cell(text)
    assert unquote_cell(cell) == text
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or is_plain_number(cell)


@given(
    st.floats(allow_nan=False, allow_infinity=False, max_value=-1e-300),
    st.sampled_from([None, POINT, COMMA]),
)
def test_a_negative_number_as_the_app_writes_it_is_left_alone(value, decimal):
    text = format_number(value, decimal)
    assert safe_cell(text) == text
