"""confint(): Q-profile (and profile-likelihood) intervals for tau^2, tau, I^2, H^2."""

from __future__ import annotations

import pytest

from analysis.engine import confint, rma
from tests.analysis import reference as ref


def _entries():
    for case in ref.CASES:
        for method, types in ref.result(case)["confint"].items():
            for variant in types:
                yield pytest.param(case, method, variant, id=f"{case}-{method}-{variant}")


@pytest.mark.parametrize(("case", "method", "variant"), list(_entries()))
def test_confint_matches_metafor(case, method, variant):
    expected = ref.result(case)["confint"][method][variant]
    yi, vi = ref.yi_vi(case)
    tight = variant.endswith("tight")
    ctype = variant.split("_")[0]
    # QP_tight keeps the default fit and tightens uniroot; PL_tight uses the tight fit too
    fit_control = ref.TIGHT if (tight and ctype == "PL") else None
    test = "knha" if variant.endswith("knha") else "z"
    fit = rma(yi, vi, method=method, test=test, control=fit_control)
    ci = confint(fit, type=ctype, control={"tol": 1e-12, "maxiter": 10000} if tight else None)
    # the bounds come from uniroot; default-tolerance bounds are replicated step by step
    rtol = ref.RTOL_TIGHT if tight else ref.RTOL_DEFAULT
    for key, attr in (("tau2", "tau2"), ("tau", "tau"), ("I2", "i2"), ("H2", "h2")):
        ref.close(getattr(ci, attr), expected[key], rtol, f"{case} {method} {variant} {key}")
    assert ci.ci_null == expected["ci.null"]
    assert ci.lb_sign == expected["lb.sign"]
    assert ci.ub_sign == expected["ub.sign"]
