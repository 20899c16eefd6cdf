"""rma() and predict() against every fitted model in the metafor 3.8-1 reference files.

Each case x method x test (x default/tight convergence) is its own test, so a failure names
the case; every number stored for the fit is compared (coefficients, tests, CIs, tau^2 and its
SE, I^2, H^2, Q, weights, fit statistics, predict() with and without transf / pi.type).
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.engine import predict, rma
from tests.analysis import reference as ref

FIT_KEYS = {
    "b": "b", "se": "se", "zval": "zval", "pval": "pval", "ci.lb": "ci_lb", "ci.ub": "ci_ub",
    "tau2": "tau2", "se.tau2": "se_tau2", "tau": "tau", "I2": "i2", "H2": "h2", "QE": "qe",
    "QEp": "qep", "QM": "qm", "QMp": "qmp", "s2w": "s2w", "vt": "vt", "k": "k",
    "weights_percent": "weights", "R2": "r2", "vb": "vb",
}
PRED_KEYS = {"pred": "pred", "se": "se", "ci.lb": "ci_lb", "ci.ub": "ci_ub",
             "pi.lb": "pi_lb", "pi.ub": "pi_ub"}
TRANSF = {"bcg_RR": "exp", "molloy2014_ZCOR": "tanh"}


def _entries():
    for case in ref.CASES:
        res = ref.result(case)
        for name in ("FE", "EE"):
            yield pytest.param(case, name, "z", id=f"{case}-{name}")
        for method, variants in res["random"].items():
            for variant in variants:
                yield pytest.param(case, method, variant, id=f"{case}-{method}-{variant}")


def _expected(case, method, variant):
    res = ref.result(case)
    if method in ("FE", "EE"):
        return res["common"][method]
    return res["random"][method][variant]


def check_fit(fit, expected: dict, rtol: float, label: str) -> None:
    for key, attr in FIT_KEYS.items():
        if key not in expected:
            continue
        actual = getattr(fit, attr)
        if key == "vb":
            actual = np.asarray(actual)
            exp = np.asarray(expected[key], dtype=float).reshape(actual.shape)
            ref.close(actual, exp, rtol, f"{label}: vb")
            continue
        ref.close(actual, expected[key], rtol, f"{label}: {key}")
    if "QE.df" in expected:
        assert fit.qe_df == expected["QE.df"]
    if "ddf" in expected:
        assert fit.ddf == expected["ddf"]
    if "fitstats" in expected:
        names = expected["fitstats"]["names"]
        for kind in ("ML", "REML"):
            mine = [fit.fitstats[kind][n] for n in names]
            ref.close(mine, expected["fitstats"][kind], rtol, f"{label}: fitstats {kind}")


@pytest.mark.parametrize(("case", "method", "variant"), list(_entries()))
def test_rma_matches_metafor(case, method, variant):
    expected = _expected(case, method, variant)
    yi, vi = ref.yi_vi(case)
    control = ref.TIGHT if variant.endswith("tight") else None
    fit = rma(yi, vi, method=expected["method"], test=expected["test"], control=control)
    rtol = ref.rtol_for(method, variant)
    label = f"{case} {method} {variant}"
    check_fit(fit, expected, rtol, label)
    for pkey, kwargs in (("predict", {}), ("predict_riley", {"pi_type": "riley"}),
                         ("predict_transf", {"transf": TRANSF.get(case)})):
        if expected.get(pkey) is None:
            continue
        pred = predict(fit, **kwargs)
        for key, attr in PRED_KEYS.items():
            ref.close(getattr(pred, attr), expected[pkey][key], rtol, f"{label}: {pkey} {key}")


@pytest.mark.parametrize(
    ("case", "method", "variant"),
    [p for p in _entries() if p.values[1] in ref.ITERATIVE and not p.values[2].endswith("tight")],
)
def test_default_convergence_follows_metafor_path(case, method, variant):
    """Beyond the 1e-4 agreed tolerance: metafor's Fisher scoring / uniroot iterations are
    replicated step by step, so even default-convergence results agree to ~1e-10."""
    expected = _expected(case, method, variant)
    yi, vi = ref.yi_vi(case)
    fit = rma(yi, vi, method=method, test=expected["test"])
    for key in ("tau2", "b", "se", "pval", "ci.lb", "ci.ub"):
        ref.close(getattr(fit, FIT_KEYS[key]), expected[key], 1e-9, f"{case} {method}: {key}")
