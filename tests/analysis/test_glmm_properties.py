"""Properties of rma_glmm and the proportion transforms on random counts (hypothesis): a finite
result or a MetaAnalysisError, never a traceback or a silent NaN."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.engine import MetaAnalysisError, rma_glmm
from analysis.engine.proportions import transf_ipft, transf_pft


@st.composite
def counts(draw):
    k = draw(st.integers(min_value=2, max_value=8))
    ni = draw(st.lists(st.integers(min_value=1, max_value=200), min_size=k, max_size=k))
    xi = [draw(st.integers(min_value=0, max_value=n)) for n in ni]
    return xi, ni


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts())
def test_rma_glmm_finite_or_clear_error(data):
    xi, ni = data
    try:
        res = rma_glmm(xi=xi, ni=ni)
    except MetaAnalysisError as exc:
        assert "events" in str(exc)
        assert all(x in (0, n) for x, n in zip(xi, ni, strict=True))
        return
    for value in (res.b, res.se, res.tau2, res.ci_lb, res.ci_ub, res.pval, res.qe_lrt):
        assert math.isfinite(value)
    assert res.tau2 >= 0 and res.se > 0 and res.ci_lb < res.b < res.ci_ub
    # Permutation invariance, where the likelihood is informative. With tau2 in the hundreds
    # (e.g. one study with all events and the rest with none) the deviance is so flat that
    # the optimum is only defined to ~1e-5 in b (and ~10% in se), in lme4 as here.
    if res.tau2 < 50:
        perm = rma_glmm(xi=xi[::-1], ni=ni[::-1])
        assert abs(perm.b - res.b) <= 1e-6 * (1 + abs(res.b))


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=10_000), st.data())
def test_ipft_inverts_pft_at_the_study_n(n, data):
    x = data.draw(st.integers(min_value=0, max_value=n))
    back = transf_ipft(transf_pft(x / n, n), n)
    assert 0.0 <= back <= 1.0
    assert abs(back - x / n) <= 1e-9
