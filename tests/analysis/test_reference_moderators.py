"""Meta-regression (rma with mods) and subgroup analyses against metafor 3.8-1."""

from __future__ import annotations

import pytest

from analysis.engine import rma, subgroup
from tests.analysis import reference as ref
from tests.analysis.test_reference_rma import check_fit


def _metareg_params():
    for case in ref.CASES:
        for moderator, entries in (ref.result(case)["metareg"] or {}).items():
            for name in entries:
                if name in ("moderator", "n_missing"):
                    continue
                yield pytest.param(case, moderator, name, id=f"{case}-{moderator}-{name}")


@pytest.mark.parametrize(("case", "moderator", "name"), list(_metareg_params()))
def test_metareg_matches_metafor(case, moderator, name):
    expected = ref.result(case)["metareg"][moderator][name]
    yi, vi = ref.yi_vi(case)
    control = ref.TIGHT if name.endswith("tight") else None
    fit = rma(yi, vi, mods=ref.column(case, moderator), method=expected["method"],
              test=expected["test"], control=control)
    method = expected["method"]
    rtol = ref.rtol_for(method, "tight" if name.endswith("tight") else "default")
    assert fit.qm_df[0] == expected["QMdf"][0]
    check_fit(fit, expected, rtol, f"{case} {moderator} {name}")


def _subgroup_params():
    for case in ref.CASES:
        for moderator in ref.result(case)["subgroups"] or {}:
            for method in ("REML", "DL", "FE"):
                yield pytest.param(case, moderator, method, id=f"{case}-{moderator}-{method}")


@pytest.mark.parametrize(("case", "moderator", "method"), list(_subgroup_params()))
def test_subgroups_match_metafor(case, moderator, method):
    entry = ref.result(case)["subgroups"][moderator]
    expected = entry[method]
    yi, vi = ref.yi_vi(case)
    groups = ref.data(case)[moderator]
    out = subgroup(rma(yi, vi, method=method), groups)
    assert list(out.levels) == entry["levels"]
    assert list(out.n_per_level) == entry["n_per_level"]
    rtol = ref.rtol_for(method, "default")
    label = f"{case} {moderator} {method}"
    with_int = expected["with_intercept" if method == "FE" else "mixed_with_intercept"]
    no_int = expected["no_intercept" if method == "FE" else "mixed_no_intercept"]
    check_fit(out.mixed, with_int, rtol, f"{label} mixed with intercept")
    check_fit(out.mixed_no_intercept, no_int, rtol, f"{label} mixed without intercept")
    if method == "FE":
        return
    for level, fit_expected in expected["separate"].items():
        check_fit(out.separate[level], fit_expected, rtol, f"{label} separate {level}")
    q = expected["separate_Q_between"]
    ref.close(out.q_between, q["Q"], rtol, f"{label} Q between")
    assert out.df_between == q["df"]
    ref.close(out.pval_between, q["pval"], rtol, f"{label} Q between p")
