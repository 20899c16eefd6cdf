"""Conversions a reviewer needs while extracting data from study reports.

Each function takes the numbers as printed in a paper and returns plain floats (or a small
frozen dataclass). Impossible input raises :class:`~analysis.engine.errors.MetaAnalysisError`
(a ``ValueError``) with a message saying what is wrong. Formulas and their sources are in each
docstring and in docs/extraction.md.

References
----------
* Higgins JPT, Li T, Deeks JJ (eds). Chapter 6: Choosing effect measures and computing
  estimates of effect. Cochrane Handbook for Systematic Reviews of Interventions v6.4, 2023
  ("the Handbook").
* Altman DG, Bland JM. How to obtain the confidence interval from a P value. BMJ
  2011;343:d2090.
* Wan X, Wang W, Liu J, Tong T. Estimating the sample mean and standard deviation from the
  sample size, median, range and/or interquartile range. BMC Med Res Methodol 2014;14:135.
* Luo D, Wan X, Liu J, Tong T. Optimally estimating the sample mean from the sample size,
  median, mid-range, and/or mid-quartile range. Stat Methods Med Res 2018;27:1785-1805.
* Shi J, Luo D, Weng H, et al. Optimally estimating the sample standard deviation from the
  five-number summary. Res Synth Methods 2020;11:641-654.
* Hedges LV. Distribution theory for Glass's estimator of effect size and related estimators.
  J Educ Stat 1981;6:107-128 (the exact small-sample correction J used by metafor).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from scipy.special import gammaln
from scipy.stats import norm
from scipy.stats import t as student_t

from analysis.engine.errors import MetaAnalysisError

__all__ = [
    "GroupSummary",
    "MeanSD",
    "SMDResult",
    "biserial_from_point_biserial",
    "combine_groups",
    "critical_value",
    "d_from_r",
    "d_from_t",
    "estimate_from_ci",
    "hedges_correction",
    "mean_sd_from_five_numbers",
    "mean_sd_from_median_iqr",
    "mean_sd_from_median_range",
    "point_biserial_from_biserial",
    "pooled_sd",
    "r_from_beta",
    "r_from_chi2",
    "r_from_d",
    "r_from_f",
    "r_from_log_or",
    "r_from_or",
    "r_from_t",
    "r_to_z",
    "sd_from_ci",
    "sd_from_se",
    "se_from_ci",
    "se_from_p",
    "smd_from_f",
    "smd_from_p",
    "smd_from_t",
    "z_to_r",
]

#: Below this group size the Handbook (section 6.5.2.2) says a CI of a mean "should have been
#: calculated using a value from a t distribution"; at and above it :func:`sd_from_ci` uses z.
SMALL_SAMPLE = 60

#: The median/IQR/range approximations are not used below this sample size (as metafor's
#: ``conv.fivenum``, which excludes rows with n < 5).
MIN_N_QUANTILES = 5


@dataclass(frozen=True)
class MeanSD:
    """An estimated mean and standard deviation (from medians, quartiles or ranges)."""

    mean: float
    sd: float


@dataclass(frozen=True)
class GroupSummary:
    """Size, mean and SD of one group (e.g. two subgroups combined)."""

    n: float
    mean: float
    sd: float


@dataclass(frozen=True)
class SMDResult:
    """A standardised mean difference as metafor's ``escalc(measure="SMD")`` returns it.

    ``yi`` is Hedges' g (= ``j * d``), ``vi`` its sampling variance (``vtype="LS"``), ``d`` the
    uncorrected Cohen's d and ``j`` the exact small-sample correction.
    """

    yi: float
    vi: float
    d: float
    j: float


# --------------------------------------------------------------------------------------------
# helpers


def _number(name: str, value) -> float:
    if isinstance(value, bool):
        raise MetaAnalysisError(f"{name} must be a number, not {value!r}.")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise MetaAnalysisError(f"{name} must be a number (got {value!r}).") from None
    if not math.isfinite(x):
        raise MetaAnalysisError(f"{name} must be a finite number (got {value!r}).")
    return x


def _positive(name: str, value) -> float:
    x = _number(name, value)
    if x <= 0:
        raise MetaAnalysisError(f"{name} must be greater than 0 (got {x:g}).")
    return x


def _count(name: str, value, minimum: int) -> float:
    x = _number(name, value)
    if not x.is_integer():
        raise MetaAnalysisError(f"{name} must be a whole number (got {x:g}).")
    if x < minimum:
        raise MetaAnalysisError(f"{name} must be at least {minimum} (got {x:g}).")
    return x


def _level(level) -> float:
    x = _number("The confidence level", level)
    if not 0 < x < 100:
        raise MetaAnalysisError(
            f"The confidence level is a percentage strictly between 0 and 100, e.g. 95 (got {x:g})."
        )
    return x


def _bounds(lb, ub, log: bool) -> tuple[float, float]:
    lo = _number("The lower confidence limit", lb)
    hi = _number("The upper confidence limit", ub)
    if not lo < hi:
        raise MetaAnalysisError(
            f"The lower confidence limit must be below the upper one (got {lo:g} to {hi:g})."
        )
    if log:
        if lo <= 0:
            raise MetaAnalysisError(
                f"Ratio confidence limits must be greater than 0 to be logged (got {lo:g})."
            )
        return math.log(lo), math.log(hi)
    return lo, hi


def critical_value(level: float = 95, df: float | None = None) -> float:
    """Two-sided critical value for a ``level``% interval: z_{(1+level/100)/2}, or the t
    quantile with ``df`` degrees of freedom when ``df`` is given (1.959964 for 95%)."""
    q = (1 + _level(level) / 100) / 2
    if df is None:
        return float(norm.ppf(q))
    return float(student_t.ppf(q, _positive("The degrees of freedom", df)))


# --------------------------------------------------------------------------------------------
# standard errors from confidence intervals and P values


def se_from_ci(lb, ub, *, level: float = 95, log: bool = False, df: float | None = None) -> float:
    """Standard error of an estimate from its confidence interval.

    SE = (ub - lb) / (2 z), z = z_{(1+level/100)/2} (1.959964 for a 95% CI); with ``df`` the
    t quantile with ``df`` degrees of freedom replaces z (the Handbook's advice for small
    samples). With
    ``log=True`` the bounds are ratios (OR, RR, HR on their natural scale) and are logged first,
    giving the SE of the log ratio: SE = (ln ub - ln lb) / (2 z) (Handbook section 6.3.2).
    """
    lo, hi = _bounds(lb, ub, log)
    return (hi - lo) / (2 * critical_value(level, df))


def estimate_from_ci(lb, ub, *, log: bool = False) -> float:
    """Point estimate as the midpoint of a symmetric confidence interval.

    (lb + ub) / 2; with ``log=True`` (ratio bounds) the midpoint of the logged bounds,
    (ln lb + ln ub) / 2, which is the log of the ratio estimate (its geometric mean); take
    ``exp()`` for the ratio itself (Handbook section 6.3.2: ratio CIs are symmetric on the log
    scale). Use it only when the paper gives the interval but not the estimate.
    """
    lo, hi = _bounds(lb, ub, log)
    return (lo + hi) / 2


def se_from_p(estimate, p, *, log: bool = False, df: float | None = None) -> float:
    """Standard error of an estimate from its two-sided P value.

    SE = |est| / z, z = z_{1-p/2} (Altman & Bland 2011, who approximate z by
    -0.862 + sqrt(0.743 - 2.404 ln p); the exact normal quantile is used here). With ``df`` the
    t quantile t_{1-p/2, df} replaces z; with ``log=True`` the estimate is a ratio and is logged
    first (SE of the log ratio; Handbook 6.3.2). The P value must be exact: "p < 0.05" cannot
    be used (a conservative choice is to use the upper limit, e.g. 0.05; Handbook 6.3.2).
    """
    est = _number("The estimate", estimate)
    pv = _number("The P value", p)
    if log:
        if est <= 0:
            raise MetaAnalysisError(f"A ratio must be greater than 0 to be logged (got {est:g}).")
        est = math.log(est)
    if not 0 < pv < 1:
        raise MetaAnalysisError(
            f"The P value must be strictly between 0 and 1 (got {pv:g}); p = 1 carries no "
            "information on the standard error."
        )
    if est == 0:
        raise MetaAnalysisError(
            "The standard error cannot be recovered from a P value when the estimate is 0 "
            "(no effect on the analysis scale)."
        )
    if df is None:
        crit = float(norm.isf(pv / 2))
    else:
        crit = float(student_t.isf(pv / 2, _positive("The degrees of freedom", df)))
    return abs(est) / crit


# --------------------------------------------------------------------------------------------
# standard deviations


def sd_from_se(se, n) -> float:
    """SD of a group from the standard error of its mean: SD = SE * sqrt(n) (Handbook 6.5.2.2)."""
    s = _positive("The standard error", se)
    size = _count("The sample size", n, 1)
    return s * math.sqrt(size)


def sd_from_ci(lb, ub, n, *, level: float = 95, dist: str = "auto") -> float:
    """SD of a group from the confidence interval of its mean (Handbook section 6.5.2.2).

    SD = sqrt(n) (ub - lb) / (2 c). ``dist="z"``: c = z_{(1+level/100)/2} (3.92 = 2 x 1.96 for a
    95% CI, the Handbook's formula for large samples); ``dist="t"``: c = t_{(1+level/100)/2, n-1}
    (the Handbook: for small samples, "say less than 60 in each group", the interval should have
    been computed with t); ``dist="auto"`` (default): t when n < 60, z otherwise.
    """
    lo = _number("The lower confidence limit", lb)
    hi = _number("The upper confidence limit", ub)
    size = _count("The sample size", n, 2)
    if not lo < hi:
        raise MetaAnalysisError(
            f"The lower confidence limit must be below the upper one (got {lo:g} to {hi:g})."
        )
    if dist not in ("auto", "t", "z"):
        raise MetaAnalysisError(f"dist must be 'auto', 't' or 'z' (got {dist!r}).")
    use_t = dist == "t" or (dist == "auto" and size < SMALL_SAMPLE)
    crit = critical_value(level, size - 1 if use_t else None)
    return math.sqrt(size) * (hi - lo) / (2 * crit)


def pooled_sd(sd1, n1, sd2, n2) -> float:
    """Pooled within-group SD of two groups (the denominator of Cohen's d and Hedges' g).

    sp = sqrt(((n1 - 1) sd1^2 + (n2 - 1) sd2^2) / (n1 + n2 - 2)), as in metafor's SMD.
    """
    s1 = _number("The SD of group 1", sd1)
    s2 = _number("The SD of group 2", sd2)
    a = _count("The size of group 1", n1, 1)
    b = _count("The size of group 2", n2, 1)
    if s1 < 0 or s2 < 0:
        raise MetaAnalysisError("Standard deviations cannot be negative.")
    if a + b <= 2:
        raise MetaAnalysisError("A pooled SD needs at least 3 participants in total.")
    return math.sqrt(((a - 1) * s1**2 + (b - 1) * s2**2) / (a + b - 2))


def combine_groups(n1, mean1, sd1, n2, mean2, sd2) -> GroupSummary:
    """Combine two groups (e.g. two doses or two subgroups) into one (Handbook Table 6.5.a).

    N = n1 + n2; M = (n1 M1 + n2 M2) / N;
    SD = sqrt(((n1 - 1) SD1^2 + (n2 - 1) SD2^2 + n1 n2 / N (M1^2 + M2^2 - 2 M1 M2)) / (N - 1)).
    Exact: equal to the mean and SD (n - 1 denominator) of the pooled raw data. For more than
    two groups combine the first two, then the result with the third, and so on.
    """
    a = _count("The size of group 1", n1, 1)
    b = _count("The size of group 2", n2, 1)
    m1 = _number("The mean of group 1", mean1)
    m2 = _number("The mean of group 2", mean2)
    s1 = _number("The SD of group 1", sd1)
    s2 = _number("The SD of group 2", sd2)
    if s1 < 0 or s2 < 0:
        raise MetaAnalysisError("Standard deviations cannot be negative.")
    total = a + b
    mean = (a * m1 + b * m2) / total
    ss = (a - 1) * s1**2 + (b - 1) * s2**2 + a * b / total * (m1**2 + m2**2 - 2 * m1 * m2)
    return GroupSummary(n=total, mean=mean, sd=math.sqrt(ss / (total - 1)))


# --------------------------------------------------------------------------------------------
# means and SDs from medians, quartiles and ranges


def _blom_range(n: float) -> float:
    # xi(n) = 2 Phi^-1((n - 0.375) / (n + 0.25)): Wan et al. (2014) equation (9)
    return 2 * float(norm.ppf((n - 0.375) / (n + 0.25)))


def _blom_iqr(n: float) -> float:
    # eta(n) = 2 Phi^-1((0.75 n - 0.125) / (n + 0.25)): Wan et al. (2014) equation (16)
    return 2 * float(norm.ppf((0.75 * n - 0.125) / (n + 0.25)))


def _ordered(names_values: list[tuple[str, float]]) -> None:
    for (na, a), (nb, b) in itertools.pairwise(names_values):
        if a > b:
            raise MetaAnalysisError(f"The {na} ({a:g}) cannot be above the {nb} ({b:g}).")
    (nlo, lo), (nhi, hi) = names_values[0], names_values[-1]
    if lo == hi:
        raise MetaAnalysisError(
            f"The {nlo} and the {nhi} are equal ({lo:g}), so no SD can be estimated."
        )


def _mean_method(method: str) -> str:
    if method not in ("wan", "luo"):
        raise MetaAnalysisError(f"mean_method must be 'wan' or 'luo' (got {method!r}).")
    return method


def mean_sd_from_median_iqr(q1, median, q3, n, *, mean_method: str = "wan") -> MeanSD:
    """Mean and SD from the median, first and third quartiles and sample size.

    Wan et al. (2014), scenario C3, assuming roughly normal data:
    mean = (q1 + m + q3) / 3 (equation 14);
    SD = (q3 - q1) / eta(n), eta(n) = 2 Phi^-1((0.75 n - 0.125) / (n + 0.25)) (equation 16),
    which tends to the Handbook's IQR / 1.35 as n grows (Handbook 6.5.2.5 cites Wan et al. as
    the sample-size-dependent version of that rule). ``mean_method="luo"``: Luo et al. (2018)
    mean = w (q1 + q3)/2 + (1 - w) m, w = 0.7 + 0.39/n (the default of metafor's
    ``conv.fivenum`` in metafor versions after 3.8-1). The Handbook gives no formula for the
    mean, so the
    default is Wan's. Skewed data (a median far from the middle of the IQR) make any of these
    unreliable; the Handbook advises caution and a sensitivity analysis. Needs n >= 5.
    """
    a = _number("The first quartile", q1)
    m = _number("The median", median)
    b = _number("The third quartile", q3)
    size = _count("The sample size", n, MIN_N_QUANTILES)
    _ordered([("first quartile", a), ("median", m), ("third quartile", b)])
    if _mean_method(mean_method) == "wan":
        mean = (a + m + b) / 3
    else:
        w = 0.7 + 0.39 / size
        mean = w * (a + b) / 2 + (1 - w) * m
    return MeanSD(mean=mean, sd=(b - a) / _blom_iqr(size))


def mean_sd_from_median_range(minimum, median, maximum, n, *, mean_method: str = "wan") -> MeanSD:
    """Mean and SD from the median, minimum, maximum and sample size.

    Wan et al. (2014), scenario C1, assuming roughly normal data:
    mean = (a + 2m + b) / 4 (as metafor's ``conv.fivenum(method="wan2014")``; R's meta package
    keeps Hozo et al.'s small-sample term (a - 2m + b)/(4n));
    SD = (b - a) / xi(n), xi(n) = 2 Phi^-1((n - 0.375) / (n + 0.25)) (equation 9; metafor uses
    this formula for every n). ``mean_method="luo"``: Luo et al. (2018)
    mean = w (a + b)/2 + (1 - w) m, w = 4 / (4 + n^0.75). Ranges depend on extreme values; the
    Handbook (6.5.2.6) warns they give unreliable SDs, especially for skewed data. Needs n >= 5.
    """
    a = _number("The minimum", minimum)
    m = _number("The median", median)
    b = _number("The maximum", maximum)
    size = _count("The sample size", n, MIN_N_QUANTILES)
    _ordered([("minimum", a), ("median", m), ("maximum", b)])
    if _mean_method(mean_method) == "wan":
        mean = (a + 2 * m + b) / 4
    else:
        w = 4 / (4 + size**0.75)
        mean = w * (a + b) / 2 + (1 - w) * m
    return MeanSD(mean=mean, sd=(b - a) / _blom_range(size))


def mean_sd_from_five_numbers(
    minimum, q1, median, q3, maximum, n, *, mean_method: str = "wan", sd_method: str = "wan"
) -> MeanSD:
    """Mean and SD from the five-number summary (minimum, quartiles, median, maximum) and n.

    Wan et al. (2014), scenario C2: mean = (a + 2 q1 + 2 m + 2 q3 + b) / 8 (equation 10);
    SD = ((b - a) / xi(n) + (q3 - q1) / eta(n)) / 2 (equation 13), with xi and eta as in
    :func:`mean_sd_from_median_range` and :func:`mean_sd_from_median_iqr`.
    ``mean_method="luo"``: Luo et al. (2018) mean = w1 (a+b)/2 + w2 (q1+q3)/2 + (1-w1-w2) m,
    w1 = 2.2 / (2.2 + n^0.75), w2 = 0.7 - 0.72 / n^0.55. ``sd_method="shi"``: Shi et al.
    (2020) SD = w (b - a)/xi(n) + (1 - w)(q3 - q1)/eta(n), w = 1 / (1 + 0.07 n^0.6). (Luo's mean
    with Shi's SD is the default of ``conv.fivenum`` in metafor versions after 3.8-1.)
    Needs n >= 5.
    """
    a = _number("The minimum", minimum)
    lo = _number("The first quartile", q1)
    m = _number("The median", median)
    hi = _number("The third quartile", q3)
    b = _number("The maximum", maximum)
    size = _count("The sample size", n, MIN_N_QUANTILES)
    _ordered(
        [
            ("minimum", a),
            ("first quartile", lo),
            ("median", m),
            ("third quartile", hi),
            ("maximum", b),
        ]
    )
    if hi == lo:
        raise MetaAnalysisError(
            f"The first and third quartiles are equal ({lo:g}); use mean_sd_from_median_range."
        )
    if _mean_method(mean_method) == "wan":
        mean = (a + 2 * lo + 2 * m + 2 * hi + b) / 8
    else:
        w1 = 2.2 / (2.2 + size**0.75)
        w2 = 0.7 - 0.72 / size**0.55
        mean = w1 * (a + b) / 2 + w2 * (lo + hi) / 2 + (1 - w1 - w2) * m
    from_range = (b - a) / _blom_range(size)
    from_iqr = (hi - lo) / _blom_iqr(size)
    if sd_method == "wan":
        sd = (from_range + from_iqr) / 2
    elif sd_method == "shi":
        w = 1 / (1 + 0.07 * size**0.6)
        sd = w * from_range + (1 - w) * from_iqr
    else:
        raise MetaAnalysisError(f"sd_method must be 'wan' or 'shi' (got {sd_method!r}).")
    return MeanSD(mean=mean, sd=sd)


# --------------------------------------------------------------------------------------------
# standardised mean differences from test statistics


def hedges_correction(n1, n2) -> float:
    """Exact small-sample bias correction of Cohen's d (Hedges 1981), as metafor's escalc:

    J = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)), m = n1 + n2 - 2, computed as
    exp(lgamma(m/2) - log(sqrt(m/2)) - lgamma((m-1)/2)). Needs n1 + n2 > 3.
    """
    a = _count("The size of group 1", n1, 1)
    b = _count("The size of group 2", n2, 1)
    m = a + b - 2
    if m <= 1:
        raise MetaAnalysisError(f"Hedges' correction needs n1 + n2 > 3 (got n1 + n2 = {a + b:g}).")
    return math.exp(
        float(gammaln(m / 2)) - math.log(math.sqrt(m / 2)) - float(gammaln((m - 1) / 2))
    )


def d_from_t(t, n1, n2) -> float:
    """Cohen's d from an independent two-sample t statistic: d = t sqrt(1/n1 + 1/n2).

    (t = (M1 - M2) / (sp sqrt(1/n1 + 1/n2)), so this is (M1 - M2)/sp exactly; metafor's escalc
    does the same with ``ti=``.) The sign of t must follow group 1 minus group 2.
    """
    tv = _number("The t statistic", t)
    a = _count("The size of group 1", n1, 1)
    b = _count("The size of group 2", n2, 1)
    return tv * math.sqrt(1 / a + 1 / b)


def smd_from_t(t, n1, n2) -> SMDResult:
    """Hedges' g and its variance from an independent two-sample (pooled-variance) t statistic.

    d = t sqrt(1/n1 + 1/n2); g = J d with the exact J of :func:`hedges_correction`;
    vi = 1/n1 + 1/n2 + g^2 / (2 (n1 + n2)) (metafor's SMD with ``vtype="LS"``). Identical to
    ``escalc("SMD", ...)`` from the means and SDs that produced t, and to metafor's
    ``escalc("SMD", ti=t, n1i=n1, n2i=n2)``. Not for paired or Welch t statistics.
    """
    d = d_from_t(t, n1, n2)
    a, b = float(n1), float(n2)
    j = hedges_correction(a, b)
    g = j * d
    return SMDResult(yi=g, vi=1 / a + 1 / b + g**2 / (2 * (a + b)), d=d, j=j)


def _sign(sign) -> float:
    if sign not in (1, -1):
        raise MetaAnalysisError(
            "sign must be +1 (group 1 mean above group 2) or -1 (below); an F statistic or "
            "a two-sided P value does not tell the direction."
        )
    return float(sign)


def smd_from_f(f, n1, n2, *, sign: int) -> SMDResult:
    """Hedges' g from the F statistic of a one-way ANOVA of two groups (1 numerator df).

    With two groups F = t^2, so t = sign * sqrt(F); the caller gives the direction
    (``sign=+1`` if group 1's mean is higher, ``-1`` if lower). Then as :func:`smd_from_t`.
    """
    fv = _number("The F statistic", f)
    if fv < 0:
        raise MetaAnalysisError(f"An F statistic cannot be negative (got {fv:g}).")
    return smd_from_t(_sign(sign) * math.sqrt(fv), n1, n2)


def smd_from_p(p, n1, n2, *, sign: int) -> SMDResult:
    """Hedges' g from the two-sided P value of a two-sample t test.

    t = sign * t_{1-p/2, n1+n2-2} (the t statistic a pooled-variance t test with that P value
    had), then as
    :func:`smd_from_t`. The P value must be exact (not "p < 0.05").
    """
    pv = _number("The P value", p)
    if not 0 < pv <= 1:
        raise MetaAnalysisError(f"The P value must be in (0, 1] (got {pv:g}).")
    a = _count("The size of group 1", n1, 1)
    b = _count("The size of group 2", n2, 1)
    if a + b <= 3:
        raise MetaAnalysisError(f"An SMD needs n1 + n2 > 3 (got n1 + n2 = {a + b:g}).")
    t = _sign(sign) * float(student_t.isf(pv / 2, a + b - 2))
    return smd_from_t(t, a, b)


# --------------------------------------------------------------------------------------------
# correlations


def r_to_z(r) -> float:
    """Fisher's z = atanh(r) = ln((1 + r)/(1 - r)) / 2 (variance 1/(n - 3)); metafor's ZCOR."""
    x = _number("The correlation", r)
    if not -1 < x < 1:
        raise MetaAnalysisError(
            f"The correlation must be strictly between -1 and 1 for Fisher's z (got {x:g})."
        )
    return math.atanh(x)


def z_to_r(z) -> float:
    """Back-transform Fisher's z to a correlation: r = tanh(z)."""
    return math.tanh(_number("Fisher's z", z))


# --------------------------------------------------------------------------------------------
# converting to r (correlational reviews) and from r


def _groups_a(n1, n2) -> float:
    """Borenstein et al.'s a = (n1 + n2)^2 / (n1 n2) (4 for equal groups, or when not given)."""
    if n1 is None and n2 is None:
        return 4.0
    if n1 is None or n2 is None:
        raise MetaAnalysisError("Give both group sizes, or neither (equal groups).")
    a = _count("The size of group 1", n1, 1)
    b = _count("The size of group 2", n2, 1)
    return (a + b) ** 2 / (a * b)


def _r(name: str, value) -> float:
    x = _number(name, value)
    if not -1 < x < 1:
        raise MetaAnalysisError(f"{name} must be strictly between -1 and 1 (got {x:g}).")
    return x


def r_from_d(d, n1=None, n2=None) -> float:
    """The (point-biserial) correlation from a standardised mean difference:
    r = d / sqrt(d^2 + a), a = (n1 + n2)^2 / (n1 n2), a = 4 for equal or unknown group sizes
    (Borenstein, Hedges, Higgins & Rothstein 2009, *Introduction to Meta-Analysis*, eq. 7.5)."""
    dv = _number("The standardised mean difference", d)
    return dv / math.sqrt(dv * dv + _groups_a(n1, n2))


def d_from_r(r, n1=None, n2=None) -> float:
    """The standardised mean difference from a (point-biserial) correlation, the inverse of
    :func:`r_from_d`: d = r sqrt(a) / sqrt(1 - r^2) (2r / sqrt(1 - r^2) for equal groups;
    Borenstein et al. 2009, eq. 7.6)."""
    rv = _r("The correlation", r)
    return rv * math.sqrt(_groups_a(n1, n2)) / math.sqrt(1 - rv * rv)


def r_from_log_or(log_or, n1=None, n2=None) -> float:
    """r from a log odds ratio, through d = ln(OR) sqrt(3) / pi (the logistic distribution's
    SD; Chinn 2000, *Stat Med* 19:3127; Borenstein et al. 2009, eq. 7.1), then
    :func:`r_from_d`."""
    lo = _number("The log odds ratio", log_or)
    return r_from_d(lo * math.sqrt(3) / math.pi, n1, n2)


def r_from_or(odds_ratio, n1=None, n2=None) -> float:
    """r from an odds ratio (as printed, not logged): :func:`r_from_log_or` of ln(OR)."""
    return r_from_log_or(math.log(_positive("The odds ratio", odds_ratio)), n1, n2)


def r_from_t(t, df) -> float:
    """r from a t statistic with df degrees of freedom (a two-group t test, df = n1 + n2 - 2,
    or the test of a correlation, df = n - 2): r = t / sqrt(t^2 + df) (Rosenthal 1991,
    *Meta-Analytic Procedures for Social Research*, eq. 2.16). The sign is t's."""
    tv = _number("The t statistic", t)
    return tv / math.sqrt(tv * tv + _positive("The degrees of freedom", df))


def r_from_f(f, df_error, *, sign: int) -> float:
    """r from an F statistic with 1 numerator degree of freedom: r = sign sqrt(F / (F +
    df_error)) (F = t^2; Rosenthal 1991, eq. 2.17). F has no direction: ``sign`` gives it."""
    fv = _number("The F statistic", f)
    if fv < 0:
        raise MetaAnalysisError(f"An F statistic cannot be negative (got {fv:g}).")
    return _sign(sign) * math.sqrt(fv / (fv + _positive("The error degrees of freedom", df_error)))


def r_from_chi2(chi2, n, *, sign: int) -> float:
    """r (the phi coefficient) from a chi-square statistic with 1 degree of freedom on n
    observations: r = sign sqrt(chi2 / n) (Rosenthal 1991, eq. 2.18). ``sign`` gives the
    direction, which chi-square does not."""
    cv = _number("The chi-square statistic", chi2)
    if cv < 0:
        raise MetaAnalysisError(f"A chi-square statistic cannot be negative (got {cv:g}).")
    nv = _count("The number of observations", n, 1)
    if cv > nv:
        raise MetaAnalysisError(
            f"A 1-df chi-square cannot exceed the number of observations (chi2 = {cv:g}, "
            f"n = {nv:g}): phi would be above 1."
        )
    return _sign(sign) * math.sqrt(cv / nv)


def r_from_beta(beta) -> float:
    """r from a standardised regression coefficient: r = beta + 0.05 lambda, lambda = 1 when
    beta >= 0 and 0 otherwise (Peterson & Brown 2005, *J Appl Psychol* 90:175, eq. 2). Their
    formula holds for |beta| < 0.5; larger coefficients are refused."""
    bv = _number("The standardised coefficient (beta)", beta)
    if not -0.5 < bv < 0.5:
        raise MetaAnalysisError(
            f"Peterson & Brown's conversion holds for standardised coefficients between -0.5 "
            f"and 0.5 (got {bv:g})."
        )
    return bv + (0.05 if bv >= 0 else 0.0)


def _split(n1, n2) -> tuple[float, float]:
    a = _count("The size of group 1", n1, 1)
    b = _count("The size of group 2", n2, 1)
    p = a / (a + b)
    return p, float(norm.pdf(norm.ppf(p)))


def biserial_from_point_biserial(r_pb, n1, n2) -> float:
    """The biserial correlation (the dichotomy seen as a cut of a normal variable) from the
    point-biserial one: r_b = r_pb sqrt(p q) / phi(z_p), p = n1 / (n1 + n2), phi the normal
    density at its quantile z_p (Jacobs & Viechtbauer 2017, *Res Synth Methods* 8:161, eq. 7;
    metafor's RBIS). The result may exceed 1 in absolute value when the data are not normal;
    that is refused."""
    rv = _r("The point-biserial correlation", r_pb)
    p, density = _split(n1, n2)
    out = rv * math.sqrt(p * (1 - p)) / density
    if not -1 < out < 1:
        raise MetaAnalysisError(
            f"The biserial correlation would be {out:.3f}, outside (-1, 1): the continuous "
            "variable is far from normal within the groups."
        )
    return out


def point_biserial_from_biserial(r_b, n1, n2) -> float:
    """The point-biserial correlation from the biserial one: r_pb = r_b phi(z_p) / sqrt(p q)
    (the inverse of :func:`biserial_from_point_biserial`)."""
    rv = _r("The biserial correlation", r_b)
    p, density = _split(n1, n2)
    return rv * density / math.sqrt(p * (1 - p))
