"""Harbord's and Peters' tests (meta's metabias) and metafor's regtest with a sample-size
predictor.

* meta 8.4-0's ``metabias()`` on the meta_pkg binary cases (tests/data/meta_pkg): Harbord's
  test for bcg OR (MH and Peto), Egger's for bcg RR and RD, no test for Fleiss1993bin (k = 7
  < k.min = 10).
* meta's Harbord (OR and RR scores) and Peters tests on data with zero cells, computed as
  meta's ``linregcore()`` does with metafor (tests/data/metafor/extra/metabias_meta.R).
* metafor's ``regtest(model="lm", predictor="ninv")`` (and "ni", "sqrtninv") on log ORs
  (tests/data/metafor/extra/binary_mh.json).
Closed form: 1e-8 relative.
"""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from analysis.engine import MetaAnalysisError, escalc, rma
from analysis.engine.bias import harbord_test, metabias_metabin, peters_test, regtest_ni
from analysis.engine.binary import metabin_common

DATA = Path(__file__).resolve().parent.parent / "data"
RTOL = 1e-8
EXTRA = DATA / "metafor" / "extra"
META_FORMULA = json.loads((EXTRA / "metabias_meta.json").read_text())
MH = json.loads((EXTRA / "binary_mh.json").read_text())
CASES = ("bcg_metabin_RR", "bcg_metabin_OR", "bcg_metabin_RD", "bcg_metabin_OR_Peto",
         "fleiss1993bin_metabin_RR", "fleiss1993bin_metabin_OR")
SETS = ("bcg", "nielweise2007", "yusuf1985_9")


def _meta_case(case):
    result = json.loads((DATA / "meta_pkg" / "results" / f"{case}.json").read_text())
    with (DATA / "meta_pkg" / "data" / f"{case}.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    args = result["args"]
    counts = [np.array([row[args[c]] for row in rows], dtype=float)
              for c in ("event.e", "n.e", "event.c", "n.c")]
    settings = result["meta"]["settings"]
    m = metabin_common(*counts, sm=settings["sm"], method=settings["method"],
                       studlab=[row["studlab"] for row in rows])
    return result, m


def _check(res, expected):
    assert not res.skipped
    assert res.df == expected["df"]
    for key in ("statistic", "pval", "intercept", "tau"):
        assert getattr(res, key) == pytest.approx(expected[key], rel=RTOL), key
    assert res.bias == pytest.approx(expected["bias"], rel=RTOL)
    assert res.se_bias == pytest.approx(expected["se_bias"], rel=RTOL)
    assert res.se_intercept == pytest.approx(expected["se_intercept"], rel=RTOL)


@pytest.mark.parametrize("case", CASES)
def test_metabias_as_meta_on_meta_pkg_cases(case):
    result, m = _meta_case(case)
    expected = result["metabias"]
    res = metabias_metabin(m)
    if expected.get("skipped"):
        assert res.skipped and res.k == expected["k"] and res.k_min == expected["k.min"]
        assert "k = 7" in res.reason and "k.min = 10" in res.reason
        assert res.as_dict()["skipped"] is True
        return
    assert res.method_bias == expected["method.bias"]
    _check(res, {
        "df": expected["df"], "statistic": expected["statistic"], "pval": expected["pval"],
        "intercept": expected["intercept"], "tau": expected["tau"],
        "bias": expected["estimate"][0], "se_bias": expected["estimate"][1],
        "se_intercept": expected["se.intercept"],
    })
    out = res.as_dict()
    assert out["estimate"] == [res.bias, res.se_bias]


def _counts(name):
    d = META_FORMULA[name]["data"]
    return [np.array(d[c], dtype=float) for c in ("ee", "ne", "ec", "nc")]


@pytest.mark.parametrize("name", SETS)
def test_harbord_and_peters_as_meta_with_zero_cells(name):
    ref = META_FORMULA[name]
    ee, ne, ec, nc = _counts(name)
    _check(harbord_test(ee, ne, ec, nc, k_min=3), ref["harbord_OR"])
    _check(harbord_test(ee, ne, ec, nc, sm="RR", k_min=3), ref["harbord_RR"])
    _check(peters_test(ref["TE"], ee, ne, ec, nc, k_min=3), ref["peters"])


@pytest.mark.parametrize("name", SETS[1:])
def test_metabias_metabin_selects_the_pooled_studies(name):
    # metabin_common's OR drops the double-zero studies, as meta does before metabias
    d = MH[name]["data"]
    a, b, c, dd = (np.array(d[x], dtype=float) for x in ("ai", "bi", "ci", "di"))
    m = metabin_common(a, a + b, c, c + dd, sm="OR", studlab=d["study"])
    ref = META_FORMULA[name]
    _check(metabias_metabin(m), ref["harbord_OR"])
    _check(metabias_metabin(m, method_bias="Peters"), ref["peters"])
    np.testing.assert_allclose(m.te[m.included], ref["TE"], rtol=RTOL)


@pytest.mark.parametrize("predictor", ["ninv", "ni", "sqrtninv"])
@pytest.mark.parametrize("name", SETS)
def test_regtest_sample_size_predictors_as_metafor(name, predictor):
    d = MH[name]["data"]
    es = escalc("OR", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"])
    ni = np.array(d["ai"]) + np.array(d["bi"]) + np.array(d["ci"]) + np.array(d["di"])
    res = regtest_ni(rma(es.yi, es.vi, method="EE"), ni, predictor=predictor)
    ref = MH[name][f"regtest_{predictor}"]
    assert res.dfs == ref["dfs"]
    for key in ("zval", "pval", "est", "ci_lb", "ci_ub"):
        if ref[key] == []:  # metafor: no limit estimate with predictor "ni"
            assert getattr(res, key) is None, key
            continue
        assert getattr(res, key) == pytest.approx(ref[key], rel=RTOL), key
    np.testing.assert_allclose(res.coef, ref["coef"], rtol=RTOL)
    np.testing.assert_allclose(res.se, ref["se"], rtol=RTOL)


def test_too_few_studies_is_a_result_not_an_error():
    res = harbord_test([1, 2, 3], [10, 10, 10], [2, 3, 4], [10, 10, 10])
    assert res.skipped and res.k == 3 and res.k_min == 10
    assert res.statistic is None and res.pval is None
    assert "no test" in res.reason
    assert harbord_test([1, 2], [10, 10], [2, 3], [10, 10], k_min=1).skipped  # k < 3


def test_bad_input_is_refused_by_name():
    with pytest.raises(MetaAnalysisError, match=r"exceed.*study 'B'"):
        harbord_test([1, 12], [10, 10], [2, 3], [10, 10], studlab=["A", "B"])
    with pytest.raises(MetaAnalysisError, match=r"study 3.*no events"):
        harbord_test([1, 2, 0, 4], [10, 10, 10, 10], [2, 3, 0, 1], [10, 10, 10, 10], k_min=3)
    with pytest.raises(MetaAnalysisError, match="same number of studies"):
        peters_test([0.1, 0.2], [1, 2, 3], [10, 10, 10], [2, 3, 4], [10, 10, 10])
    with pytest.raises(MetaAnalysisError, match="predictor"):
        regtest_ni(rma([0.1, 0.2, 0.3], [0.1, 0.2, 0.3]), [10, 20, 30], predictor="sei")
    with pytest.raises(MetaAnalysisError, match=r"study 2.*positive"):
        regtest_ni(rma([0.1, 0.2, 0.3], [0.1, 0.2, 0.3]), [10, 0, 30])


def test_peto_metabias_keeps_single_zero_studies_for_harbord():
    # meta refits a Peto analysis by inverse variance with incr = 0: a study with one zero cell
    # has TE = -Inf there but is not NA, so Harbord's test (counts only) keeps it.
    d = MH["nielweise2007"]["data"]
    a, b, c, dd = (np.array(d[x], dtype=float) for x in ("ai", "bi", "ci", "di"))
    peto = metabin_common(a, a + b, c, c + dd, sm="OR", method="Peto", studlab=d["study"])
    res = metabias_metabin(peto, k_min=3)
    assert res.k == 17  # 18 studies less the double-zero one
    keep = ~((a == 0) & (c == 0))
    expected = harbord_test(a[keep], (a + b)[keep], c[keep], (c + dd)[keep], k_min=3)
    assert res.statistic == pytest.approx(expected.statistic, rel=1e-12)
    with pytest.raises(MetaAnalysisError, match=r"Bach 1996.*infinite"):
        metabias_metabin(peto, method_bias="Peters", k_min=3)
