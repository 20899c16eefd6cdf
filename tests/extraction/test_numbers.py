"""The one number parser (analysis/engine/numbers.py): a decimal comma is never read as a
thousands separator, nothing ambiguous is accepted without a declared separator, and every
number written in the declared convention comes back exactly."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.engine.numbers import NumberError, parse_number


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("12.5", None, 12.5),
        ("1234", None, 1234),
        ("  -0.24 ", None, -0.24),
        ("\u22120.24", None, -0.24),  # unicode minus
        ("1e-5", None, 1e-5),
        (".5", None, 0.5),
        ("12,5", "comma", 12.5),
        ("-0,24", "comma", -0.24),
        ("\u22120,24", "comma", -0.24),
        ("1.234,5", "comma", 1234.5),
        ("1.234.567,25", "comma", 1234567.25),
        ("1234", "comma", 1234),
        ("1,234", "point", 1234),
        ("1,234.5", "point", 1234.5),
        ("12.5", "point", 12.5),
        (12.5, None, 12.5),  # a spreadsheet cell that is already a number passes through
        (7, "comma", 7),
    ],
)
def test_numbers_are_read_as_written(text, decimal, expected):
    assert parse_number(text, decimal=decimal, field="Mean") == expected


@pytest.mark.parametrize(
    ("text", "decimal", "message"),
    [
        (
            "1,234",
            None,
            "Mean (treatment): '1,234' could be 1.234 or 1234; set the review's decimal "
            "separator (Settings) or type it without a comma.",
        ),
        (
            "12,5",
            None,
            "Mean (treatment): '12,5' has a comma, which could be a decimal comma (12.5); set "
            "the review's decimal separator (Settings) or type it without a comma.",
        ),
        (
            "1.234",
            "comma",
            "Mean (treatment): '1.234' could be 1234 or 1.234; with a decimal comma type 1234 "
            "or 1,234.",
        ),
        (
            "12,5",
            "point",
            "Mean (treatment): '12,5' is not a number with a decimal point (a comma may only "
            "group thousands, as in 1,234.5).",
        ),
        (
            "12.5",
            "comma",
            "Mean (treatment): '12.5' is not a number with a decimal comma (a point may only "
            "group thousands, as in 1.234,5).",
        ),
        ("nan", None, "Mean (treatment): 'nan' is not a number."),
        ("inf", "point", "Mean (treatment): 'inf' is not a number."),
        ("-Infinity", None, "Mean (treatment): '-Infinity' is not a number."),
        ("12 mg", None, "Mean (treatment): '12 mg' is not a number."),
        ("1e999", None, "Mean (treatment): '1e999' is too large."),
        ("", None, "Mean (treatment): required."),
        ("   ", "comma", "Mean (treatment): required."),
        (float("nan"), None, "Mean (treatment): 'nan' is not a number."),
        (True, None, "Mean (treatment): True is not a number."),
    ],
)
def test_refusals_name_the_field_and_the_readings(text, decimal, message):
    with pytest.raises(NumberError) as caught:
        parse_number(text, decimal=decimal, field="Mean (treatment)")
    assert str(caught.value) == message
    assert caught.value.field == "Mean (treatment)"


def test_an_empty_optional_value_is_none():
    assert parse_number("  ", field="SD", required=False) is None
    assert parse_number(None, field="SD", required=False) is None


def test_an_unknown_separator_is_a_programming_error():
    with pytest.raises(ValueError, match="decimal must be"):
        parse_number("1", decimal="dot", field="x")


finite = st.floats(allow_nan=False, allow_infinity=False)


def _grouped(integer: str, sep: str) -> str:
    head = len(integer) % 3 or 3
    return sep.join([integer[:head]] + [integer[i : i + 3] for i in range(head, len(integer), 3)])


@given(finite)
def test_any_float_written_with_a_point_comes_back_exactly(x):
    text = repr(x)
    assert parse_number(text, decimal="point", field="x") == x
    # repr never groups thousands, so a point needs no declaration at all
    assert parse_number(text, field="x") == x
    assert math.copysign(1, parse_number(text, field="x")) == math.copysign(1, x)


@given(finite)
def test_any_float_written_with_a_comma_comes_back_exactly(x):
    text = repr(x).replace(".", ",")
    assert parse_number(text, decimal="comma", field="x") == x


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=99))
def test_thousands_groups_in_either_convention(whole, cents):
    point = f"{_grouped(str(whole), ',')}.{cents:02d}"
    comma = f"{_grouped(str(whole), '.')},{cents:02d}"
    expected = float(f"{whole}.{cents:02d}")
    assert parse_number(point, decimal="point", field="x") == expected
    assert parse_number(comma, decimal="comma", field="x") == expected


@given(st.text(alphabet="0123456789,.-e ", min_size=1, max_size=12))
def test_nothing_with_a_comma_is_accepted_without_a_declaration(text):
    try:
        value = parse_number(text, field="x")
    except NumberError:
        return
    assert "," not in text
    assert value == float(text.strip())


@given(st.text(alphabet="0123456789,.-", min_size=1, max_size=12))
def test_with_a_decimal_comma_a_lone_point_group_is_never_guessed(text):
    """With a decimal comma, '1.234' (points, no comma) could be 1234 or a decimal typed by
    habit: it is refused, whatever the digits."""
    if "," in text or "." not in text:
        return
    with pytest.raises(NumberError):
        parse_number(text, decimal="comma", field="x")
