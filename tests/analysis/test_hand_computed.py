"""Cases the reference files do not cover, checked against values worked out by hand from
metafor's documented formulas (each formula is written next to its expected value)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis.engine import MetaAnalysisError, escalc, predict, rma

TIGHT = {"threshold": 1e-12, "tol": 1e-12, "maxiter": 10000}


# ----------------------------------------------------------------- odds ratios with zero cells

# Table 1 has a zero cell, table 2 none.  to="only0" adds 1/2 to every cell of table 1 only:
# (0, 10, 5, 5) -> (.5, 10.5, 5.5, 5.5): log OR = log(.5*5.5 / (10.5*5.5)) = log(1/21),
# vi = 1/.5 + 1/10.5 + 1/5.5 + 1/5.5.  Table 2 (2, 8, 4, 6): log(2*6/(8*4)), 1/2+1/8+1/4+1/6.
OR_TABLES = {"ai": [0, 2], "bi": [10, 8], "ci": [5, 4], "di": [5, 6]}


def test_or_zero_cell_only0_default():
    es = escalc("OR", **OR_TABLES)
    np.testing.assert_allclose(es.yi, [math.log(1 / 21), math.log(12 / 32)], rtol=1e-12)
    np.testing.assert_allclose(
        es.vi, [1 / 0.5 + 1 / 10.5 + 2 / 5.5, 1 / 2 + 1 / 8 + 1 / 4 + 1 / 6], rtol=1e-12
    )
    assert es.corrected == ("1",)


@pytest.mark.parametrize("to", ["all", "if0all"])
def test_or_zero_cell_all_tables(to):
    # every table gets +1/2 (if0all: because one table has a zero cell)
    es = escalc("OR", **OR_TABLES, to=to)
    np.testing.assert_allclose(
        es.yi, [math.log(1 / 21), math.log(2.5 * 6.5 / (8.5 * 4.5))], rtol=1e-12
    )
    np.testing.assert_allclose(es.vi[1], 1 / 2.5 + 1 / 8.5 + 1 / 4.5 + 1 / 6.5, rtol=1e-12)


def test_or_if0all_without_zero_cells_adds_nothing():
    es = escalc("OR", ai=[2], bi=[8], ci=[4], di=[6], to="if0all")
    np.testing.assert_allclose(es.yi, [math.log(12 / 32)], rtol=1e-12)


def test_or_custom_add():
    # add = 1: (0, 10, 5, 5) -> (1, 11, 6, 6): log(1*6/(11*6)) = log(1/11)
    es = escalc("OR", ai=[0], bi=[10], ci=[5], di=[5], add=1.0)
    np.testing.assert_allclose(es.yi, [math.log(1 / 11)], rtol=1e-12)
    np.testing.assert_allclose(es.vi, [1 + 1 / 11 + 2 / 6], rtol=1e-12)


def test_or_zero_cell_without_correction_is_an_error():
    with pytest.raises(MetaAnalysisError, match=r"Cannot compute the effect size for study 1"):
        escalc("OR", **OR_TABLES, to="none")


def test_or_double_zero_kept_and_corrected_by_default():
    # (0, 10, 0, 10) -> (.5, 10.5, .5, 10.5): log OR = 0, vi = 2/.5 + 2/10.5
    es = escalc("OR", ai=[0, 2], bi=[10, 8], ci=[0, 4], di=[10, 6])
    assert es.yi[0] == 0.0
    np.testing.assert_allclose(es.vi[0], 2 / 0.5 + 2 / 10.5, rtol=1e-12)


def test_or_drop00_drops_double_zero_tables():
    with pytest.warns(UserWarning, match="dropped 1 double-zero table"):
        es = escalc("OR", ai=[0, 2], bi=[10, 8], ci=[0, 4], di=[10, 6], drop00=True,
                    slab=["Zero", "Two"])
    assert es.dropped == ("Zero",)
    assert es.slab == ("Two",)
    np.testing.assert_allclose(es.yi, [math.log(12 / 32)], rtol=1e-12)


def test_rr_and_rd_zero_cell_from_group_sizes():
    # ai=0 of n1i=10, ci=3 of n2i=10 -> cells (.5, 10.5, 3.5, 7.5), n1 = n2 = 11
    # RR: log(.5/11) - log(3.5/11) = log(1/7); vi = 1/.5 - 1/11 + 1/3.5 - 1/11
    rr = escalc("RR", ai=[0], n1i=[10], ci=[3], n2i=[10])
    np.testing.assert_allclose(rr.yi, [math.log(1 / 7)], rtol=1e-12)
    np.testing.assert_allclose(rr.vi, [2 - 2 / 11 + 1 / 3.5], rtol=1e-12)
    # RD: p1 - p2 = (.5 - 3.5)/11; vi = p1(1-p1)/11 + p2(1-p2)/11
    rd = escalc("RD", ai=[0], n1i=[10], ci=[3], n2i=[10])
    p1, p2 = 0.5 / 11, 3.5 / 11
    np.testing.assert_allclose(rd.yi, [p1 - p2], rtol=1e-12)
    np.testing.assert_allclose(rd.vi, [p1 * (1 - p1) / 11 + p2 * (1 - p2) / 11], rtol=1e-12)


# ----------------------------------------------------------------- proportions at 0 and 1


def test_plo_at_zero_and_one():
    # xi = 0 of 10 -> (.5, 10.5): logit = log(.5/10.5), vi = 1/.5 + 1/10.5
    # xi = 10 of 10 -> (10.5, .5): logit = log(21), same vi; xi = 3 of 10 untouched
    es = escalc("PLO", xi=[0, 10, 3], ni=[10, 10, 10])
    np.testing.assert_allclose(es.yi, [math.log(1 / 21), math.log(21), math.log(3 / 7)],
                               rtol=1e-12)
    np.testing.assert_allclose(es.vi, [2 + 1 / 10.5, 2 + 1 / 10.5, 1 / 3 + 1 / 7], rtol=1e-12)


def test_pr_at_zero_and_one():
    # PR: p = (xi + .5)/(ni + 1) after correction; vi = p(1-p)/(ni + 1)
    es = escalc("PR", xi=[0, 10, 3], ni=[10, 10, 10])
    p = np.array([0.5 / 11, 10.5 / 11, 0.3])
    n = np.array([11, 11, 10])
    np.testing.assert_allclose(es.yi, p, rtol=1e-12)
    np.testing.assert_allclose(es.vi, p * (1 - p) / n, rtol=1e-12)


def test_pr_at_zero_without_correction_is_an_error():
    # p = 0 gives vi = 0: not a usable study
    with pytest.raises(MetaAnalysisError, match=r"Sampling variance of study 1 is not positive"):
        escalc("PR", xi=[0, 3], ni=[10, 10], to="none")


def test_cor_and_smd_formulas():
    # COR: yi = r, vi = (1 - r^2)^2/(n - 1)
    es = escalc("COR", ri=[0.5], ni=[21])
    np.testing.assert_allclose(es.vi, [0.75**2 / 20], rtol=1e-12)
    # SMD: m = n1 + n2 - 2 = 18, J = exp(lgamma(9) - log(sqrt(9)) - lgamma(8.5)),
    # sp = 2 (both SDs 2), d = 1/2, g = J d, vi = 1/10 + 1/10 + g^2/40
    es = escalc("SMD", m1i=[11], sd1i=[2], n1i=[10], m2i=[10], sd2i=[2], n2i=[10])
    J = math.exp(math.lgamma(9) - math.log(3) - math.lgamma(8.5))
    assert abs(J - (1 - 3 / (4 * 18 - 1))) < 1e-3  # close to Hedges' approximation
    np.testing.assert_allclose(es.yi, [J / 2], rtol=1e-12)
    np.testing.assert_allclose(es.vi, [0.2 + (J / 2) ** 2 / 40], rtol=1e-12)


def test_gen_with_sei():
    es = escalc("GEN", yi=[0.1, 0.2], sei=[0.1, 0.3])
    np.testing.assert_allclose(es.vi, [0.01, 0.09], rtol=1e-12)


# ----------------------------------------------------------------- k = 2


Y2, V2 = [0.0, 1.0], [0.1, 0.2]


@pytest.mark.parametrize("method", ["DL", "HE", "PM"])
def test_k2_moment_estimators(method):
    # With k = 2 the DL, HE and PM estimators all equal ((y1-y2)^2 - (v1+v2))/2 = 0.35:
    # DL: (Q - 1)/(sum w - sum w^2/sum w) with Q = (y1-y2)^2/(v1+v2);
    # PM: Q(tau2) = (y1-y2)^2/(v1+v2+2 tau2) = 1.
    res = rma(Y2, V2, method=method, control=TIGHT)
    assert res.tau2 == pytest.approx(0.35, rel=1e-10)
    # b = sum(w y)/sum(w), w = 1/(v + .35) = (20/9, 20/11): b = (20/11)/(400/99) = 0.45
    assert res.b == pytest.approx(0.45, rel=1e-10)
    assert res.se == pytest.approx(math.sqrt(99 / 400), rel=1e-10)
    # vt = (k-1)/(sum w - sum w^2/sum w) = 1/(20/3) = .15: I2 = 100*.35/.5, H2 = .35/.15 + 1
    assert res.i2 == pytest.approx(70.0, rel=1e-10)
    assert res.h2 == pytest.approx(10 / 3, rel=1e-10)
    assert res.qe == pytest.approx(10 / 3, rel=1e-12)


def test_k2_knha_uses_t_with_one_df():
    res = rma(Y2, V2, method="DL", test="knha")
    # at the DL = PM solution Q(tau2) = k - 1, so s2w = Q(tau2)/(k-1) = 1
    assert res.s2w == pytest.approx(1.0, rel=1e-10)
    crit = stats.t.ppf(0.975, 1)
    assert res.ci_ub == pytest.approx(0.45 + crit * math.sqrt(99 / 400), rel=1e-10)
    pred = predict(res)
    assert pred.pi_ub == pytest.approx(0.45 + crit * math.sqrt(99 / 400 + 0.35), rel=1e-10)


def test_k2_equal_variances_reml_and_ml():
    # equal vi: REML = sum((y - ybar)^2)/(k-1) - v = .5 - .1; ML = sum(...)/k - v = .25 - .1
    assert rma([0, 1], [0.1, 0.1], method="REML", control=TIGHT).tau2 == pytest.approx(0.4)
    assert rma([0, 1], [0.1, 0.1], method="ML", control=TIGHT).tau2 == pytest.approx(0.15)


def test_k2_riley_interval_is_not_defined():
    with pytest.raises(MetaAnalysisError, match="k - p - 1 > 0"):
        predict(rma(Y2, V2, method="DL"), pi_type="riley")


# ----------------------------------------------------------------- k = 3

Y3, V3 = [0.0, 1.0, 2.0], [0.1, 0.1, 0.1]


@pytest.mark.parametrize(
    ("method", "tau2"),
    [
        ("REML", 0.9),  # s^2 - v = 1 - .1
        ("DL", 0.9),  # (Q - 2)/trP, Q = 10*2 = 20, trP = 30 - 300/30 = 20
        ("EB", 0.9),  # solves Q(tau2) k/(k-1) = k: 2/(.1 + t) = 2
        ("PM", 0.9),  # solves Q(tau2) = k - 1: 2/(.1 + t) = 2
        ("HE", 0.9),  # (RSS - tr(PV))/(k-1) = (2 - .2)/2
        ("ML", 2 / 3 - 0.1),  # RSS/k - v
        ("HS", 17 / 30),  # (Q - k)/sum(w) = (20 - 3)/30
        ("SJ", 20 / 23),  # t0 = 2/3, w = 30/23, tau2 = t0 * (60/23)/2
    ],
)
def test_k3_equal_variances(method, tau2):
    res = rma(Y3, V3, method=method, control=TIGHT)
    assert res.tau2 == pytest.approx(tau2, rel=1e-9)
    assert res.b == pytest.approx(1.0, rel=1e-12)
    assert res.se == pytest.approx(math.sqrt((0.1 + tau2) / 3), rel=1e-9)


def test_k3_dl_heterogeneity_and_intervals():
    res = rma(Y3, V3, method="DL")
    assert res.qe == pytest.approx(20.0)
    assert res.qep == pytest.approx(math.exp(-10), rel=1e-10)  # chi2(2) survival = exp(-x/2)
    assert res.i2 == pytest.approx(90.0)  # vt = 2/20 = .1, 100*.9/(.1+.9)
    z = stats.norm.ppf(0.975)
    pred = predict(res)
    assert pred.pi_lb == pytest.approx(1 - z * math.sqrt(1 / 3 + 0.9), rel=1e-10)
    riley = predict(res, pi_type="riley")  # t with k - 2 = 1 df
    assert riley.pi_lb == pytest.approx(1 - stats.t.ppf(0.975, 1) * math.sqrt(1 / 3 + 0.9),
                                        rel=1e-10)


def test_tau2_truncated_at_zero_gives_common_effect():
    # homogeneous data: Q < k - 1, DL is truncated at 0 and the fit equals the FE fit
    y, v = [0.1, 0.11, 0.09], [0.1, 0.2, 0.3]
    dl, fe = rma(y, v, method="DL"), rma(y, v, method="FE")
    assert dl.tau2 == 0.0
    assert dl.i2 == 0.0
    assert dl.b == pytest.approx(fe.b, rel=1e-14)
    assert dl.se == pytest.approx(fe.se, rel=1e-14)


def test_fe_has_no_prediction_interval():
    pred = predict(rma(Y3, V3, method="FE"))
    assert pred.pi_lb is None
    assert pred.pi_ub is None


def test_transf_exp_back_transforms_bounds():
    res = rma(Y3, V3, method="DL")
    pred, exp = predict(res), predict(res, transf="exp")
    assert exp.pred == pytest.approx(math.exp(pred.pred))
    assert exp.ci_lb == pytest.approx(math.exp(pred.ci_lb))
    assert exp.se is None
