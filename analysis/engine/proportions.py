"""Single proportions as metafor and R's meta compute them.

* Transforms with study variances (metafor's ``escalc(measure, xi, ni)``; meta's ``metaprop``
  ``sm``): **PFT** Freeman-Tukey double arcsine ``yi = (asin(sqrt(xi/(ni+1))) +
  asin(sqrt((xi+1)/(ni+1)))) / 2``, ``vi = 1/(4 ni + 2)`` (metafor 3.8-1 and meta 8.4-0 use the
  same, halved, scale; older metafor versions and some papers use the sum, twice this);
  **PAS** arcsine ``asin(sqrt(xi/ni))``, ``vi = 1/(4 ni)``; **PLN** log ``log(xi/ni)``,
  ``vi = 1/xi - 1/ni``; PLO (logit) and PR (raw) are in :mod:`effect_sizes`. PFT and PAS
  need no continuity correction; PLN (like PLO, PR) adds ``add`` to ``xi`` and ``ni - xi``
  of a study with ``xi = 0`` or ``xi = ni`` (``to = "only0"``).
* Back-transforms: :func:`transf_ipft` (Miller 1978; metafor's ``transf.ipft(xi, ni)``, each
  study's own n), :func:`transf_ipft_hm` (the same with the **harmonic mean** of the n, for
  pooled values and intervals: metafor's ``transf.ipft.hm``, meta's default for PFT),
  :func:`transf_iarcsin` (``sin(x)^2``), ``exp`` for PLN, ``expit`` for PLO.
* :func:`clopper_pearson`: exact binomial study intervals (meta's ``method.ci = "CP"``,
  R's ``binom.test()``), from beta quantiles.
* :func:`metaprop`: meta's ``metaprop(event, n, sm, method)`` with meta 8.4-0's defaults,
  returning meta's quantities under meta's names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.special import expit

from analysis.engine.effect_sizes import EffectSizes
from analysis.engine.errors import MetaAnalysisError
from analysis.engine.glmm import check_counts, rma_glmm

PROPORTION_MEASURES = ("PFT", "PAS", "PLN")
META_SM = {"PLOGIT": "PLO", "PFT": "PFT", "PAS": "PAS", "PLN": "PLN", "PRAW": "PR"}


# ---------------------------------------------------------------------------- transforms


def escalc_proportion(measure: str, *, xi=None, ni=None, slab=None, add: float = 0.5,
                      to: str = "only0") -> EffectSizes:
    """metafor's ``escalc(measure = "PFT" | "PAS" | "PLN", xi, ni, add = 1/2, to = "only0")``
    (also reached through :func:`analysis.engine.escalc`). Equal to meta's ``metaprop`` study
    ``TE``/``seTE^2`` for ``sm = "PFT"``, ``"PAS"`` and ``"PLN"``."""
    measure = str(measure).upper()
    if measure not in PROPORTION_MEASURES:
        raise MetaAnalysisError(
            f"Unknown proportion measure {measure!r}; use one of {', '.join(PROPORTION_MEASURES)}."
        )
    x, n, slab = check_counts(xi, ni, slab)
    corrected = np.zeros(x.shape, dtype=bool)
    if measure == "PFT":
        y = transf_pft(x / n, n)
        v = 1.0 / (4.0 * n + 2.0)
    elif measure == "PAS":
        y = np.arcsin(np.sqrt(x / n))
        v = 1.0 / (4.0 * n)
    else:  # PLN
        m = n - x
        zero = (x == 0) | (m == 0)
        if to == "all":
            corrected = np.ones_like(zero)
        elif to == "only0":
            corrected = zero
        elif to == "if0all":
            corrected = np.full_like(zero, bool(zero.any()))
        elif to != "none":
            raise MetaAnalysisError(f"Unknown 'to' {to!r}; use one of all, only0, if0all, none.")
        shift = np.where(corrected, add, 0.0)
        xs, ns = x + shift, n + 2.0 * shift
        with np.errstate(divide="ignore"):
            y = np.log(xs / ns)
            v = 1.0 / xs - 1.0 / ns
        bad = ~(np.isfinite(y) & np.isfinite(v))
        if bad.any():
            from analysis.engine.errors import study_name

            i = int(np.flatnonzero(bad)[0])
            raise MetaAnalysisError(
                f"Cannot take the log of a zero proportion in {study_name(i, slab)} "
                f"(xi = 0 with to = {to!r}); use to = 'only0' or another measure."
            )
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float) * np.ones_like(y)
    labels = slab if slab is not None else tuple(str(i + 1) for i in range(y.shape[0]))
    return EffectSizes(
        yi=y, vi=v, measure=measure, slab=slab,
        corrected=tuple(labels[i] for i in np.flatnonzero(corrected)),
    )


def transf_pft(xi, ni):
    """metafor's ``transf.pft(xi, ni)``: the Freeman-Tukey double arcsine of a proportion
    ``xi`` with sample size ``ni`` (``x = xi ni`` events)."""
    p = np.asarray(xi, dtype=float)
    n = np.asarray(ni, dtype=float)
    x = p * n
    out = 0.5 * (np.arcsin(np.sqrt(x / (n + 1.0))) + np.arcsin(np.sqrt((x + 1.0) / (n + 1.0))))
    return out if out.ndim else float(out)


def transf_ipft(xi, ni):
    """metafor's ``transf.ipft(xi, ni)`` (meta's ``asin2p(x, n)``): Miller's (1978) inverse of
    the Freeman-Tukey double arcsine, ``p = (1 - sgn(cos 2t) sqrt(1 - (sin 2t + (sin 2t -
    1/sin 2t)/n)^2)) / 2``, 0 below ``transf_pft(0, n)`` and 1 above ``transf_pft(1, n)``."""
    t = np.asarray(xi, dtype=float)
    n = np.broadcast_to(np.asarray(ni, dtype=float), t.shape) if t.ndim else float(ni)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sin(2.0 * t)
        z = 0.5 * (1.0 - np.sign(np.cos(2.0 * t)) * np.sqrt(1.0 - (s + (s - 1.0 / s) / n) ** 2))
    lo = transf_pft(0.0, n)
    hi = transf_pft(1.0, n)
    z = np.where(t > hi, 1.0, np.where(t < lo, 0.0, z))
    # At the end points themselves rounding can leave sqrt() a tiny negative argument.
    z = np.where(np.isnan(z) & np.isfinite(t) & (t >= hi), 1.0, z)
    z = np.where(np.isnan(z) & np.isfinite(t) & (t <= lo), 0.0, z)
    return z if z.ndim else float(z)


def harmonic_mean(ni) -> float:
    """Harmonic mean of the sample sizes, ``1 / mean(1 / ni)`` (metafor's ``transf.ipft.hm``)."""
    n = np.asarray(ni, dtype=float).reshape(-1)
    if n.size == 0 or not np.all(np.isfinite(n)) or np.any(n <= 0):
        raise MetaAnalysisError("The harmonic mean needs positive, finite sample sizes.")
    return float(1.0 / np.mean(1.0 / n))


def transf_ipft_hm(xi, ni):
    """metafor's ``transf.ipft.hm(xi, targs = list(ni = ni))``: Miller's inverse with the
    harmonic mean of all studies' ``ni``, for pooled estimates, CIs and prediction intervals
    (meta's back-transformation of ``sm = "PFT"`` pooled values)."""
    return transf_ipft(xi, harmonic_mean(ni))


def transf_iarcsin(xi):
    """metafor's ``transf.iarcsin``: ``sin(x)^2``, 0 below 0 and 1 above pi/2 (meta's PAS)."""
    t = np.asarray(xi, dtype=float)
    z = np.sin(t) ** 2
    z = np.where(t < 0, 0.0, np.where(t > math.asin(1.0), 1.0, z))
    return z if z.ndim else float(z)


def clopper_pearson(xi, ni, level: float = 95) -> tuple[np.ndarray, np.ndarray]:
    """Clopper-Pearson exact intervals of ``xi / ni`` (R's ``binom.test()$conf.int``, meta's
    ``method.ci = "CP"``): ``qbeta(a/2, x, n - x + 1)`` and ``qbeta(1 - a/2, x + 1, n - x)``,
    0 for ``x = 0`` and 1 for ``x = n``. ``level`` in percent (or as a proportion below 1)."""
    alpha = _alpha(level)
    x, n, _ = check_counts(xi, ni)
    lower = np.where(x > 0, stats.beta.ppf(alpha / 2, np.maximum(x, 1e-300), n - x + 1), 0.0)
    upper = np.where(x < n, stats.beta.ppf(1 - alpha / 2, x + 1, np.maximum(n - x, 1e-300)), 1.0)
    return lower, upper


def _alpha(level) -> float:
    level = float(level)
    if 0 < level < 1:
        level *= 100
    if not (0 < level < 100):
        raise MetaAnalysisError(f"'level' must be between 0 and 100 (got {level:g}).")
    return (100.0 - level) / 100.0


def _transform(p, n, sm):
    """A proportion (e.g. a CP bound) on the analysis scale of ``sm`` with that study's n."""
    with np.errstate(divide="ignore"):
        if sm == "PLOGIT":
            return np.log(p / (1.0 - p))
        if sm == "PFT":
            return transf_pft(p, n)
        if sm == "PAS":
            return np.arcsin(np.sqrt(p))
        if sm == "PLN":
            return np.log(p)
        return np.asarray(p, dtype=float)


def _backtransform(t, sm, n):
    t = np.asarray(t, dtype=float)
    if sm == "PLOGIT":
        return expit(t)
    if sm == "PFT":
        return transf_ipft(t, n)
    if sm == "PAS":
        return transf_iarcsin(t)
    if sm == "PLN":
        return np.exp(t)
    return t


# ---------------------------------------------------------------------------- metaprop


@dataclass(frozen=True, eq=False)
class MetapropResult:
    """meta's ``metaprop`` object, in the layout of tests/data/meta_pkg (meta's names):
    ``studies`` (TE, seTE, lower, upper, w.common, w.random, *_backtransf), ``common``,
    ``random`` (TE, seTE, lower, upper, df.random, seTE.classic, *_backtransf), ``prediction``
    (lower.predict, upper.predict, seTE.predict, df.predict, *_backtransf), ``heterogeneity``
    (tau2, tau, I2 and H with Higgins-Thompson bounds, Q, df.Q, pval.Q; for the GLMM Q and
    pval.Q are (Wald, LRT) lists), ``counts`` and ``settings``. ``fit`` is the underlying
    random-effects fit (RMAResult or GLMMResult)."""

    studies: dict
    common: dict
    random: dict
    prediction: dict
    heterogeneity: dict
    counts: dict
    settings: dict
    fit: object = field(default=None, repr=False)
    fit_common: object = field(default=None, repr=False)
    # the call (event, n, studlab and options), for meta_style's metainf refits
    call: dict | None = field(default=None, repr=False)


def _i2_h_from_q(q: float, k: int, alpha: float) -> dict:
    """meta's I^2 = max(0, (Q - df)/Q), H = sqrt(Q/df) and the Higgins-Thompson (2002) CIs
    (NaN bounds, R's NA, only for k = 2 with Q <= 2, where meta's formula divides by 0)."""
    df = k - 1
    out = {"I2": math.nan, "lower.I2": math.nan, "upper.I2": math.nan,
           "H": math.nan, "lower.H": math.nan, "upper.H": math.nan}
    if df < 1 or not math.isfinite(q):
        return out
    h = max(1.0, math.sqrt(q / df))
    out["H"] = h
    out["I2"] = max(0.0, (q - df) / q) if q > 0 else 0.0
    if q > k:
        se_log_h = 0.5 * (math.log(q) - math.log(df)) / (math.sqrt(2 * q) - math.sqrt(2 * k - 3))
    elif k > 2:
        se_log_h = math.sqrt(1 / (2 * (k - 2)) * (1 - 1 / (3 * (k - 2) ** 2)))
    else:  # k = 2 and Q <= 2: meta's formula divides by k - 2 (NA in R)
        return out
    z = stats.norm.ppf(1 - alpha / 2)
    lh = max(1.0, math.exp(math.log(h) - z * se_log_h))
    uh = max(1.0, math.exp(math.log(h) + z * se_log_h))
    out.update({"lower.H": lh, "upper.H": uh, "lower.I2": (lh * lh - 1) / (lh * lh),
                "upper.I2": (uh * uh - 1) / (uh * uh)})
    return out


def metaprop(
    event,
    n,
    studlab=None,
    *,
    sm: str = "PLOGIT",
    method: str | None = None,
    incr: float = 0.5,
    method_incr: str = "only0",
    level: float = 0.95,
    level_ma: float | None = None,
    method_random_ci: str = "classic",
    method_predict: str = "V",
) -> MetapropResult:
    """R meta 8.4-0's ``metaprop(event, n, studlab, sm = "PLOGIT", method, incr = 0.5,
    method.incr = "only0", level = 0.95, method.random.ci = "classic", method.predict = "V")``
    with meta's defaults (``method.tau = "REML"``, ``method.ci = "CP"``, ``method.I2 = "Q"``).

    ``method`` defaults to ``"GLMM"`` for ``sm = "PLOGIT"`` (metafor's ``rma.glmm``: random =
    ML with nAGQ = 7, common = EE, Q = Wald and LRT) and ``"Inverse"`` otherwise (common =
    inverse variance, random = REML via metafor's ``rma.uni``). Study CIs are Clopper-Pearson,
    transformed to the analysis scale with each study's n. Pooled PFT values are
    back-transformed with the harmonic mean of the n. ``method_random_ci="HK"`` is meta's
    ``update(m, method.random.ci = "HK")`` (Hartung-Knapp, t(k-1), not truncated; for the
    GLMM the GLMM's se with t(k-1), metafor's ``rma.glmm(test = "t")``);
    ``method_predict`` ``"V"`` (t(k-1), meta's default), ``"HTS"`` (t(k-2)) or ``"z"``.
    ``sm = "PLN"`` and ``"PRAW"`` follow metafor's ``escalc`` for the zero-cell correction.
    """
    from analysis.engine.model import rma

    sm = str(sm).upper()
    if sm not in META_SM:
        raise MetaAnalysisError(f"Unknown sm {sm!r}; use one of {', '.join(META_SM)}.")
    if method is None:
        method = "GLMM" if sm == "PLOGIT" else "Inverse"
    if method not in ("GLMM", "Inverse"):
        raise MetaAnalysisError(f"Unknown method {method!r} for metaprop; use 'GLMM' or 'Inverse'.")
    if method == "GLMM" and sm != "PLOGIT":
        raise MetaAnalysisError("metaprop's method = 'GLMM' needs sm = 'PLOGIT' (as in R's meta).")
    if method_random_ci not in ("classic", "HK"):
        raise MetaAnalysisError("method_random_ci must be 'classic' or 'HK'.")
    if method_predict not in ("V", "HTS", "z"):
        raise MetaAnalysisError("method_predict must be 'V', 'HTS' or 'z'.")
    for name, value in (("level", level), ("level_ma", level_ma)):
        if value is not None and not (0 < float(value) < 1):
            raise MetaAnalysisError(
                f"'{name}' must be between 0 and 1, as in meta (got {value!r})."
            )
    alpha = _alpha(level)
    alpha_ma = _alpha(level if level_ma is None else level_ma)
    x, nn, slab = check_counts(event, n, studlab)
    k = int(x.shape[0])
    if k < 2:
        raise MetaAnalysisError(
            f"metaprop pools at least 2 studies; got {k}. Use clopper_pearson() for one study."
        )
    measure = META_SM[sm]
    if measure in ("PLO", "PR"):
        from analysis.engine.effect_sizes import escalc

        es = escalc(measure, xi=x, ni=nn, slab=slab, add=incr, to=method_incr)
    else:
        es = escalc_proportion(measure, xi=x, ni=nn, slab=slab, add=incr, to=method_incr)
    te, se = es.yi, np.sqrt(es.vi)
    cp_lo, cp_hi = clopper_pearson(x, nn, level=100 * (1 - alpha))
    studies = {
        "studlab": list(slab) if slab is not None else [str(i + 1) for i in range(k)],
        "TE": te, "seTE": se,
        "lower": _transform(cp_lo, nn, sm), "upper": _transform(cp_hi, nn, sm),
        # each study's own n for PFT (the pooled values use the harmonic mean)
        "TE_backtransf": _backtransform(te, sm, nn),
        "lower_backtransf": cp_lo, "upper_backtransf": cp_hi,
    }
    n_back = harmonic_mean(nn) if sm == "PFT" else None

    z_ma = stats.norm.ppf(1 - alpha_ma / 2)
    iv_common = rma(te, es.vi, method="EE", slab=slab)
    heterogeneity = {}
    if method == "GLMM":
        ee = rma_glmm(xi=x, ni=nn, method="EE", slab=slab)
        ml = rma_glmm(xi=x, ni=nn, method="ML", slab=slab)
        c_te, c_se, r_te, r_se, tau2 = ee.b, ee.se, ml.b, ml.se, ml.tau2
        q = [ml.qe_wld, ml.qe_lrt]
        pq = [ml.qep_wld, ml.qep_lrt]
        q_for_i2 = ml.qe_wld
        fit, fit_common = ml, ee
        studies["w.common"] = np.full(k, math.nan)
        studies["w.random"] = np.full(k, math.nan)
        # meta's HK for the GLMM is rma.glmm(test = "t"): the same se with t(k - 1)
        random_df = k - 1 if method_random_ci == "HK" else None
        # meta's seTE.classic of a GLMM: the DerSimonian-Laird inverse-variance se of the TE
        se_classic_iv = rma(te, es.vi, method="DL", slab=slab).se
    else:
        re = rma(te, es.vi, method="REML", slab=slab)
        c_te, c_se = iv_common.b, iv_common.se
        r_te, r_se, tau2 = re.b, re.se, re.tau2
        q, pq = iv_common.qe, iv_common.qep
        q_for_i2 = q
        fit, fit_common = re, iv_common
        studies["w.common"] = 1.0 / es.vi
        studies["w.random"] = 1.0 / (es.vi + tau2)
        random_df = None
        se_classic_iv = re.se
        if method_random_ci == "HK":
            hk = rma(te, es.vi, method="REML", test="knha", slab=slab)
            r_se, random_df = hk.se, k - 1
    crit_r = z_ma if random_df is None else stats.t.ppf(1 - alpha_ma / 2, random_df)
    common = {"TE": c_te, "seTE": c_se, "lower": c_te - z_ma * c_se, "upper": c_te + z_ma * c_se}
    random = {"TE": r_te, "seTE": r_se, "lower": r_te - crit_r * r_se,
              "upper": r_te + crit_r * r_se, "df.random": random_df,
              "seTE.classic": se_classic_iv,
              "method.random.ci": method_random_ci}
    for block in (common, random):
        for key in ("TE", "lower", "upper"):
            block[f"{key}_backtransf"] = float(_backtransform(block[key], sm, n_back))

    # prediction interval (meta's "V": t(k-1); "HTS": t(k-2); "z": normal)
    se_classic = fit.se
    se_pred = math.sqrt(se_classic**2 + tau2)
    df_pred = {"V": k - 1, "HTS": k - 2, "z": None}[method_predict]
    if df_pred is not None and df_pred < 1:
        lo_p = hi_p = math.nan
    else:
        crit_p = z_ma if df_pred is None else stats.t.ppf(1 - alpha_ma / 2, df_pred)
        lo_p, hi_p = r_te - crit_p * se_pred, r_te + crit_p * se_pred
    prediction = {"lower.predict": lo_p, "upper.predict": hi_p, "seTE.predict": se_pred,
                  "df.predict": df_pred, "method.predict": method_predict}
    prediction["lower_backtransf"] = float(_backtransform(lo_p, sm, n_back))
    prediction["upper_backtransf"] = float(_backtransform(hi_p, sm, n_back))

    heterogeneity = {"tau2": tau2, "tau": math.sqrt(tau2), "Q": q, "df.Q": k - 1, "pval.Q": pq}
    heterogeneity.update(_i2_h_from_q(q_for_i2, k, alpha))
    if method == "GLMM":
        heterogeneity["Q_names"] = ["Wald", "LRT"]
    settings = {"sm": sm, "method": method,
                "method.tau": "ML" if method == "GLMM" else "REML",
                "method.random.ci": method_random_ci, "method.predict": method_predict,
                "method.ci": "CP", "method.I2": "Q", "incr": incr, "method.incr": method_incr,
                "level": 1 - alpha, "level.ma": 1 - alpha_ma}
    return MetapropResult(
        studies=studies, common=common, random=random, prediction=prediction,
        heterogeneity=heterogeneity, counts={"k": k, "k.all": k}, settings=settings,
        fit=fit, fit_common=fit_common,
        call={"event": x, "n": nn, "studlab": slab,
              "options": {"sm": sm, "method": method, "incr": incr, "method_incr": method_incr,
                          "level": level, "level_ma": level_ma,
                          "method_random_ci": method_random_ci,
                          "method_predict": method_predict}},
    )
