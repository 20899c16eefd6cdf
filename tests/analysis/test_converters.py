"""analysis.engine.converters: hand-computed values (arithmetic in the comments), agreement
with the engine's escalc and with metafor 3.8-1, and the errors on impossible input.

Quantiles used below (scipy, equal to R's qnorm/qt to the digits shown):
z_0.975 = 1.959963984540054, z_0.95 = 1.6448536269514722, z_0.98 = 2.0537489106318225,
z_0.75 = 0.6744897501960817, t_0.975,24 = 2.0638985616280245.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm
from scipy.stats import t as student_t

from analysis.engine import converters as cv
from analysis.engine.effect_sizes import escalc
from analysis.engine.errors import MetaAnalysisError

Z975 = 1.959963984540054


def close(a, b, tol=1e-12):
    assert a == pytest.approx(b, rel=tol, abs=tol)


# --------------------------------------------------------------------------------------------
# SE from a confidence interval / P value


def test_critical_values():
    close(cv.critical_value(95), Z975)
    close(cv.critical_value(90), 1.6448536269514722)
    close(cv.critical_value(95, df=24), 2.0638985616280245)


def test_se_from_ci_ratio_on_log_scale():
    # OR 95% CI 0.5 to 2.0: SE = (ln 2 - ln 0.5) / (2 * 1.959964) = 1.386294 / 3.919928
    #                          = 0.353653019151067
    close(cv.se_from_ci(0.5, 2.0, log=True), 0.353653019151067)
    close(cv.se_from_ci(0.5, 2.0, level=95, log=True), (math.log(2) - math.log(0.5)) / (2 * Z975))


def test_se_from_ci_difference_scale_and_levels():
    # MD 95% CI -1 to 3: SE = 4 / 3.919928 = 1.0204269138493078
    close(cv.se_from_ci(-1, 3), 1.0204269138493078)
    # 90% CI 0 to 1: SE = 1 / (2 * 1.6448536) = 0.3039784159558846
    close(cv.se_from_ci(0, 1, level=90), 0.3039784159558846)
    # t with 24 df: SE = 1 / (2 * 2.0638986) = 0.24225996824456084
    close(cv.se_from_ci(0, 1, df=24), 0.24225996824456084)


def test_estimate_from_ci():
    # (1 + 3) / 2 = 2; on the log scale (ln 0.5 + ln 2) / 2 = 0, i.e. a ratio of exp(0) = 1
    close(cv.estimate_from_ci(1, 3), 2.0)
    close(cv.estimate_from_ci(0.5, 2.0, log=True), 0.0)
    close(cv.estimate_from_ci(1.0, 4.0, log=True), math.log(2.0))


def test_se_from_p():
    # est 0.5, p = 0.04: z_{1 - 0.02} = 2.0537489, SE = 0.5 / 2.0537489 = 0.24345721982449073
    close(cv.se_from_p(0.5, 0.04), 0.24345721982449073)
    close(cv.se_from_p(-0.5, 0.04), 0.24345721982449073)  # |est|
    # a ratio of 2 with p = 0.04: SE(ln RR) = ln 2 / 2.0537489 = 0.33750337101661715
    close(cv.se_from_p(2.0, 0.04, log=True), 0.33750337101661715)
    # Altman & Bland's approximation z = -0.862 + sqrt(0.743 - 2.404 ln p) = 2.05025 for
    # p = 0.04, within 0.004 of the exact 2.05375 used here
    assert (
        abs(0.5 / cv.se_from_p(0.5, 0.04) - (-0.862 + math.sqrt(0.743 - 2.404 * math.log(0.04))))
        < 0.004
    )
    # t variant: SE = est / t_{1-p/2, df}
    close(cv.se_from_p(0.5, 0.04, df=10), 0.5 / student_t.isf(0.02, 10))


def test_se_round_trip_ci_and_p():
    # an estimate with SE 0.2: its 95% CI and its two-sided p both give back 0.2
    est, se = 0.3, 0.2
    lb, ub = est - Z975 * se, est + Z975 * se
    close(cv.se_from_ci(lb, ub), se)
    close(cv.se_from_p(est, 2 * norm.sf(est / se)), se, 1e-10)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: cv.se_from_ci(2, 1), "below the upper"),
        (lambda: cv.se_from_ci(1, 1), "below the upper"),
        (lambda: cv.se_from_ci(0, 2, log=True), "greater than 0"),
        (lambda: cv.se_from_ci(-1, 2, log=True), "greater than 0"),
        (lambda: cv.se_from_ci(0, 1, level=100), "between 0 and 100"),
        (lambda: cv.se_from_ci(0, 1, level=0), "between 0 and 100"),
        (lambda: cv.se_from_ci("a", 1), "must be a number"),
        (lambda: cv.se_from_ci(float("nan"), 1), "finite"),
        (lambda: cv.se_from_ci(0, 1, df=0), "greater than 0"),
        (lambda: cv.estimate_from_ci(3, 1), "below the upper"),
        (lambda: cv.se_from_p(0.5, 0), "strictly between 0 and 1"),
        (lambda: cv.se_from_p(0.5, 1), "strictly between 0 and 1"),
        (lambda: cv.se_from_p(0.0, 0.5), "estimate is 0"),
        (lambda: cv.se_from_p(1.0, 0.5, log=True), "estimate is 0"),  # ln 1 = 0
        (lambda: cv.se_from_p(-2.0, 0.5, log=True), "greater than 0"),
    ],
)
def test_se_errors(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


# --------------------------------------------------------------------------------------------
# standard deviations


def test_sd_from_se():
    # SD = SE * sqrt(n) = 2 * sqrt(25) = 10
    close(cv.sd_from_se(2, 25), 10.0)


def test_sd_from_ci_z_for_large_t_for_small_groups():
    # n = 100 (>= 60, z): SD = sqrt(100) * (12 - 8) / 3.919928 = 10.204269138493078
    close(cv.sd_from_ci(8, 12, 100), 10.204269138493078)
    # n = 25 (< 60, t with 24 df): SD = 5 * 4 / (2 * 2.0638986) = 4.845199364891217
    close(cv.sd_from_ci(8, 12, 25), 4.845199364891217)
    close(cv.sd_from_ci(8, 12, 25, dist="t"), 4.845199364891217)
    # forcing z at n = 25: 5 * 4 / 3.919928 = 5.102134569246539
    close(cv.sd_from_ci(8, 12, 25, dist="z"), 5.102134569246539)
    # the threshold: n = 59 uses t, n = 60 uses z
    close(cv.sd_from_ci(8, 12, 59), math.sqrt(59) * 4 / (2 * student_t.ppf(0.975, 58)))
    close(cv.sd_from_ci(8, 12, 60), math.sqrt(60) * 4 / (2 * Z975))


def test_pooled_sd():
    # sqrt((9 * 2^2 + 19 * 3^2) / 28) = sqrt(207 / 28) = 2.718980901524897
    close(cv.pooled_sd(2, 10, 3, 20), 2.718980901524897)


def test_combine_groups_hand_computed():
    # N = 30; M = (10*5 + 20*8)/30 = 7;
    # SD^2 = (9*4 + 19*9 + 10*20/30 * (25 + 64 - 80)) / 29 = (36 + 171 + 60) / 29 = 267 / 29
    g = cv.combine_groups(10, 5, 2, 20, 8, 3)
    assert g.n == 30
    close(g.mean, 7.0)
    close(g.sd, math.sqrt(267 / 29))  # 3.0342868275303405


def test_combine_groups_equals_the_pooled_raw_data():
    rng = np.random.default_rng(1)
    x, y, w = rng.normal(10, 3, 17), rng.normal(14, 5, 23), rng.normal(8, 1, 9)
    summary = [(len(v), v.mean(), v.std(ddof=1)) for v in (x, y, w)]
    g = cv.combine_groups(*summary[0], *summary[1])
    both = np.concatenate([x, y])
    assert g.n == 40
    close(g.mean, both.mean())
    close(g.sd, both.std(ddof=1))
    # three groups: combine twice (exact)
    g3 = cv.combine_groups(g.n, g.mean, g.sd, *summary[2])
    everything = np.concatenate([x, y, w])
    close(g3.mean, everything.mean())
    close(g3.sd, everything.std(ddof=1))


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: cv.sd_from_se(0, 10), "greater than 0"),
        (lambda: cv.sd_from_se(1, 0), "at least 1"),
        (lambda: cv.sd_from_se(1, 2.5), "whole number"),
        (lambda: cv.sd_from_ci(12, 8, 30), "below the upper"),
        (lambda: cv.sd_from_ci(8, 12, 1), "at least 2"),
        (lambda: cv.sd_from_ci(8, 12, 30, dist="normal"), "dist"),
        (lambda: cv.pooled_sd(-1, 10, 2, 10), "negative"),
        (lambda: cv.pooled_sd(1, 1, 2, 1), "at least 3"),
        (lambda: cv.combine_groups(10, 1, -1, 10, 2, 1), "negative"),
        (lambda: cv.combine_groups(0, 1, 1, 10, 2, 1), "at least 1"),
    ],
)
def test_sd_errors(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


# --------------------------------------------------------------------------------------------
# medians, quartiles, ranges (Wan et al. 2014; Luo et al. 2018; Shi et al. 2020)
#
# n = 50:  eta(50) = 2 Phi^-1((0.75*50 - 0.125)/50.25) = 2 Phi^-1(0.743781) = 2 * 0.6550465
#                  = 1.3100930154533832
#          xi(50)  = 2 Phi^-1((50 - 0.375)/50.25) = 2 Phi^-1(0.987562) = 2 * 2.2433288
#                  = 4.486657526092561
# 50^0.75 = 18.80301546543197, 50^0.55 = 8.598713963809688, 50^0.6 = 10.45639552591273


def test_median_iqr_wan():
    # mean = (10 + 15 + 22)/3 = 15.6667; SD = (22 - 10)/1.3100930 = 9.159654969877971
    est = cv.mean_sd_from_median_iqr(10, 15, 22, 50)
    close(est.mean, 47 / 3)
    close(est.sd, 9.159654969877971)
    close(est.sd, 12 / 1.3100930154533832)


def test_median_iqr_luo():
    # w = 0.7 + 0.39/50 = 0.7078; mean = 0.7078 * (10 + 22)/2 + 0.2922 * 15 = 15.7078
    est = cv.mean_sd_from_median_iqr(10, 15, 22, 50, mean_method="luo")
    close(est.mean, 15.7078)
    close(est.sd, 9.159654969877971)  # the SD is Wan's either way


def test_median_iqr_tends_to_the_handbooks_iqr_over_1_35():
    # eta(n) -> 2 z_0.75 = 1.3489795 (the Handbook's "IQR/1.35") as n grows
    est = cv.mean_sd_from_median_iqr(10, 15, 22, 10**8)
    close(est.sd, 12 / (2 * 0.6744897501960817), 1e-6)


def test_median_range_wan():
    # mean = (2 + 2*15 + 40)/4 = 18; SD = (40 - 2)/4.4866575 = 8.469556630745178
    est = cv.mean_sd_from_median_range(2, 15, 40, 50)
    close(est.mean, 18.0)
    close(est.sd, 8.469556630745178)


def test_median_range_luo():
    # w = 4/(4 + 50^0.75) = 4/22.803015 = 0.1754154; mean = w * 21 + (1 - w) * 15 = 16.052492
    est = cv.mean_sd_from_median_range(2, 15, 40, 50, mean_method="luo")
    close(est.mean, 16.05249237919356)
    close(est.mean, 15 + 6 * 4 / (4 + 18.80301546543197))


def test_five_numbers():
    # Wan: mean = (2 + 2*10 + 2*15 + 2*22 + 40)/8 = 136/8 = 17;
    #      SD = (38/4.4866575 + 12/1.3100930)/2 = (8.4695566 + 9.1596550)/2 = 8.814605800311575
    est = cv.mean_sd_from_five_numbers(2, 10, 15, 22, 40, 50)
    close(est.mean, 17.0)
    close(est.sd, 8.814605800311575)
    # Luo: w1 = 2.2/(2.2 + 18.803015) = 0.1047469, w2 = 0.7 - 0.72/8.598714 = 0.6162665;
    #      mean = w1 * 21 + w2 * 16 + (1 - w1 - w2) * 15 = 16.244747731044022
    # Shi: w = 1/(1 + 0.07 * 50^0.6) = 1/1.7319477 = 0.5773846;
    #      SD = w * 8.4695566 + (1 - w) * 9.1596550 = 8.761202785446057
    est = cv.mean_sd_from_five_numbers(2, 10, 15, 22, 40, 50, mean_method="luo", sd_method="shi")
    close(est.mean, 16.244747731044022)
    close(est.sd, 8.761202785446057)


def test_symmetric_summaries_give_the_median_as_mean():
    for method in ("wan", "luo"):
        assert cv.mean_sd_from_median_iqr(8, 10, 12, 30, mean_method=method).mean == 10
        assert cv.mean_sd_from_median_range(4, 10, 16, 30, mean_method=method).mean == 10
        assert cv.mean_sd_from_five_numbers(4, 8, 10, 12, 16, 30, mean_method=method).mean == 10


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: cv.mean_sd_from_median_iqr(10, 9, 22, 50), "first quartile .* above the median"),
        (lambda: cv.mean_sd_from_median_iqr(10, 23, 22, 50), "median .* above the third"),
        (lambda: cv.mean_sd_from_median_iqr(10, 10, 10, 50), "equal"),
        (lambda: cv.mean_sd_from_median_iqr(10, 15, 22, 4), "at least 5"),
        (lambda: cv.mean_sd_from_median_iqr(10, 15, 22, 50, mean_method="hozo"), "mean_method"),
        (lambda: cv.mean_sd_from_median_range(2, 1, 40, 50), "minimum .* above the median"),
        (lambda: cv.mean_sd_from_median_range(2, 41, 40, 50), "median .* above the maximum"),
        (lambda: cv.mean_sd_from_median_range(2, 15, 40, 50.5), "whole number"),
        (lambda: cv.mean_sd_from_five_numbers(2, 1, 15, 22, 40, 50), "minimum .* above"),
        (lambda: cv.mean_sd_from_five_numbers(2, 10, 15, 22, 21, 50), "third quartile .* above"),
        (lambda: cv.mean_sd_from_five_numbers(2, 15, 15, 15, 40, 50), "quartiles are equal"),
        (lambda: cv.mean_sd_from_five_numbers(2, 10, 15, 22, 40, 50, sd_method="x"), "sd_method"),
    ],
)
def test_quantile_errors(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


# --------------------------------------------------------------------------------------------
# SMD from t, F, p (metafor's escalc SMD: exact J, vtype "LS")


def test_hedges_correction_exact():
    # n1 = 6, n2 = 5: m = 9, J = Gamma(4.5) / (sqrt(4.5) Gamma(4)) = 11.6317284 / (2.1213203 * 6)
    #               = 0.9138750 (the approximation 1 - 3/(4m - 1) = 0.9142857 is not used)
    close(cv.hedges_correction(6, 5), math.gamma(4.5) / (math.sqrt(4.5) * math.gamma(4)))
    assert abs(cv.hedges_correction(6, 5) - (1 - 3 / 35)) > 1e-4


def test_d_from_t():
    # d = 2.5 * sqrt(1/6 + 1/5) = 2.5 * 0.6055301 = 1.5138252
    close(cv.d_from_t(2.5, 6, 5), 2.5 * math.sqrt(1 / 6 + 1 / 5))


NORMAND = [  # dat.normand1999: n1i, m1i, sd1i, n2i, m2i, sd2i (rows 1-3)
    (155, 55, 47, 156, 75, 64),
    (31, 27, 7, 32, 29, 4),
    (75, 64, 17, 71, 119, 29),
]


@pytest.mark.parametrize("row", NORMAND)
def test_smd_from_t_equals_escalc_from_means_and_sds(row):
    n1, m1, s1, n2, m2, s2 = row
    sp = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    t = (m1 - m2) / (sp * math.sqrt(1 / n1 + 1 / n2))  # the pooled two-sample t statistic
    es = escalc("SMD", m1i=[m1], sd1i=[s1], n1i=[n1], m2i=[m2], sd2i=[s2], n2i=[n2])
    res = cv.smd_from_t(t, n1, n2)
    assert abs(res.yi - es.yi[0]) < 1e-12
    assert abs(res.vi - es.vi[0]) < 1e-12
    close(res.d, (m1 - m2) / sp)
    close(res.yi, res.j * res.d)
    # from F = t^2 with the sign given, and from the two-sided p of t
    f = cv.smd_from_f(t**2, n1, n2, sign=-1 if t < 0 else 1)
    assert abs(f.yi - es.yi[0]) < 1e-12
    assert abs(f.vi - es.vi[0]) < 1e-12
    p = 2 * student_t.sf(abs(t), n1 + n2 - 2)
    fromp = cv.smd_from_p(p, n1, n2, sign=-1 if t < 0 else 1)
    assert abs(fromp.yi - es.yi[0]) < 1e-9


def test_smd_from_t_matches_metafor_escalc_ti():
    # metafor 3.8-1: escalc("SMD", ti=-3.1, n1i=155, n2i=156) and (ti=2.5, n1i=6, n2i=5)
    res = cv.smd_from_t(-3.1, 155, 156)
    close(res.yi, -0.35071742793807331)
    close(res.vi, 0.013059622873384946)
    # by hand: d = 2.5 * 0.6055301 = 1.5138252; g = 0.9138750 * d = 1.3834468;
    # vi = 1/6 + 1/5 + g^2 / 22 = 0.3666667 + 0.0869966 = 0.4536633
    res = cv.smd_from_t(2.5, 6, 5)
    close(res.yi, 1.3834468198682646)
    close(res.vi, 0.45366326227592191)
    # F = 6.25 = 2.5^2 with a positive sign, and p = 2 P(T_9 > 2.5) = 0.0338618
    close(cv.smd_from_f(6.25, 6, 5, sign=1).yi, 1.3834468198682646)
    close(cv.smd_from_f(6.25, 6, 5, sign=-1).yi, -1.3834468198682646)
    close(cv.smd_from_p(2 * student_t.sf(2.5, 9), 6, 5, sign=1).yi, 1.3834468198682646, 1e-10)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: cv.hedges_correction(2, 1), "n1 \\+ n2 > 3"),
        (lambda: cv.smd_from_t(1.0, 2, 1), "n1 \\+ n2 > 3"),
        (lambda: cv.smd_from_t(1.0, 0, 5), "at least 1"),
        (lambda: cv.smd_from_f(-1, 10, 10, sign=1), "cannot be negative"),
        (lambda: cv.smd_from_f(4, 10, 10, sign=0), "sign must be"),
        (lambda: cv.smd_from_p(0.05, 10, 10, sign=2), "sign must be"),
        (lambda: cv.smd_from_p(0, 10, 10, sign=1), "P value"),
        (lambda: cv.smd_from_p(1.5, 10, 10, sign=1), "P value"),
    ],
)
def test_smd_errors(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


def test_sign_is_required_for_f_and_p():
    with pytest.raises(TypeError):
        cv.smd_from_f(4, 10, 10)  # type: ignore[call-arg]


# --------------------------------------------------------------------------------------------
# correlations


def test_fisher_z():
    # atanh(0.5) = ln(1.5/0.5)/2 = ln(3)/2 = 0.5493061443340549
    close(cv.r_to_z(0.5), math.log(3) / 2)
    close(cv.z_to_r(cv.r_to_z(-0.3)), -0.3)
    # the same value as escalc's ZCOR
    close(cv.r_to_z(0.187), escalc("ZCOR", ri=[0.187], ni=[109]).yi[0])
    for r in (1, -1, 1.2):
        with pytest.raises(MetaAnalysisError, match="strictly between -1 and 1"):
            cv.r_to_z(r)


def test_errors_are_metaanalysis_errors_and_value_errors():
    with pytest.raises(MetaAnalysisError):
        cv.sd_from_se(-1, 4)
    assert issubclass(MetaAnalysisError, ValueError)
