"""Jackson's generalised Q interval for tau² (metafor's confint() of a GENQ fit; meta's
method.tau.ci = "J", its default with DerSimonian-Laird).

References: Jackson, Turner, Rhodes & Viechtbauer (2014), examples 1 and 2, as metafor's own
test suite checks them (tests/testthat/test_analysis_example_jackson2014.r: four decimals).
R's meta is not installed here (it is not in Debian), so meta's DL output is checked through
its definition: metafor's GENQ interval with weights 1/seTE.
"""

import math

import numpy as np
import pytest
from scipy import stats

from analysis.engine import MetaAnalysisError, rma
from analysis.engine import meta_style as ms
from analysis.engine.intervals import confint, genq_upper_tail

EX1 = {
    "yi": [0.0267, 0.8242, 0.3930, 2.4405, 2.1401, 1.2528, 2.4849, 0.3087, 1.4246, 0.1823,
           1.1378, 1.2321, 2.0695, 4.0237, 1.4383, 1.6021],
    "vi": [0.1285, 0.0315, 0.0931, 2.0967, 1.0539, 0.1602, 1.0235, 0.0218, 0.5277, 0.0556,
           0.3304, 0.1721, 0.4901, 2.0200, 0.3399, 0.1830],
    "xi": [0] * 10 + [1] * 6,
    "iv": (0.0029, 0.6907), "ise": (0.0000, 1.1245),
}  # fmt: skip
EX2 = {
    "yi": [0.54, 0.4, 0.64, 0.365, 0.835, 0.02, 0.12, 0.085, 1.18, 0.08, 0.18, 0.325, 0.06,
           0.715, 0.065, 0.245, 0.24, 0.06, 0.19],
    "vi": [0.0176, 0.019, 0.0906, 0.0861, 0.0063, 0.0126, 0.0126, 0.0041, 0.0759, 0.0126,
           0.0104, 0.0242, 0.0026, 0.2629, 0.0169, 0.0156, 0.0481, 0.0084, 0.0044],
    "xi": [1986, 1987, 1988, 1988, 1998, 1999, 2000, 2000, 2000, 2001, 2001, 2001, 2002, 2002,
           2002, 2002, 2003, 2003, 2003],
    "iv": (0.0170, 0.1393), "ise": (0.0180, 0.1375),
}  # fmt: skip


@pytest.mark.parametrize("ex", [EX1, EX2], ids=["example1", "example2"])
@pytest.mark.parametrize("weights", ["iv", "ise"])
def test_jackson_2014_examples(ex, weights):
    yi, vi = np.array(ex["yi"]), np.array(ex["vi"])
    res = rma(yi, vi, mods=np.array(ex["xi"], dtype=float))
    w = 1 / vi if weights == "iv" else 1 / np.sqrt(vi)
    _, lb, ub = confint(res, type="GENQ", weights=w).tau2
    assert (round(lb, 4), round(ub, 4)) == ex[weights]


def test_the_tail_is_exact_where_the_distribution_is_known():
    # equal weights: Q/lambda is chi-square with m degrees of freedom
    for m, lam, q in ((1, 1.0, 0.7), (3, 2.5, 4.0), (12, 0.3, 2.9), (30, 1.0, 45.0)):
        expected = stats.chi2.sf(q / lam, m)
        assert genq_upper_tail(q, [lam] * m) == pytest.approx(expected, rel=1e-8, abs=1e-12)
    # unequal: against a sum of a chi-square(2) (exponential) and its own closed form
    q = 3.0
    lam = [2.0, 2.0, 0.5, 0.5]  # 2 chi2_2 + 0.5 chi2_2: hypoexponential with rates 1/4, 1
    r1, r2 = 1 / 4, 1.0
    expected = (r2 * math.exp(-r1 * q) - r1 * math.exp(-r2 * q)) / (r2 - r1)
    assert genq_upper_tail(q, lam) == pytest.approx(expected, rel=1e-8)


def test_meta_s_dl_interval_is_jackson_s_with_inverse_se_weights():
    yi, vi = np.array(EX2["yi"]), np.array(EX2["vi"])
    se = np.sqrt(vi)
    m = ms.metagen(yi, se, method_tau="DL")
    assert m.settings.method_tau_ci == "J"
    _, lb, ub = confint(rma(yi, vi, method="DL"), type="GENQ", weights=1 / se).tau2
    assert (m.lower_tau2, m.upper_tau2) == pytest.approx((lb, ub), rel=1e-12)
    # REML keeps the Q-profile interval; asked for, DL can have it too
    assert ms.metagen(yi, se).settings.method_tau_ci == "QP"
    qp = ms.metagen(yi, se, method_tau="DL", method_tau_ci="QP")
    _, qlb, qub = confint(rma(yi, vi, method="DL")).tau2
    assert (qp.lower_tau2, qp.upper_tau2) == pytest.approx((qlb, qub), rel=1e-12)
    # update() to DL takes DL's default interval, as a new call would
    assert ms.update(ms.metagen(yi, se), method_tau="DL").settings.method_tau_ci == "J"


def test_genq_needs_its_weights():
    res = rma(np.array(EX2["yi"]), np.array(EX2["vi"]))
    with pytest.raises(MetaAnalysisError, match="weights"):
        confint(res, type="GENQ")
    with pytest.raises(MetaAnalysisError, match="positive"):
        confint(res, type="GENQ", weights=np.zeros(19))
