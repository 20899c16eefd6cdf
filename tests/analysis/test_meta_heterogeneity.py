"""meta's heterogeneity statistics (I² and H from Q, Higgins-Thompson CIs, Rb, Kenward-Roger
SE), prediction-interval methods and Hartung-Knapp variants, by hand and against metafor."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis.engine import MetaAnalysisError, predict, rma
from analysis.engine.heterogeneity import hetstat_q, kenward_roger_se, rb
from analysis.engine.intervals import hartung_knapp_se, prediction_interval, random_ci
from tests.analysis.reference import yi_vi

Z = stats.norm.ppf(0.975)


def test_i2_h_from_q_by_hand_q_above_k():
    Q, k = 38.159515423615744, 16  # molloy2014 (meta prints I² 60.69% [32.13; 77.23])
    h = hetstat_q(Q, k)
    df = k - 1
    assert pytest.approx((Q - df) / Q, rel=1e-14) == h.I2
    assert pytest.approx(math.sqrt(Q / df), rel=1e-14) == h.H
    se = 0.5 * (math.log(Q) - math.log(df)) / (math.sqrt(2 * Q) - math.sqrt(2 * k - 3))
    lo, hi = math.exp(math.log(h.H) - Z * se), math.exp(math.log(h.H) + Z * se)
    assert h.lower_H == pytest.approx(lo, rel=1e-14)
    assert h.upper_H == pytest.approx(hi, rel=1e-14)
    assert h.lower_I2 == pytest.approx((lo**2 - 1) / lo**2, rel=1e-14)
    assert h.upper_I2 == pytest.approx(0.7723315942500777, rel=1e-12)
    assert h.pval_Q == pytest.approx(stats.chi2.sf(Q, df), rel=1e-12)


def test_i2_h_from_q_by_hand_q_below_k():
    h = hetstat_q(5.0, 10)
    assert h.I2 == 0.0
    assert h.H == 1.0  # meta: max(1, sqrt(Q/df)); the CI is centred on log(1)
    se = math.sqrt(1 / (2 * 8) * (1 - 1 / (3 * 8**2)))
    assert h.lower_H == 1.0  # max(1, ...)
    assert h.upper_H == pytest.approx(math.exp(Z * se), rel=1e-14)
    assert h.lower_I2 == 0.0


def test_hetstat_edge_cases_and_errors():
    one = hetstat_q(0.0, 1)
    assert one.I2 is None and one.H is None and one.pval_Q is None
    two = hetstat_q(1.0, 2)  # Q <= k with k = 2: no CI (NA in meta)
    assert two.I2 == 0.0 and two.lower_H is None
    assert hetstat_q(10.0, 2).lower_H is not None  # Q > k: first formula, sqrt(2k-3) = 1
    with pytest.raises(MetaAnalysisError, match="Q must be"):
        hetstat_q(float("nan"), 5)
    with pytest.raises(MetaAnalysisError, match="Q must be"):
        hetstat_q(-1.0, 5)
    with pytest.raises(MetaAnalysisError, match="level"):
        hetstat_q(3.0, 5, level=0)


def test_rb_and_kenward_roger_by_hand():
    v = np.array([0.1, 0.2, 0.05, 0.3])
    t2 = 0.04
    assert rb(t2, v) == pytest.approx(np.mean(t2 / (t2 + v)), rel=1e-15)
    w = 1 / (v + t2)
    s1, s2, s3 = w.sum(), (w**2).sum(), (w**3).sum()
    info = 0.5 * (s2 - 2 * s3 / s1 + s2**2 / s1**2)
    var = 1 / s1 + 2 / s1**2 * (s3 - s2**2 / s1) / info
    assert kenward_roger_se(v, t2) == pytest.approx(math.sqrt(var), rel=1e-14)
    assert kenward_roger_se(v, t2) >= math.sqrt(1 / s1)
    with pytest.raises(MetaAnalysisError, match="tau2"):
        rb(-1.0, v)


@pytest.fixture(scope="module")
def bcg():
    y, v = yi_vi("bcg_RR")
    return y, v, rma(y, v)


def test_prediction_interval_z_and_hts_are_metafor(bcg):
    res = bcg[2]
    z = prediction_interval(res.b, res.se, res.tau2, res.k, method="z", level=95)
    p = predict(res)
    assert (z.lower, z.upper) == (pytest.approx(p.pi_lb, rel=1e-13),
                                  pytest.approx(p.pi_ub, rel=1e-13))
    assert z.df is None
    hts = prediction_interval(res.b, res.se, res.tau2, res.k, method="HTS")
    r = predict(res, pi_type="riley")
    assert (hts.lower, hts.upper) == (pytest.approx(r.pi_lb, rel=1e-13),
                                      pytest.approx(r.pi_ub, rel=1e-13))
    assert hts.df == res.k - 2


def test_prediction_interval_v_and_hk_by_hand(bcg):
    y, v, res = bcg
    k = res.k
    se_pred = math.sqrt(res.se**2 + res.tau2)
    t = stats.t.ppf(0.975, k - 1)
    pv = prediction_interval(res.b, res.se, res.tau2, k)  # meta's default "V"
    assert pv.method == "V" and pv.df == k - 1
    assert pv.lower == pytest.approx(res.b - t * se_pred, rel=1e-13)
    assert pv.se == pytest.approx(se_pred, rel=1e-15)
    se_hk = hartung_knapp_se(y, v, res.tau2, res.b)
    hk = prediction_interval(res.b, res.se, res.tau2, k, method="HK", se_hakn=se_hk)
    assert hk.upper == pytest.approx(res.b + t * math.sqrt(se_hk**2 + res.tau2), rel=1e-13)


def test_prediction_interval_too_few_studies_and_errors():
    few = prediction_interval(0.1, 0.2, 0.05, 2, method="HTS")
    assert few.lower is None and few.upper is None and "k > 2" in few.note
    with pytest.raises(MetaAnalysisError, match="Unknown prediction interval method"):
        prediction_interval(0.1, 0.2, 0.05, 5, method="Q")
    with pytest.raises(MetaAnalysisError, match="se_hakn"):
        prediction_interval(0.1, 0.2, 0.05, 5, method="HK")
    with pytest.raises(MetaAnalysisError, match="finite"):
        prediction_interval(float("nan"), 0.2, 0.05, 5)


def test_hartung_knapp_is_metafor_knha(bcg):
    y, v, res = bcg
    knha = rma(y, v, test="knha")
    ci = random_ci(res.b, res.se, y, v, res.tau2, method="HK")
    assert ci.se == pytest.approx(knha.se, rel=1e-12)
    assert (ci.lower, ci.upper) == (pytest.approx(knha.ci_lb, rel=1e-12),
                                    pytest.approx(knha.ci_ub, rel=1e-12))
    assert ci.pval == pytest.approx(knha.pval, rel=1e-10)
    assert ci.df == res.k - 1


def test_adhoc_hakn_se_and_ci_when_hk_is_narrower():
    # homogeneous effects: s2w < 1, so the untruncated HK SE is below the classic one
    y = np.array([0.10, 0.12, 0.11, 0.09, 0.105])
    v = np.array([0.02, 0.03, 0.025, 0.02, 0.04])
    res = rma(y, v)
    hk = random_ci(res.b, res.se, y, v, res.tau2, method="HK")
    assert hk.se_hakn < res.se
    se_fix = random_ci(res.b, res.se, y, v, res.tau2, method="HK", adhoc="se")
    assert se_fix.se == res.se and se_fix.df == 4  # max(HK, classic) with t(k-1)
    t = stats.t.ppf(0.975, 4)
    assert se_fix.upper == pytest.approx(res.b + t * res.se, rel=1e-13)
    wider = random_ci(res.b, res.se, y, v, res.tau2, method="HK", adhoc="ci")
    hk_width = 2 * t * hk.se_hakn
    classic_width = 2 * Z * res.se
    assert wider.upper - wider.lower == pytest.approx(max(hk_width, classic_width), rel=1e-12)
    # IQWiG6: the "se" correction when the HK CI is narrower than the DerSimonian-Laird CI
    dl = rma(y, v, method="DL")
    assert t * hk.se_hakn < Z * dl.se
    iq = random_ci(res.b, res.se, y, v, res.tau2, method="HK", adhoc="IQWiG6")
    assert iq.se == se_fix.se and iq.df == 4
    with pytest.raises(MetaAnalysisError, match="adhoc_hakn_ci"):
        random_ci(res.b, res.se, y, v, res.tau2, method="HK", adhoc="IQWiG5")
    with pytest.raises(MetaAnalysisError, match="method_random_ci"):
        random_ci(res.b, res.se, y, v, res.tau2, method="KR")


def test_rb_ci_by_hand():
    from analysis.engine.heterogeneity import rb_ci

    v = np.array([0.1, 0.2, 0.05, 0.3, 0.15])
    t2, Q = 0.04, 9.0
    k = 5
    w = 1 / v
    s1, s2, s3 = w.sum(), (w**2).sum(), (w**3).sum()
    a = v * (s1 - s2 / s1)
    var_q = 2 * (k - 1) + 4 * (s1 - s2 / s1) * t2 + 2 * (s2 - 2 * s3 / s1 + s2**2 / s1**2) * t2**2
    se = abs(np.mean(a / (Q - (k - 1) + a) ** 2)) * math.sqrt(var_q)
    value, lo, hi = rb_ci(t2, v, Q)
    assert value == pytest.approx(np.mean(t2 / (t2 + v)), rel=1e-15)
    assert lo == pytest.approx(max(0.0, value - Z * se), rel=1e-13)
    assert hi == pytest.approx(min(1.0, value + Z * se), rel=1e-13)
    with pytest.raises(MetaAnalysisError, match="at least 2"):
        rb_ci(t2, v[:1], Q)


def test_iqwig6_keeps_hk_when_its_ci_is_wider(bcg):
    y, v, res = bcg
    hk = random_ci(res.b, res.se, y, v, res.tau2, method="HK")
    iq = random_ci(res.b, res.se, y, v, res.tau2, method="HK", adhoc="IQWiG6")
    dl = rma(y, v, method="DL")
    t = stats.t.ppf(0.975, res.k - 1)
    if t * hk.se_hakn >= Z * dl.se:
        assert iq.se == hk.se_hakn
    else:
        assert iq.se == max(hk.se_hakn, res.se)
