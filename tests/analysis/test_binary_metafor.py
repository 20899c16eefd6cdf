"""rma_mh() and rma_peto() against metafor 3.8-1's rma.mh() and rma.peto().

References: tests/data/metafor/extra/binary_mh.json, made by binary_mh.R next to it, for
dat.bcg, dat.nielweise2007 (zero cells, a double-zero study), dat.yusuf1985 table 9 (six
double-zero studies) and a toy set (double zero, double all-events, single zero cell), each
with metafor's defaults, with 1/2 added to zero-cell tables for the MH/Peto sums too
("both": ``add=c(1/2, 1/2), to=c("only0", "only0"), drop00=c(TRUE, TRUE), correct=FALSE,
level=90``) and with ``to=c("all", "none")``. All closed form: 1e-8 relative.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from analysis.engine import MetaAnalysisError
from analysis.engine.binary import rma_mh, rma_peto

REF = json.loads(
    (Path(__file__).resolve().parent.parent / "data" / "metafor" / "extra" / "binary_mh.json")
    .read_text()
)
SETS = ("bcg", "nielweise2007", "yusuf1985_9", "toy")
VARIANTS = {
    "default": {},
    "both": {"add": (0.5, 0.5), "to": ("only0", "only0"), "drop00": (True, True),
             "correct": False, "level": 90},
    "all_none": {"add": (0.5, 0.0), "to": ("all", "none"), "drop00": (False, False)},
}
RTOL = 1e-8
# studies whose effect cannot be computed are named in a warning (tested below)
pytestmark = pytest.mark.filterwarnings("ignore:The effect of")


def _tables(name):
    d = REF[name]["data"]
    return d["ai"], d["bi"], d["ci"], d["di"], d["study"]


def _close(actual, expected, what):
    if expected is None:
        assert actual is None or (isinstance(actual, float) and math.isnan(actual)), what
        return
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=1e-300, err_msg=what)


def _check(res, ref, fields):
    for name, attr in fields:
        _close(getattr(res, attr), ref[name], name)
    np.testing.assert_allclose(res.yi, ref["yi"], rtol=RTOL, err_msg="yi")
    np.testing.assert_allclose(res.vi, ref["vi"], rtol=RTOL, err_msg="vi")
    assert res.k == ref["k"]
    assert res.k_yi == ref["k_yi"]
    _close(res.fitstats["ML"]["logLik"], ref["ll_ml"], "ll ML")
    _close(res.fitstats["REML"]["logLik"], ref["ll_reml"], "ll REML")


COMMON = [("b", "b"), ("se", "se"), ("zval", "zval"), ("pval", "pval"), ("ci_lb", "ci_lb"),
          ("ci_ub", "ci_ub"), ("QE", "qe"), ("QEp", "qep"), ("I2", "i2"), ("H2", "h2")]
MH_OR = [("CO", "co"), ("COp", "cop"), ("MH", "mh"), ("MHp", "mhp"), ("BD", "bd"),
         ("BDp", "bdp"), ("TA", "ta"), ("TAp", "tap")]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
@pytest.mark.parametrize("name", SETS)
def test_rma_mh_matches_metafor(name, measure, variant):
    ref = REF[name][f"mh_{measure}_{variant}"]
    ai, bi, ci, di, slab = _tables(name)
    res = rma_mh(ai, bi, ci, di, measure=measure, slab=slab, **VARIANTS[variant])
    _check(res, ref, COMMON + (MH_OR if measure == "OR" else []))
    if measure == "OR":
        assert res.k_pos == ref["k_pos"]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", SETS)
def test_rma_peto_matches_metafor(name, variant):
    ref = REF[name][f"peto_{variant}"]
    ai, bi, ci, di, slab = _tables(name)
    kwargs = {k: v for k, v in VARIANTS[variant].items() if k != "correct"}
    res = rma_peto(ai, bi, ci, di, slab=slab, **kwargs)
    _check(res, ref, COMMON)


def test_bcg_key_numbers_by_hand():
    # metafor: rma.mh(measure="OR") on dat.bcg prints OR 0.6229, Tarone's test 171.76 (12 df)
    ai, bi, ci, di, slab = _tables("bcg")
    res = rma_mh(ai, bi, ci, di, measure="OR", slab=slab)
    assert math.exp(res.b) == pytest.approx(0.62287402, rel=1e-7)
    assert res.ta == pytest.approx(171.7567, rel=1e-6)
    a, b, c, d = (np.asarray(x, float) for x in (ai, bi, ci, di))
    n = a + b + c + d
    assert res.b == pytest.approx(math.log((a * d / n).sum() / (b * c / n).sum()), rel=1e-12)


@pytest.mark.parametrize("fn", [rma_mh, rma_peto])
def test_bad_tables_are_refused_by_name(fn):
    with pytest.raises(MetaAnalysisError, match=r"study 'B'.*negative"):
        fn([1, -2], [3, 4], [5, 6], [7, 8], slab=["A", "B"])
    with pytest.raises(MetaAnalysisError, match=r"study 2 .*not a finite number"):
        fn([1, float("nan")], [3, 4], [5, 6], [7, 8])
    with pytest.raises(MetaAnalysisError, match=r"study 'A'.*no participants"):
        fn([0, 1], [0, 4], [5, 6], [7, 8], slab=["A", "B"])
    with pytest.raises(MetaAnalysisError, match="same number of studies"):
        fn([1, 2], [3, 4], [5], [7, 8])


def test_mh_options_are_checked():
    with pytest.raises(MetaAnalysisError, match="measure"):
        rma_mh([1], [2], [3], [4], measure="SMD")
    with pytest.raises(MetaAnalysisError, match="'to'"):
        rma_mh([1], [2], [3], [4], to="some")
    with pytest.raises(MetaAnalysisError, match=r"level"):
        rma_mh([1], [2], [3], [4], level=100)


def test_mh_without_events_is_an_error_not_nan():
    with pytest.raises(MetaAnalysisError, match="no events in group 1"):
        rma_mh([0, 0], [10, 12], [1, 2], [9, 10], measure="RR")
    with pytest.raises(MetaAnalysisError, match="cannot be estimated"):
        rma_mh([0, 0], [10, 12], [1, 2], [9, 10], measure="OR", to="none")
    with pytest.raises(MetaAnalysisError, match="Peto's method cannot be used"):
        rma_peto([0, 0], [10, 12], [0, 0], [9, 10], drop00=(False, False))


def test_excluded_studies_are_named():
    ai, bi, ci, di, slab = _tables("nielweise2007")
    with pytest.warns(UserWarning, match="Yucel 2004"):
        res = rma_mh(ai, bi, ci, di, measure="OR", slab=slab)
    assert res.excluded == ("Yucel 2004",)
    assert res.as_dict()["k_yi"] == 17
