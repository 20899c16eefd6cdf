"""meta_analyze on random CSV files: a result or a clear CommandError, never a traceback.

Hypothesis writes files from pieces people's files are made of (headers named as escalc's
arguments and not, numbers with points, commas, exponents and signs, NA, quotes, delimiters,
blank lines, ragged rows, non-ASCII text) and random bytes, then runs the command with random
measures, methods and levels.
"""

import io

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.study_table import INPUT_COLUMNS

SLOW_OK = [HealthCheck.function_scoped_fixture]
NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["0", "0,5", "1.234", "1,234.5", "-0,24", "1e-300", "1e300", "NA", "", "x",
                     "−0.3", "inf", "nan", ".5", "5.", "1e", '"1,5"', "0.0"]),
)
CELLS = st.one_of(NUMBERS, st.text(max_size=8))
HEADERS = st.lists(
    st.one_of(st.sampled_from((*INPUT_COLUMNS, "study", "slab", "")), st.text(max_size=5)),
    min_size=1, max_size=7,
)  # fmt: skip


@st.composite
def csv_files(draw):
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = draw(HEADERS)
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=len(header) + 1), max_size=12))
    lines = [delimiter.join(header)] + [delimiter.join(row) for row in rows]
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")


ARGS = st.tuples(
    st.sampled_from(["GEN", "RR", "OR", "RD", "SMD", "MD", "ZCOR", "COR", "PLO", "PR"]),
    st.sampled_from(["FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS"]),
    st.sampled_from(["z", "knha"]),
    st.sampled_from(["95", "90", "0.95", "0", "100", "-1", "abc"]),
    st.booleans(),
)


def run_on(tmp_path, data: bytes, args) -> None:
    measure, method, test, level, as_json, *rest = args
    convention = rest[0] if rest else "metafor"
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    argv = [str(path), "--measure", measure, "--method", method, "--test", test,
            f"--level={level}", f"--convention={convention}"] + (
                ["--json"] if as_json else [])  # fmt: skip
    try:
        call_command("meta_analyze", *argv, stdout=io.StringIO())
    except CommandError as exc:
        assert str(exc).strip(), "an error must say what is wrong"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=400, deadline=None, suppress_health_check=SLOW_OK)
@given(data=csv_files(), args=ARGS)
def test_random_study_tables_give_a_result_or_a_clear_error(tmp_path, data, args):
    run_on(tmp_path, data, args)


@settings(max_examples=100, deadline=None, suppress_health_check=SLOW_OK)
@given(data=st.binary(max_size=300), args=ARGS)
def test_random_bytes_give_a_clear_error(tmp_path, data, args):
    run_on(tmp_path, data, args)


EXTREMES = st.sampled_from([0.0, 1e-300, 1e300, -1e300, 5e-324, 1e50, 1e-50, 1e-8, -1.0])
VALUES = st.one_of(
    st.floats(0.001, 1000).filter(lambda x: x > 0), st.integers(0, 1000).map(float),
    st.floats(-0.99, 0.99), EXTREMES, st.floats(allow_nan=False, allow_infinity=False),
)  # fmt: skip
FIT_ARGS = st.tuples(
    st.sampled_from(["FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS"]),
    st.sampled_from(["z", "knha"]),
    st.sampled_from(["95", "90", "99.9", "0.95"]),
    st.booleans(),
    st.sampled_from(["metafor", "meta", "revman"]),
)


MEASURE_COLUMNS = {
    "GEN": ("yi", "vi"), "RR": ("ai", "bi", "ci", "di"), "OR": ("ai", "bi", "ci", "di"),
    "RD": ("ai", "bi", "ci", "di"), "SMD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "MD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"), "ZCOR": ("ri", "ni"),
    "PLO": ("xi", "ni"), "PR": ("xi", "ni"),
}  # fmt: skip


@st.composite
def well_formed_tables(draw):
    """Well-formed files for the measure, with extreme, zero and negative numbers, so that the
    engine is reached."""
    measure = draw(st.sampled_from(sorted(MEASURE_COLUMNS)))
    columns = MEASURE_COLUMNS[measure]
    k = draw(st.integers(1, 8))
    lines = ["study," + ",".join(columns)]
    for i in range(k):
        # mostly ordinary numbers (so that most files are fitted), now and then an extreme one
        extreme = draw(st.integers(0, 4)) == 0
        cells = [draw(VALUES if extreme else st.floats(0.05, 0.95) if c == "ri"
                      else st.integers(1, 500).map(float)) for c in columns]
        lines.append(f"S{i}," + ",".join(repr(x) for x in cells))
    return ("\n".join(lines) + "\n").encode(), measure


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=400, deadline=None, suppress_health_check=SLOW_OK)
@given(table=well_formed_tables(), args=FIT_ARGS)
def test_extreme_numbers_give_a_result_or_a_clear_error(tmp_path, table, args):
    data, measure = table
    run_on(tmp_path, data, (measure, *args))
