"""regtest(), ranktest() and trimfill() against metafor 3.8-1."""

from __future__ import annotations

import warnings

import pytest

from analysis.engine import ranktest, regtest, rma, trimfill
from tests.analysis import reference as ref


def _fit(case, method):
    yi, vi = ref.yi_vi(case)
    return rma(yi, vi, method=method)


def _params(section):
    for case in ref.CASES:
        for name in ref.result(case)[section]:
            yield pytest.param(case, name, id=f"{case}-{name}")


@pytest.mark.parametrize(("case", "name"), list(_params("regtest")))
def test_regtest_matches_metafor(case, name):
    expected = ref.result(case)["regtest"][name]
    method = "FE" if name.startswith("classic") else name.split("_")[0]
    res = regtest(_fit(case, method), model=expected["model"], predictor=expected["predictor"])
    rtol = ref.rtol_for(method, "default")
    label = f"{case} {name}"
    ref.close(res.zval, expected["zval"], rtol, f"{label} zval")
    ref.close(res.pval, expected["pval"], rtol, f"{label} pval")
    assert res.dfs == expected["dfs"]
    ref.close(res.est, expected["limit_est"], rtol, f"{label} limit estimate")
    ref.close(res.ci_lb, expected["limit_ci.lb"], rtol, f"{label} limit ci.lb")
    ref.close(res.ci_ub, expected["limit_ci.ub"], rtol, f"{label} limit ci.ub")
    ref.close(res.coef, expected["fit_coef"], rtol, f"{label} coefficients")
    ref.close(res.se, expected["fit_se"], rtol, f"{label} standard errors")
    if expected["fit_tau2"] is not None:
        ref.close(res.fit.tau2, expected["fit_tau2"], rtol, f"{label} tau2")


@pytest.mark.parametrize("case", ref.CASES)
@pytest.mark.parametrize("exact", [True, False])
def test_ranktest_matches_metafor(case, exact):
    expected = ref.result(case)["ranktest"]["default" if exact else "exact_false"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = ranktest(_fit(case, "REML"), exact=exact)
    ref.close(res.tau, expected["tau"], ref.RTOL_CLOSED, f"{case} tau")
    ref.close(res.pval, expected["pval"], ref.RTOL_CLOSED, f"{case} pval")
    if exact and "warnings" in expected:
        assert [str(w.message) for w in caught] == [expected["warnings"]]
        assert res.exact is False


@pytest.mark.parametrize(("case", "name"), list(_params("trimfill")))
def test_trimfill_matches_metafor(case, name):
    expected = ref.result(case)["trimfill"][name]
    method = name.split("_")[0]
    res = trimfill(_fit(case, method), estimator=expected["estimator"])
    rtol = ref.rtol_for(method, "default")
    label = f"{case} {name}"
    assert res.side == expected["side"], label
    assert res.k0 == expected["k0"], label
    assert res.fit.k == expected["k_total"], label
    ref.close(res.se_k0, expected["se.k0"], ref.RTOL_CLOSED, f"{label} se.k0")
    ref.close(res.p_k0, expected["p.k0"], ref.RTOL_CLOSED, f"{label} p.k0")
    for key, attr in (("b", "b"), ("se", "se"), ("zval", "zval"), ("pval", "pval"),
                      ("ci.lb", "ci_lb"), ("ci.ub", "ci_ub"), ("tau2", "tau2"), ("I2", "i2"),
                      ("QE", "qe"), ("QEp", "qep")):
        ref.close(getattr(res.fit, attr), expected[key], rtol, f"{label} {key}")
    ref.close(res.filled_yi, expected["filled_yi"], rtol, f"{label} filled yi")
    ref.close(res.filled_vi, expected["filled_vi"], rtol, f"{label} filled vi")
