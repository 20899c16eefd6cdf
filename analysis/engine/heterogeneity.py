"""Heterogeneity statistics as R's meta reports them (meta 8.4-0, ``hetcalc``/``isquared``).

metafor derives I^2 and H^2 from tau^2 (``rma()``: I^2 = tau^2 / (tau^2 + vt)) and their
intervals from the Q-profile bounds of tau^2 (``confint()``); meta derives them from Q alone
(``method.I2 = "Q"``, Higgins & Thompson 2002):

* ``I2 = max(0, (Q - df) / Q)``, ``H = max(1, sqrt(Q / df))``, df = k - 1;
* ``se(log H) = (log Q - log df) / (2 (sqrt(2 Q) - sqrt(2 k - 3)))`` if Q > k, else
  ``sqrt(1 / (2 (k - 2)) (1 - 1 / (3 (k - 2)^2)))`` (NA for k = 2 with Q <= k); H bounds
  ``max(1, exp(log H -/+ z se))`` around the truncated H (so with Q < df the upper bound
  is ``exp(z se)``: meta's ``metainf`` of Fleiss1993bin shows it); I^2 bounds
  ``(H^2 - 1) / H^2``.

Also Crippa et al.'s (2016) ``Rb = mean(tau2 / (tau2 + vi))`` and the Kenward-Roger standard
error of the random-effects estimate (meta's ``seTE.kero``, Partlett & Riley 2017).
Plain numpy/scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.engine._core import pchisq_upper, qnorm_upper
from analysis.engine.errors import MetaAnalysisError


@dataclass(frozen=True)
class HetStat:
    """I^2 (a proportion, 0-1, as meta stores it) and H with Higgins-Thompson intervals, and
    Q with its df and p-value. Bounds are None where meta gives NA (k < 3 with Q <= k)."""

    Q: float
    df_Q: int
    pval_Q: float | None
    I2: float | None
    lower_I2: float | None
    upper_I2: float | None
    H: float | None
    lower_H: float | None
    upper_H: float | None
    level: float

    def as_meta_dict(self) -> dict:
        return {
            "Q": self.Q, "df.Q": self.df_Q, "pval.Q": self.pval_Q,
            "I2": self.I2, "lower.I2": self.lower_I2, "upper.I2": self.upper_I2,
            "H": self.H, "lower.H": self.lower_H, "upper.H": self.upper_H,
        }


def _level_z(level: float) -> float:
    lvl = float(level)
    if lvl > 1:
        lvl /= 100.0
    if not 0 < lvl < 1:
        raise MetaAnalysisError(f"level must be in (0, 1) or (0, 100); got {level!r}.")
    return qnorm_upper((1 - lvl) / 2)


def hetstat_q(Q: float, k: int, *, level: float = 0.95) -> HetStat:
    """I^2 and H from Cochran's Q with Higgins-Thompson confidence intervals: what R's meta
    prints as ``I^2 [CI]`` and ``H [CI]`` (``metagen(..., method.I2 = "Q")``, meta's
    ``isquared()``; ``level.hetstat``). ``level`` as a proportion (0.95) or a percentage.

    With k = 1 there is no heterogeneity to measure: I^2, H and their bounds are None (NA in
    meta), as is the p-value of Q.
    """
    if not (isinstance(Q, (int, float, np.floating)) and math.isfinite(float(Q))) or Q < 0:
        raise MetaAnalysisError(f"Q must be a finite number >= 0 (got {Q!r}).")
    k = int(k)
    if k < 1:
        raise MetaAnalysisError("No studies: Q needs at least one study.")
    z = _level_z(level)
    Q = float(Q)
    df = k - 1
    lvl = float(level) / 100 if float(level) > 1 else float(level)
    if df == 0:
        return HetStat(Q, 0, None, None, None, None, None, None, None, lvl)
    pval = float(pchisq_upper(Q, df))
    H = max(1.0, math.sqrt(Q / df))  # meta reports max(1, sqrt(Q/df)) and centres the CI there
    I2 = max(0.0, (Q - df) / Q) if Q > 0 else 0.0
    if k < Q:
        se_log_h = 0.5 * (math.log(Q) - math.log(df)) / (math.sqrt(2 * Q) - math.sqrt(2 * k - 3))
    elif k > 2:
        se_log_h = math.sqrt(1 / (2 * (k - 2)) * (1 - 1 / (3 * (k - 2) ** 2)))
    else:
        return HetStat(Q, df, pval, I2, None, None, H, None, None, lvl)
    log_h = math.log(H)
    lower_H = max(1.0, math.exp(log_h - z * se_log_h))
    upper_H = max(1.0, math.exp(log_h + z * se_log_h))

    def i2(h: float) -> float:
        return max(0.0, (h * h - 1) / (h * h))

    return HetStat(Q, df, pval, I2, i2(lower_H), i2(upper_H), H, lower_H, upper_H, lvl)


def rb(tau2: float, vi) -> float:
    """Crippa et al.'s (2016) R_b, the proportion of the variance of the random-effects
    estimate due to between-study heterogeneity, as meta's ``Rb``:
    ``mean(tau2 / (tau2 + vi))``. Its confidence interval: :func:`rb_ci`."""
    v = np.asarray(vi, dtype=float)
    if v.size == 0:
        raise MetaAnalysisError("No studies: R_b needs at least one study.")
    if not math.isfinite(tau2) or tau2 < 0:
        raise MetaAnalysisError(f"tau2 must be a finite number >= 0 (got {tau2!r}).")
    den = tau2 + v
    if np.any(den <= 0):
        raise MetaAnalysisError("R_b is undefined with tau2 = 0 and a zero sampling variance.")
    return float(np.mean(tau2 / den))


def kenward_roger_se(vi, tau2: float) -> float:
    """Kenward-Roger standard error of the random-effects estimate of an intercept-only model
    (meta's ``seTE.kero``, ``method.random.ci = "KR"``; Partlett & Riley 2017):
    ``Var = phi + 2 phi^2 (S3 - S2^2 / S1) / I`` with ``w = 1/(vi + tau2)``, ``S_j = sum w^j``,
    ``phi = 1/S1`` and the REML expected information ``I = (S2 - 2 S3/S1 + S2^2/S1^2) / 2``."""
    v = np.asarray(vi, dtype=float)
    w = 1.0 / (v + tau2)
    s1, s2, s3 = float(w.sum()), float((w**2).sum()), float((w**3).sum())
    info = 0.5 * (s2 - 2 * s3 / s1 + s2 * s2 / (s1 * s1))
    phi = 1.0 / s1
    if info <= 0:
        return math.sqrt(phi)
    return math.sqrt(phi + 2 * phi * phi * (s3 - s2 * s2 / s1) / info)


def rb_ci(tau2: float, vi, Q: float, *, level: float = 0.95) -> tuple[float, float, float]:
    """R_b with its confidence interval as meta reports it (``Rb``, ``lower.Rb``,
    ``upper.Rb``): the delta method of Crippa et al. (2016, appendix D), which writes
    ``tau2/(tau2 + v_i)`` through the DerSimonian-Laird relation as
    ``(Q - df)/(Q - df + a_i)``, ``a_i = v_i (S1 - S2/S1)`` with ``w = 1/v_i``, so that
    ``se(R_b) = |mean(a_i / (Q - df + a_i)^2)| * sd(Q)``, with the variance of Q under the
    random-effects model (Biggerstaff & Tweedie 1997)
    ``2 df + 4 (S1 - S2/S1) tau2 + 2 (S2 - 2 S3/S1 + S2^2/S1^2) tau2^2``. The interval
    ``R_b -/+ z se`` is clipped to [0, 1]. Needs k >= 2."""
    v = np.asarray(vi, dtype=float)
    k = v.shape[0]
    if k < 2:
        raise MetaAnalysisError("The confidence interval of R_b needs at least 2 studies.")
    value = rb(tau2, v)
    z = _level_z(level)
    w = 1.0 / v
    s1, s2, s3 = float(w.sum()), float((w**2).sum()), float((w**3).sum())
    c = s1 - s2 / s1
    a = v * c
    df = k - 1
    var_q = 2 * df + 4 * c * tau2 + 2 * (s2 - 2 * s3 / s1 + s2 * s2 / (s1 * s1)) * tau2**2
    se = abs(float(np.mean(a / (Q - df + a) ** 2))) * math.sqrt(var_q)
    return value, max(0.0, value - z * se), min(1.0, value + z * se)
