"""analysis.engine.inputs: the input forms, every validation rule, and effect() against
metafor 3.8-1 (the reference CSVs in tests/data/metafor/data and values computed with
metafor's escalc for the measures those files do not cover)."""

from __future__ import annotations

import math

import pytest

from analysis.engine.effect_sizes import MEASURES, escalc
from analysis.engine.errors import MetaAnalysisError
from analysis.engine.inputs import (
    ERROR,
    INPUT_FORMS,
    WARNING,
    FieldError,
    InputError,
    effect,
    input_form,
    to_escalc,
    validate,
)
from tests.analysis import reference as ref

Z975 = 1.959963984540054

VALID = {
    "RR": {"ai": 4, "n1i": 123, "ci": 11, "n2i": 139},
    "OR": {"ai": 4, "n1i": 123, "ci": 11, "n2i": 139},
    "RD": {"ai": 4, "n1i": 123, "ci": 11, "n2i": 139},
    "SMD": {"m1i": 55, "sd1i": 47, "n1i": 155, "m2i": 75, "sd2i": 64, "n2i": 156},
    "MD": {"m1i": 55, "sd1i": 47, "n1i": 155, "m2i": 75, "sd2i": 64, "n2i": 156},
    "ZCOR": {"ri": 0.187, "ni": 109},
    "COR": {"ri": 0.187, "ni": 109},
    "PLO": {"xi": 4, "ni": 123},
    "PR": {"xi": 4, "ni": 123},
    "GEN": {"yi": 0.3, "sei": 0.2},
}
GEN_CI = {"yi": 0.3, "ci_lb": -0.1, "ci_ub": 0.7}
GEN_RATIO = {"yi": 1.5, "ci_lb": 1.0, "ci_ub": 2.25}  # symmetric on the log scale


def close(a, b, tol=1e-10):
    assert a == pytest.approx(b, rel=tol, abs=tol)


# --------------------------------------------------------------------------------------------
# the forms


def test_every_escalc_measure_has_a_form():
    assert tuple(INPUT_FORMS) == MEASURES
    for measure, form in INPUT_FORMS.items():
        assert form.measure == measure
        assert form.title and form.note
        for f in form.fields:
            assert f.label and f.kind in (
                "count",
                "number",
                "sd",
                "correlation",
                "se",
                "variance",
                "level",
            )


def test_form_fields():
    assert input_form("rr").names == ("ai", "n1i", "ci", "n2i")
    assert input_form("OR").field("n1i").unit == "participants"
    assert input_form("SMD").names == ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
    assert input_form("ZCOR").names == ("ri", "ni")
    assert input_form("PLO").names == ("xi", "ni")
    gen = input_form("GEN")
    assert gen.names == ("yi", "sei", "vi", "ci_lb", "ci_ub", "level")
    assert [f.name for f in gen.fields if f.required] == ["yi"]
    assert gen.field("level").unit == "%"
    d = input_form("MD").as_dict()
    assert d["measure"] == "MD" and d["fields"][0]["name"] == "m1i"
    with pytest.raises(KeyError):
        gen.field("ai")


def test_unknown_measure_and_bad_options():
    with pytest.raises(MetaAnalysisError, match="Unknown measure"):
        validate("HR", {})
    with pytest.raises(MetaAnalysisError, match="scale"):
        validate("GEN", VALID["GEN"], scale="exp")
    with pytest.raises(MetaAnalysisError, match="applies to measure 'GEN'"):
        validate("OR", VALID["OR"], scale="log")
    with pytest.raises(MetaAnalysisError, match="between 0 and 100"):
        validate("GEN", GEN_CI, level=0)


# --------------------------------------------------------------------------------------------
# validation: valid rows are clean; each rule produces its message


@pytest.mark.parametrize("measure", MEASURES)
def test_valid_rows_have_no_problems(measure):
    assert validate(measure, VALID[measure]) == []


def test_valid_generic_rows_have_no_problems():
    assert validate("GEN", GEN_CI) == []
    assert validate("GEN", {**GEN_CI, "level": 90}) == []
    assert validate("GEN", {"yi": 0.3, "vi": 0.04}) == []
    assert validate("GEN", GEN_RATIO, scale="log") == []


def test_missing_values_nan_and_blank_are_not_given_and_extra_keys_are_ignored():
    values = {"ai": 4, "n1i": "123", "ci": 11, "n2i": 139.0, "notes": "x", "yi": "abc"}
    assert validate("RR", values) == []
    problems = validate("RR", {"ai": float("nan"), "n1i": "", "ci": None})
    assert [(p.field, p.severity) for p in problems] == [
        ("ai", ERROR),
        ("n1i", ERROR),
        ("ci", ERROR),
        ("n2i", ERROR),
    ]
    assert all("is required" in p.message for p in problems)


def _with(measure, **changes):
    values = dict(GEN_CI if measure == "GEN-CI" else VALID[measure.split("-")[0]])
    for key, value in changes.items():
        if value is ...:
            values.pop(key, None)
        else:
            values[key] = value
    return values


E, W = ERROR, WARNING
TREATED, CONTROL = "treatment group (group 1)", "control group (group 2)"
LOG = {"scale": "log"}

# (measure, values, validate options, field, message fragment, severity); each rule has a row
# that fails if the rule is removed
RULES = [
    # presence, one per form
    ("RR", _with("RR", n2i=...), {}, "n2i", f"Total participants in the {CONTROL} is", E),
    ("SMD", _with("SMD", sd1i=...), {}, "sd1i", f"Standard deviation in the {TREATED} is", E),
    ("ZCOR", _with("ZCOR", ri=...), {}, "ri", "Correlation coefficient (r) is required", E),
    ("PLO", _with("PLO", xi=...), {}, "xi", "Participants with the event is required", E),
    ("GEN", _with("GEN", yi=...), {}, "yi", "Effect estimate is required", E),
    # numbers
    ("OR", _with("OR", ai="four"), {}, "ai", "must be a number", E),
    ("OR", _with("OR", ai=True), {}, "ai", "must be a number", E),
    ("MD", _with("MD", m1i=math.inf), {}, "m1i", "must be a finite number", E),
    # counts are non-negative whole numbers
    ("RR", _with("RR", ai=2.5), {}, "ai", "must be a whole number", E),
    ("RR", _with("RR", ci=-1), {}, "ci", "cannot be negative", E),
    ("PR", _with("PR", ni=10.5), {}, "ni", "must be a whole number", E),
    ("SMD", _with("SMD", n2i=-5), {}, "n2i", "cannot be negative", E),
    # totals > 0
    ("RD", _with("RD", ai=0, n1i=0), {}, "n1i", "must be at least 1", E),
    ("PLO", _with("PLO", xi=0, ni=0), {}, "ni", "must be at least 1", E),
    # events <= total
    ("RR", _with("RR", ai=124), {}, "ai", f"total participants in the {TREATED}: 124 > 123", E),
    ("OR", _with("OR", ci=140), {}, "ci", f"total participants in the {CONTROL}: 140 > 139", E),
    ("PR", _with("PR", xi=124), {}, "xi", "cannot exceed the total participants: 124 > 123", E),
    # SD > 0
    ("SMD", _with("SMD", sd2i=0), {}, "sd2i", f"in the {CONTROL} must be greater than 0", E),
    ("MD", _with("MD", sd1i=-3), {}, "sd1i", "must be greater than 0", E),
    # n >= 2 per group for SMD/MD (so n1i + n2i >= 4 > 3, as escalc's SMD needs)
    ("SMD", _with("SMD", n1i=1), {}, "n1i", "must be at least 2", E),
    ("MD", _with("MD", n2i=1), {}, "n2i", "must be at least 2", E),
    # correlations
    ("ZCOR", _with("ZCOR", ri=1.2), {}, "ri", "must be between -1 and 1", E),
    ("COR", _with("COR", ri=-1.01), {}, "ri", "must be between -1 and 1", E),
    ("ZCOR", _with("ZCOR", ri=1), {}, "ri", "Fisher's z = atanh(r) is infinite", E),
    ("ZCOR", _with("ZCOR", ri=-1), {}, "ri", "of exactly -1 cannot be used", E),
    ("COR", _with("COR", ri=1), {}, "ri", "sampling variance", E),
    ("ZCOR", _with("ZCOR", ni=3), {}, "ni", "at least 4: Fisher's z has variance 1/(n - 3)", E),
    ("COR", _with("COR", ni=1), {}, "ni", "must be at least 2", E),
    # generic estimate: its precision
    ("GEN", _with("GEN", sei=...), {}, "sei", "Give the precision of the estimate", E),
    ("GEN", _with("GEN", ci_lb=-0.1, ci_ub=0.7), {}, None, "Give only one of", E),
    ("GEN", _with("GEN", vi=0.04), {}, None, "Give only one of", E),
    ("GEN", _with("GEN-CI", ci_ub=...), {}, "ci_ub", "is required with the lower confidence", E),
    ("GEN", _with("GEN-CI", ci_lb=...), {}, "ci_lb", "is required with the upper confidence", E),
    ("GEN", _with("GEN", sei=0), {}, "sei", "Standard error of the estimate must be greater", E),
    ("GEN", {"yi": 0.3, "vi": -0.01}, {}, "vi", "Sampling variance of the estimate must be", E),
    # generic estimate: the interval
    ("GEN", _with("GEN-CI", ci_lb=0.7, ci_ub=-0.1), {}, "ci_lb", "must be below the upper", E),
    ("GEN", _with("GEN-CI", ci_lb=0.7, ci_ub=0.7, yi=0.7), {}, "ci_lb", "must be below the", E),
    ("GEN", _with("GEN-CI", yi=0.9), {}, "yi", "lies outside its confidence interval", E),
    ("GEN", _with("GEN-CI", yi=-0.2), {}, "yi", "lies outside its confidence interval", E),
    ("GEN", _with("GEN-CI", yi=0.7), {}, "yi", "equals a confidence limit", W),
    ("GEN", {**GEN_RATIO, "yi": 3.0}, LOG, "yi", "lies outside", E),
    ("GEN", {**GEN_RATIO, "yi": -1.5}, LOG, "yi", "greater than 0 on the ratio scale", E),
    ("GEN", {**GEN_RATIO, "ci_lb": 0}, LOG, "ci_lb", "greater than 0 on the ratio scale", E),
    ("GEN", {**GEN_RATIO, "ci_ub": -2}, LOG, "ci_ub", "greater than 0 on the ratio scale", E),
    # confidence level
    ("GEN", _with("GEN-CI", level=100), {}, "level", "strictly between 0 and 100, e.g. 95", E),
    ("GEN", _with("GEN-CI", level=-5), {}, "level", "strictly between 0 and 100", E),
    ("GEN", _with("GEN-CI", level=0.95), {}, "level", "enter 95 for a 95% interval", E),
    # warnings: continuity corrections
    ("RR", _with("RR", ai=0), {}, "ai", "zero cell: escalc adds 0.5", W),
    ("OR", _with("OR", ci=139), {}, "ci", "zero cell", W),
    ("OR", _with("OR", ai=0, ci=0), {}, None, "No events in either group: the table says", W),
    ("RD", _with("RD", ai=123, ci=139), {}, None, "Every participant had the event: the", W),
    ("PLO", _with("PLO", xi=0), {}, "xi", "No participants had the event: escalc adds", W),
    ("PR", _with("PR", xi=123), {}, "xi", "All participants had the event", W),
    # warnings: an interval that is not symmetric around the estimate
    ("GEN", {"yi": 2.0, "ci_lb": 1.0, "ci_ub": 4.0}, {}, "ci_lb", "use scale='log'", W),
    ("GEN", _with("GEN-CI", yi=0.1), {}, "ci_lb", "not symmetric around the estimate", W),
    ("GEN", {"yi": 1.2, "ci_lb": 1.0, "ci_ub": 4.0}, LOG, "ci_lb", "not symmetric", W),
]


@pytest.mark.parametrize(
    ("measure", "values", "options", "field", "fragment", "severity"),
    RULES,
    ids=[f"{r[0]}-{r[3]}-{r[4][:40]}" for r in RULES],
)
def test_each_rule(measure, values, options, field, fragment, severity):
    problems = validate(measure, values, **options)
    hits = [p for p in problems if p.field == field and fragment in p.message]
    assert hits, problems
    assert hits[0].severity == severity
    if severity == ERROR:
        with pytest.raises(InputError) as info:
            effect(measure, values, **options)
        assert any(fragment in e.message for e in info.value.errors)
        assert fragment in str(info.value)
    else:
        yi, vi = effect(measure, values, **options)  # warnings do not block
        assert math.isfinite(yi) and vi > 0


def test_one_error_per_field_and_all_fields_reported():
    problems = validate("SMD", {"m1i": "x", "sd1i": -1, "n1i": 1.5, "m2i": 1, "sd2i": 1})
    assert [p.field for p in problems] == ["m1i", "sd1i", "n1i", "n2i"]
    assert all(p.is_error for p in problems)


def test_input_error_lists_every_error_and_is_a_metaanalysis_error():
    with pytest.raises(MetaAnalysisError) as info:
        effect("RR", {"ai": 200, "n1i": 100, "ci": -1})
    err = info.value
    assert isinstance(err, InputError) and isinstance(err, ValueError)
    assert [e.field for e in err.errors] == ["ci", "n2i", "ai"]
    assert str(err).startswith("Cannot compute the RR for this study: ")
    assert "cannot be negative" in str(err) and "is required" in str(err)


def test_field_error_defaults_to_an_error():
    e = FieldError("ai", "message")
    assert e.severity == ERROR and e.is_error
    assert not FieldError(None, "m", WARNING).is_error


# --------------------------------------------------------------------------------------------
# effect() against metafor


def _number_or_text(text):
    try:
        return float(text)
    except ValueError:
        return text


def _row(case, i):
    return {k: _number_or_text(v[i]) for k, v in ref.data(case).items()}


@pytest.mark.parametrize("i", range(13))
def test_rr_equals_metafor_bcg(i):
    row = _row("bcg_RR", i)
    values = {
        "ai": row["tpos"],
        "n1i": row["tpos"] + row["tneg"],
        "ci": row["cpos"],
        "n2i": row["cpos"] + row["cneg"],
    }
    yi, vi = effect("RR", values)
    close(yi, row["yi"])
    close(vi, row["vi"])


@pytest.mark.parametrize("i", range(16))
def test_zcor_equals_metafor_molloy(i):
    row = _row("molloy2014_ZCOR", i)
    yi, vi = effect("ZCOR", {"ri": row["ri"], "ni": row["ni"]})
    close(yi, row["yi"])
    close(vi, row["vi"])


@pytest.mark.parametrize("case", ["normand1999_SMD", "normand1999_MD"])
@pytest.mark.parametrize("i", range(9))
def test_smd_md_equal_metafor_normand(case, i):
    row = _row(case, i)
    values = {k: row[k] for k in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}
    yi, vi = effect(case.split("_")[1], values)
    close(yi, row["yi"])
    close(vi, row["vi"])


# R 4.2.2, metafor 3.8-1: escalc(measure, <arguments>) printed with sprintf("%.17g")
METAFOR = [
    # bcg trial 1 (Aronson 1948): 4/123 vaccinated, 11/139 controls
    ("RR", VALID["RR"], -0.88931133392020545, 0.32558476500396133),
    ("OR", VALID["OR"], -0.93869414087039216, 0.35712495225362872),
    ("RD", VALID["RD"], -0.046616365444229972, 0.00078006866485593796),
    # a zero cell (0/20 vs 5/20): 0.5 added to the four cells
    ("RR", {"ai": 0, "n1i": 20, "ci": 5, "n2i": 20}, -2.3978952727983707, 2.0865800865800868),
    ("OR", {"ai": 0, "n1i": 20, "ci": 5, "n2i": 20}, -2.6774801350175323, 2.2951147986553178),
    ("RD", {"ai": 0, "n1i": 20, "ci": 5, "n2i": 20}, -0.23809523809523811, 0.010312061332469497),
    # no events in either group (0/10 vs 0/12): kept and corrected (drop00 = FALSE)
    ("RR", {"ai": 0, "n1i": 10, "ci": 0, "n2i": 12}, 0.16705408466316651, 3.8321678321678321),
    ("OR", {"ai": 0, "n1i": 10, "ci": 0, "n2i": 12}, 0.17435338714477755, 4.175238095238095),
    ("RD", {"ai": 0, "n1i": 10, "ci": 0, "n2i": 12}, 0.0069930069930069921, 0.0067891910524802111),
    # molloy2014 row 1
    ("ZCOR", {"ri": 0.187, "ni": 109}, 0.1892266425309288, 0.009433962264150943),
    ("COR", {"ri": 0.187, "ni": 109}, 0.187, 0.0086230076940833327),
    # proportions: 4/123, and 0/20 (corrected)
    ("PLO", {"xi": 4, "ni": 123}, -3.3928291319916388, 0.25840336134453784),
    ("PR", {"xi": 4, "ni": 123}, 0.032520325203252036, 0.000255794745137616),
    ("PLO", {"xi": 0, "ni": 20}, -3.713572066704308, 2.0487804878048781),
    ("PR", {"xi": 0, "ni": 20}, 0.023809523809523808, 0.0011067919231184536),
    # normand1999 row 1
    ("SMD", VALID["SMD"], -0.35516964094010689, 0.013064675541529683),
    ("MD", VALID["MD"], -20.0, 40.50802315963606),
    # generic
    ("GEN", {"yi": 0.3, "sei": 0.2}, 0.3, 0.04),
]


@pytest.mark.parametrize(("measure", "values", "yi", "vi"), METAFOR)
def test_effect_equals_metafor(measure, values, yi, vi):
    got = effect(measure, values)
    close(got[0], yi)
    close(got[1], vi)
    # and the engine's escalc on the mapped arguments
    es = escalc(measure, **{k: [v] for k, v in to_escalc(measure, values).items()})
    assert got == (float(es.yi[0]), float(es.vi[0]))


def test_two_by_two_maps_to_escalc_cells():
    assert to_escalc("OR", {"ai": 4, "n1i": 123, "ci": 11, "n2i": 139}) == {
        "ai": 4.0,
        "bi": 119.0,
        "ci": 11.0,
        "di": 128.0,
    }


def test_continuity_options_are_passed_to_escalc():
    values = {"ai": 0, "n1i": 20, "ci": 5, "n2i": 20}
    es = escalc("RR", ai=[0], n1i=[20], ci=[5], n2i=[20], to="all", add=0.25)
    assert effect("RR", values, to="all", add=0.25) == (float(es.yi[0]), float(es.vi[0]))
    with pytest.raises(MetaAnalysisError, match="Cannot compute the effect size"):
        effect("RR", values, to="none")  # log(0): escalc refuses


# --------------------------------------------------------------------------------------------
# generic estimates from a CI


def test_generic_from_ci_on_the_analysis_scale():
    # 0.3 (95% CI -0.1 to 0.7): SE = 0.8 / 3.919928 = 0.2040854, vi = SE^2
    yi, vi = effect("GEN", GEN_CI)
    close(yi, 0.3)
    close(vi, (0.8 / (2 * Z975)) ** 2)
    # a 90% interval given in the values, or as the default level
    yi, vi = effect("GEN", {**GEN_CI, "level": 90})
    close(vi, (0.8 / (2 * 1.6448536269514722)) ** 2)
    assert effect("GEN", GEN_CI, level=90) == (yi, vi)
    assert effect("GEN", {**GEN_CI, "level": 90}, level=99) == (yi, vi)  # the values win


def test_generic_ratio_on_the_natural_scale():
    # OR 1.5 (95% CI 1.0 to 2.25): yi = ln 1.5 = 0.4054651;
    # SE = (ln 2.25 - ln 1) / (2 * 1.959964) = 0.8109302 / 3.919928 = 0.2068738 (0.20687375447)
    yi, vi = effect("GEN", GEN_RATIO, scale="log")
    close(yi, math.log(1.5))
    close(vi, (math.log(2.25) / (2 * Z975)) ** 2)
    close(math.sqrt(vi), 0.2068737544701951)
    # with an SE it is the SE of the log ratio
    assert effect("GEN", {"yi": 1.5, "sei": 0.2}, scale="log") == pytest.approx(
        (math.log(1.5), 0.04)
    )


def test_generic_round_trip_of_a_metafor_row():
    # bcg trial 2 as a paper would print it: RR = exp(yi) with its 95% CI
    row = _row("bcg_RR", 1)
    se = math.sqrt(row["vi"])
    values = {
        "yi": math.exp(row["yi"]),
        "ci_lb": math.exp(row["yi"] - Z975 * se),
        "ci_ub": math.exp(row["yi"] + Z975 * se),
    }
    yi, vi = effect("GEN", values, scale="log")
    close(yi, row["yi"])
    close(vi, row["vi"])
    yi, vi = effect("GEN", {"yi": row["yi"], "vi": row["vi"]})
    assert (yi, vi) == (row["yi"], row["vi"])
