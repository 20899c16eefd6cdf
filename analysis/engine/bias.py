"""Small-study effects / publication bias: metafor's ``regtest()`` (Egger), ``ranktest()``
(Begg and Mazumdar) and ``trimfill()`` (Duval and Tweedie)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from analysis.engine._core import Projection, qt_upper
from analysis.engine.errors import MetaAnalysisError, study_name
from analysis.engine.model import DEFAULT_CONTROL, METHODS, RMAResult, _level_alpha, fit

# --------------------------------------------------------------------------- regtest


@dataclass(frozen=True, eq=False)
class RegtestResult:
    """metafor's ``regtest()``: test of the predictor's coefficient (``zval`` is a t value when
    ``dfs`` is set), and the limit estimate (the intercept: the effect as the standard error
    goes to 0) with its CI."""

    zval: float
    pval: float
    dfs: int | None
    est: float
    ci_lb: float
    ci_ub: float
    model: str
    predictor: str
    fit: RMAResult | None
    coef: np.ndarray
    se: np.ndarray

    def as_dict(self) -> dict:
        return {
            "zval": self.zval, "pval": self.pval, "dfs": self.dfs, "est": self.est,
            "ci_lb": self.ci_lb, "ci_ub": self.ci_ub, "model": self.model,
            "predictor": self.predictor,
        }


def regtest(res: RMAResult, *, model: str = "rma", predictor: str = "sei") -> RegtestResult:
    """Egger's regression test: metafor's ``regtest(x, model="rma", predictor="sei")``.

    ``model="rma"`` adds the predictor (``sei`` or ``vi``) to the model as a moderator, with
    the model's method, test and control; ``model="lm"`` is the classical Egger test (weighted
    least squares with weights 1/vi and a t test with k - p - 1 degrees of freedom).
    """
    if predictor not in ("sei", "vi"):
        raise MetaAnalysisError("predictor must be 'sei' or 'vi'.")
    if model not in ("rma", "lm"):
        raise MetaAnalysisError("model must be 'rma' or 'lm'.")
    y, v = res.yi, res.vi
    pred = np.sqrt(v) if predictor == "sei" else v
    X = np.column_stack([res.X, pred])
    p = res.p
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise MetaAnalysisError(
            "Model matrix no longer of full rank after addition of predictor. Cannot fit model."
        )
    alpha = _level_alpha(res.level)
    if model == "rma":
        f = fit(y, v, X, (*res.coef_names, predictor), res.method, res.test, res.level,
                res.control, int_incl=res.int_incl, compute_r2=False)
        coef, se = np.asarray(f.b), np.asarray(f.se)
        return RegtestResult(
            zval=float(f.zval[p]), pval=float(f.pval[p]), dfs=f.ddf,
            est=float(coef[0]), ci_lb=float(f.ci_lb[0]), ci_ub=float(f.ci_ub[0]),
            model=model, predictor=predictor, fit=f, coef=coef, se=se,
        )
    k = y.shape[0]
    dfs = k - p - 1
    if dfs <= 0:
        raise MetaAnalysisError("The classical Egger test needs k > p + 1 studies.")
    proj = Projection(X, 1.0 / v)
    coef, resid = proj.resid(y)
    sigma2 = float((resid * resid) @ (1.0 / v)) / dfs
    se = np.sqrt(np.diag(proj.A) * sigma2)
    tval = coef / se
    pval = 2 * special.stdtr(dfs, -np.abs(tval))
    crit = qt_upper(alpha / 2, dfs)
    return RegtestResult(
        zval=float(tval[p]), pval=float(pval[p]), dfs=dfs, est=float(coef[0]),
        ci_lb=float(coef[0] - crit * se[0]), ci_ub=float(coef[0] + crit * se[0]),
        model=model, predictor=predictor, fit=None, coef=coef, se=se,
    )


# --------------------------------------------------------------------------- ranktest


@dataclass(frozen=True, eq=False)
class RanktestResult:
    """metafor's ``ranktest()``: Kendall's tau between standardised effects and variances."""

    tau: float
    pval: float
    exact: bool

    def as_dict(self) -> dict:
        return {"tau": self.tau, "pval": self.pval, "exact": self.exact}


def _pkendall(q: int, n: int) -> float:
    """P(T <= q) for T the number of concordant pairs of n untied pairs (R's pkendall)."""
    if q < 0:
        return 0.0
    total = n * (n - 1) // 2
    if q >= total:
        return 1.0
    counts = np.zeros(total + 1)
    counts[0] = 1.0
    upto = 0
    for m in range(2, n + 1):  # Mahonian numbers: permutations of m with j inversions
        new = np.zeros_like(counts)
        csum = np.cumsum(counts[: upto + 1])
        hi = upto + m - 1
        j = np.arange(hi + 1)
        lo_idx = j - m
        below = np.where(lo_idx >= 0, csum[np.clip(lo_idx, 0, upto)], 0.0)
        new[: hi + 1] = csum[np.minimum(j, upto)] - below
        counts = new
        upto = hi
    return float(counts[: q + 1].sum() / math.factorial(n))


def _kendall_test(x: np.ndarray, y: np.ndarray, exact: bool) -> tuple[float, float, bool]:
    """R's ``cor.test(x, y, method="kendall", exact=exact)`` (two-sided): (tau, p, exact)."""
    n = x.shape[0]
    r = float(stats.kendalltau(x, y).statistic)  # tau-b, as R's cor(method="kendall")
    ties = min(np.unique(x).size, np.unique(y).size) < n
    if exact and not ties:
        q = round((r + 1) * n * (n - 1) / 4)
        p = 1.0 - _pkendall(q - 1, n) if q > n * (n - 1) / 4 else _pkendall(q, n)
        return r, min(2 * p, 1.0), True
    if exact and ties:
        warnings.warn("Cannot compute exact p-value with ties", stacklevel=3)

    def tie_counts(a):
        _, c = np.unique(a, return_counts=True)
        return c[c > 1].astype(float)

    xt, yt = tie_counts(x), tie_counts(y)
    T0 = n * (n - 1) / 2
    T1 = float(np.sum(xt * (xt - 1))) / 2
    T2 = float(np.sum(yt * (yt - 1))) / 2
    S = r * math.sqrt((T0 - T1) * (T0 - T2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt = float(np.sum(xt * (xt - 1) * (2 * xt + 5)))
    vu = float(np.sum(yt * (yt - 1) * (2 * yt + 5)))
    v1 = float(np.sum(xt * (xt - 1))) * float(np.sum(yt * (yt - 1)))
    v2 = float(np.sum(xt * (xt - 1) * (xt - 2))) * float(np.sum(yt * (yt - 1) * (yt - 2)))
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
    z = S / math.sqrt(var_s)
    return r, float(2 * min(special.ndtr(z), special.ndtr(-z))), False


def ranktest(res: RMAResult, *, exact: bool = True) -> RanktestResult:
    """Begg and Mazumdar's rank correlation test: metafor's ``ranktest(x, exact=TRUE)``.

    Kendall's tau between the standardised deviations from the common-effect estimate,
    ``(yi - b) / sqrt(vi - vb)``, and ``vi``. The p-value is exact (the permutation
    distribution) unless ``exact=False`` or there are ties (then, as R, the normal
    approximation with the ties-corrected variance).
    """
    if not res.int_only:
        raise MetaAnalysisError("ranktest() is only available for models without moderators.")
    y, v = res.yi, res.vi
    w = 1.0 / v
    b = float(w @ y) / float(w.sum())
    vb = 1.0 / float(w.sum())
    ystar = (y - b) / np.sqrt(v - vb)
    tau, pval, used_exact = _kendall_test(ystar, v, exact)
    return RanktestResult(tau=tau, pval=pval, exact=used_exact)


# --------------------------------------------------------------------------- trimfill


@dataclass(frozen=True, eq=False)
class TrimfillResult:
    """metafor's ``trimfill()``: the estimated number of missing studies ``k0`` (and its SE),
    the ``side`` they were imputed on, the filled-in studies and the model ``fit`` to the
    observed plus filled studies (the original fit when ``k0 == 0``)."""

    k0: int
    se_k0: float
    side: str
    estimator: str
    p_k0: float | None
    filled_yi: np.ndarray
    filled_vi: np.ndarray
    fit: RMAResult
    iterations: int = 0
    filled_index: np.ndarray | None = None

    def as_dict(self) -> dict:
        return {
            "k0": self.k0, "se_k0": self.se_k0, "side": self.side, "estimator": self.estimator,
            "p_k0": self.p_k0, "filled_yi": self.filled_yi.tolist(),
            "filled_vi": self.filled_vi.tolist(), "fit": self.fit.as_dict(),
        }


def _rank_first(a: np.ndarray) -> np.ndarray:
    """R's rank(a, ties.method="first") (1-based)."""
    order = np.argsort(a, kind="stable")
    ranks = np.empty(a.shape[0])
    ranks[order] = np.arange(1, a.shape[0] + 1)
    return ranks


def trimfill(
    res: RMAResult, *, side: str | None = None, estimator: str = "L0", maxiter: int = 100,
    fill_method: str | None = None,
) -> TrimfillResult:
    """Trim and fill: metafor's ``trimfill(x, side, estimator="L0", maxiter=100)``.

    Without ``side`` the side is chosen as metafor does: from the sign of the slope of
    ``sqrt(vi)`` in a meta-regression with the model's method (negative: missing studies on
    the right). Estimators ``L0`` (default) and ``R0``. The final model is refitted with the
    model's method and metafor's defaults for everything else (``test="z"``).

    ``fill_method`` fits the model to the observed plus filled studies with another method
    than the one k0 was estimated with: R meta's ``trimfill(m)`` estimates k0 on the
    common-effect model (``ma.common = TRUE``, i.e. ``res`` fitted with ``method="EE"``) and
    reports the random-effects fit (``fill_method="REML"``) on the k + k0 studies; with k0 = 0
    the model is then refitted to the observed studies with ``fill_method``. ``iterations``
    is the number of passes of the algorithm (meta's ``n.iter``); ``filled_index`` the
    (0-based) indices of the observed studies whose mirror images were filled in.
    """
    if fill_method is not None:
        fill_method = str(fill_method).upper()
        if fill_method not in METHODS:
            raise MetaAnalysisError(
                f"Unknown fill_method {fill_method!r}; use one of {', '.join(METHODS)}.")
    if not res.int_only:
        raise MetaAnalysisError(
            "Trim-and-fill method only applicable to models without moderators."
        )
    if estimator not in ("L0", "R0"):
        raise MetaAnalysisError("estimator must be 'L0' or 'R0'.")
    y0, v0 = res.yi, res.vi
    k = res.k
    method, con = res.method, res.control
    if side is None:
        X = np.column_stack([np.ones(k), np.sqrt(v0)])
        slope = fit(y0, v0, X, ("intrcpt", "sei"), method, "z", res.level, con,
                    compute_r2=False).b[1]
        side = "right" if slope < 0 else "left"
    elif side not in ("left", "right"):
        raise MetaAnalysisError("side must be 'left' or 'right'.")
    yi = -y0 if side == "right" else y0.copy()
    ix = np.argsort(yi, kind="stable")
    yi, vi = yi[ix], v0[ix]

    k0_sav, k0, it = -1, 0, 0
    se_k0 = 0.0
    beta = 0.0
    yi_c = yi
    while k0 != k0_sav:
        k0_sav = k0
        it += 1
        if it > maxiter:
            raise MetaAnalysisError("Trim and fill algorithm did not converge.")
        kt = k - k0
        beta = float(fit(yi[:kt], vi[:kt], None, ("intrcpt",), method, "z", res.level, con,
                         compute_r2=False).b)
        yi_c = yi - beta
        signed = np.sign(yi_c) * _rank_first(np.abs(yi_c))
        if estimator == "R0":
            neg = signed[signed < 0]
            k0f = (k - (np.max(-neg) if neg.size else 0)) - 1
            se_k0 = math.sqrt(2 * max(0.0, k0f) + 2)
        else:
            Sr = float(signed[signed > 0].sum())
            k0f = (4 * Sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0f**3 + 27 * k0f**2 + 17 * k0f
                      - 18 * k * k0f**2 - 18 * k * k0f + 6 * k**2 * k0f) / 24
            # negative when every effect is the same (R's sqrt gives NaN with a warning)
            se_k0 = 4 * math.sqrt(var_sr) / (2 * k - 1) if var_sr >= 0 else math.nan
        k0 = int(max(0, np.round(k0f)))
        se_k0 = se_k0 if math.isnan(se_k0) else max(0.0, se_k0)

    p_k0 = None
    if estimator == "R0":
        m = np.arange(-1, k0)
        p_k0 = float(1 - np.sum(special.comb(m + 1, m + 1) * 0.5 ** (m + 2)))
    if k0 > 0:
        yi_c = -(yi_c - beta) if side == "right" else yi_c - beta
        filled_y = -yi_c[k - k0:]
        filled_v = vi[k - k0:]
        filled_index = ix[k - k0:]
        y_fill = np.concatenate([y0, filled_y])
        v_fill = np.concatenate([v0, filled_v])
        slab = None if res.slab is None else (
            *res.slab, *(f"Filled {i + 1}" for i in range(k0)))
        adjusted = fit(y_fill, v_fill, None, ("intrcpt",), fill_method or method, "z",
                       res.level, dict(DEFAULT_CONTROL), slab=slab, measure=res.measure)
    else:
        filled_y = np.zeros(0)
        filled_v = np.zeros(0)
        filled_index = np.zeros(0, dtype=int)
        adjusted = res
        if fill_method is not None and fill_method != method:
            adjusted = fit(y0, v0, None, ("intrcpt",), fill_method, "z", res.level,
                           dict(DEFAULT_CONTROL), slab=res.slab, measure=res.measure)
    return TrimfillResult(k0=k0, se_k0=se_k0, side=side, estimator=estimator, p_k0=p_k0,
                          filled_yi=filled_y, filled_vi=filled_v, fit=adjusted,
                          iterations=it, filled_index=filled_index)


# --------------------------------------------------------------------------- meta's metabias


@dataclass(frozen=True, eq=False)
class MetabiasResult:
    """meta's ``metabias()`` for a linear regression test (Egger, Harbord, Peters).

    ``statistic`` is the t value of ``bias`` (the coefficient of the predictor: the standard
    error for Egger and Harbord, 1/N for Peters) on ``df`` = k - 2 degrees of freedom;
    ``intercept`` is the other coefficient; ``tau`` the square root of the multiplicative
    residual variance. With fewer than ``k_min`` (or 3) studies meta runs no test: then
    ``skipped`` is True, ``reason`` says why and the numbers are None.
    """

    method_bias: str
    k: int
    k_min: int
    skipped: bool
    reason: str | None = None
    statistic: float | None = None
    df: int | None = None
    pval: float | None = None
    bias: float | None = None
    se_bias: float | None = None
    intercept: float | None = None
    se_intercept: float | None = None
    tau: float | None = None

    def as_dict(self) -> dict:
        """meta's names (``estimate`` = bias and its SE)."""
        if self.skipped:
            return {"method.bias": self.method_bias, "skipped": True, "k": self.k,
                    "k.min": self.k_min, "reason": self.reason}
        return {
            "method.bias": self.method_bias, "skipped": False, "k": self.k, "k.min": self.k_min,
            "statistic": self.statistic, "df": self.df, "pval": self.pval,
            "estimate": [self.bias, self.se_bias], "intercept": self.intercept,
            "se.intercept": self.se_intercept, "tau": self.tau,
            "var.model": "multiplicative",
        }


def _skip(method_bias: str, k: int, k_min: int) -> MetabiasResult | None:
    if k < k_min or k < 3:
        need = max(int(k_min), 3)
        return MetabiasResult(
            method_bias=method_bias, k=k, k_min=int(k_min), skipped=True,
            reason=(f"meta runs no test for small-study effects with k = {k} studies "
                    f"(k.min = {k_min}; at least {need} needed)."),
        )
    return None


def _linreg(method_bias: str, te, se_te, covar, k_min: int) -> MetabiasResult:
    """meta's ``linregcore()``: weighted least squares of TE on the predictor (seTE, or
    ``covar``), weights 1/seTE^2 (metafor's ``regtest(model="lm")``)."""
    te = np.asarray(te, dtype=float)
    se_te = np.asarray(se_te, dtype=float)
    k = te.shape[0]
    skipped = _skip(method_bias, k, k_min)
    if skipped is not None:
        return skipped
    x = se_te if covar is None else np.asarray(covar, dtype=float)
    X = np.column_stack([np.ones(k), x])
    if np.linalg.matrix_rank(X) < 2:
        raise MetaAnalysisError(
            "Test for small-study effects not feasible as all studies have the same "
            + ("precision." if covar is None else "sample size.")
        )
    proj = Projection(X, 1.0 / se_te**2)
    coef, resid = proj.resid(te)
    df = k - 2
    mse = float((resid * resid) @ (1.0 / se_te**2)) / df
    se = np.sqrt(np.diag(proj.A) * mse)
    tval = float(coef[1] / se[1])
    return MetabiasResult(
        method_bias=method_bias, k=k, k_min=int(k_min), skipped=False,
        statistic=tval, df=df, pval=float(2 * special.stdtr(df, -abs(tval))),
        bias=float(coef[1]), se_bias=float(se[1]), intercept=float(coef[0]),
        se_intercept=float(se[0]), tau=math.sqrt(mse),
    )


def _binary_counts(event_e, n_e, event_c, n_c, studlab):
    from analysis.engine.binary import _counts

    (ee, ne, ec, nc), labels = _counts(
        ("event.e", "n.e", "event.c", "n.c"), (event_e, n_e, event_c, n_c), studlab
    )
    for ev, n, name in ((ee, ne, "e"), (ec, nc, "c")):
        bad = (ev > n) | (n <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise MetaAnalysisError(
                f"Events exceed the group size (or the group is empty) in "
                f"{study_name(i, labels)} (event.{name} = {ev[i]:g}, n.{name} = {n[i]:g})."
            )
    return ee, ne, ec, nc, labels


def _events_nonevents(test: str, ee, ne, ec, nc, labels):
    """Events and non-events per study; a study with none of one kind in both groups is
    refused by name (meta leaves it out before its tests)."""
    events = ee + ec
    nonevents = ne - ee + nc - ec
    flat = (events == 0) | (nonevents == 0)
    if flat.any():
        i = int(np.flatnonzero(flat)[0])
        raise MetaAnalysisError(
            f"{test} test needs events and non-events: {study_name(i, labels)} has no events "
            f"(or only events) in both groups; leave it out, as meta does."
        )
    return events, nonevents


def harbord_test(
    event_e, n_e, event_c, n_c, *, sm: str = "OR", k_min: int = 10, studlab=None
) -> MetabiasResult:
    """Harbord's score test: meta's ``metabias(m, method.bias = "Harbord", k.min = 10)`` for a
    ``metabin`` object.

    OR (Harbord, Egger & Sterne 2006): ``Z = a - (a + c) n1/N`` (O - E) and ``V = n1 n2 (a + c)
    (b + d) / (N^2 (N - 1))``; RR (Harbord et al. 2009): meta's RR score and variance. Egger's
    regression of ``Z/V`` on ``1/sqrt(V)`` with weights V; the test is of the coefficient of
    ``1/sqrt(V)`` (``bias``). Pass the studies meta pools (no study without events, or with only
    events, in both groups): :func:`metabias_metabin` selects them from a ``metabin_common``
    result. With k < ``k_min`` the result says no test was run.
    """
    if sm not in ("OR", "RR"):
        raise MetaAnalysisError(f"Harbord's test is defined for sm 'OR' or 'RR' (got {sm!r}).")
    ee, ne, ec, nc, labels = _binary_counts(event_e, n_e, event_c, n_c, studlab)
    events, nonevents = _events_nonevents("Harbord's", ee, ne, ec, nc, labels)
    n = ne + nc
    if sm == "OR":
        z = ee - events * ne / n
        v = ne * nc * events * nonevents / (n**2 * (n - 1))
    else:
        z = (ee * n - events * ne) / nonevents
        v = n / 4 * events / nonevents
    return _linreg("Harbord", z / v, 1 / np.sqrt(v), None, k_min)


def peters_test(
    te, event_e, n_e, event_c, n_c, *, k_min: int = 10, studlab=None
) -> MetabiasResult:
    """Peters' test: meta's ``metabias(m, method.bias = "Peters", k.min = 10)`` for a
    ``metabin`` object (Peters et al. 2006, JAMA).

    Weighted regression of the study effects ``te`` (log OR as a rule) on ``1/N`` (N = n1 + n2)
    with weights ``1 / (1/(a + c) + 1/(b + d))``; the test is of the coefficient of ``1/N``.
    (metafor's ``regtest(model="lm", predictor="ninv")`` uses the same predictor with weights
    1/vi: :func:`regtest_ni`.)
    """
    ee, ne, ec, nc, labels = _binary_counts(event_e, n_e, event_c, n_c, studlab)
    te = np.atleast_1d(np.asarray(te, dtype=float))
    if te.shape[0] != ee.shape[0]:
        raise MetaAnalysisError(
            f"te and the counts must have the same number of studies ({te.shape[0]} and "
            f"{ee.shape[0]})."
        )
    bad = ~np.isfinite(te)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise MetaAnalysisError(f"The effect of {study_name(i, labels)} is not a finite number.")
    events, nonevents = _events_nonevents("Peters'", ee, ne, ec, nc, labels)
    se = np.sqrt(1 / events + 1 / nonevents)
    return _linreg("Peters", te, se, 1 / (ne + nc), k_min)


def metabias_metabin(m, *, method_bias: str | None = None, k_min: int = 10) -> MetabiasResult:
    """meta's ``metabias(m, method.bias, k.min = 10)`` for a :func:`metabin_common` result.

    Default ``method.bias``: Harbord for ``sm = "OR"`` (also with Peto's method), Egger
    otherwise (meta's rule after Sterne et al. 2011). Also "Peters". The studies are those
    meta pooled (finite TE); with ``method = "Peto"`` the study effects are the
    inverse-variance ones (meta refits with ``method = "Inverse"``, no increment).
    """
    from analysis.engine.binary import metabin_common

    if method_bias is None:
        method_bias = "Harbord" if m.sm == "OR" else "Egger"
    if method_bias not in ("Harbord", "Egger", "Peters"):
        raise MetaAnalysisError(
            f"method_bias must be 'Harbord', 'Egger' or 'Peters' (got {method_bias!r})."
        )
    if m.counts is None:
        raise MetaAnalysisError("This metabin result carries no counts.")
    te, se_te = m.te, m.se_te
    sel = m.included
    if m.method == "Peto":
        # meta refits with method = "Inverse" and the Peto fit's incr (0): a study with one
        # zero cell keeps an infinite TE there, so it stays in Harbord's test (counts only)
        iv = metabin_common(*m.counts, sm=m.sm, method="Inverse", incr=0.0,
                            method_incr=m.method_incr, allstudies=m.allstudies,
                            studlab=m.studlab)
        te, se_te = iv.te, iv.se_te
    names = m.studlab if m.studlab is not None else [str(i + 1) for i in range(m.k_all)]
    labels = tuple(s for s, keep in zip(names, sel, strict=True) if keep)
    if method_bias != "Harbord":
        bad = ~np.isfinite(te[sel])
        if bad.any():
            raise MetaAnalysisError(
                f"The inverse-variance effect of study '{labels[int(np.flatnonzero(bad)[0])]}' "
                f"is infinite (a zero cell without increment, as meta's refit of a Peto "
                f"analysis has): {method_bias}'s test cannot use it."
            )
    ee, ne, ec, nc = (x[sel] for x in m.counts)
    if method_bias == "Harbord":
        if m.sm not in ("OR", "RR"):
            warnings.warn("Using odds ratio as effect measure in Harbord test.", stacklevel=2)
        return harbord_test(ee, ne, ec, nc, sm="RR" if m.sm == "RR" else "OR", k_min=k_min,
                            studlab=labels)
    if method_bias == "Peters":
        return peters_test(te[sel], ee, ne, ec, nc, k_min=k_min, studlab=labels)
    return _linreg("Egger", te[sel], se_te[sel], None, k_min)


def regtest_ni(res: RMAResult, ni, *, predictor: str = "ninv") -> RegtestResult:
    """metafor's ``regtest(x, model="lm", predictor="ninv")`` (also ``"ni"``, ``"sqrtninv"``):
    the classical regression test with a sample-size predictor.

    Weighted least squares of ``yi`` on ``1/ni`` (``ni``, ``1/sqrt(ni)``) with weights
    ``1/vi``, t test on k - 2 degrees of freedom; ``est`` is the intercept (the effect for an
    infinitely large study) with its t-based CI (None for ``"ni"``, as metafor gives none).
    ``ni`` is the total sample size of each study (metafor takes it from ``escalc()``). With
    ``predictor="ninv"`` this is Peters' test as metafor offers it (meta's
    :func:`peters_test` weights by the events instead).
    """
    if predictor not in ("ni", "ninv", "sqrtninv"):
        raise MetaAnalysisError(
            f"predictor must be 'ni', 'ninv' or 'sqrtninv' (got {predictor!r}); "
            f"use regtest() for 'sei' and 'vi'."
        )
    if not res.int_only:
        raise MetaAnalysisError("regtest_ni() is only available for models without moderators.")
    ni = np.atleast_1d(np.asarray(ni, dtype=float))
    if ni.shape[0] != res.k:
        raise MetaAnalysisError(
            f"ni must have one sample size per study ({ni.shape[0]} given, k = {res.k})."
        )
    bad = ~(np.isfinite(ni) & (ni > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise MetaAnalysisError(
            f"The sample size of {study_name(i, res.slab)} must be a positive number "
            f"(ni = {ni[i]:g})."
        )
    pred = {"ni": ni, "ninv": 1 / ni, "sqrtninv": 1 / np.sqrt(ni)}[predictor]
    y, v = res.yi, res.vi
    k = y.shape[0]
    X = np.column_stack([np.ones(k), pred])
    if np.linalg.matrix_rank(X) < 2:
        raise MetaAnalysisError(
            "Model matrix no longer of full rank after addition of predictor. Cannot fit model."
        )
    dfs = k - 2
    if dfs <= 0:
        raise MetaAnalysisError("The regression test needs at least 3 studies.")
    proj = Projection(X, 1.0 / v)
    coef, resid = proj.resid(y)
    sigma2 = float((resid * resid) @ (1.0 / v)) / dfs
    se = np.sqrt(np.diag(proj.A) * sigma2)
    tval = coef / se
    pval = 2 * special.stdtr(dfs, -np.abs(tval))
    crit = qt_upper(_level_alpha(res.level) / 2, dfs)
    if predictor == "ni":  # the intercept is no limit estimate: metafor gives none
        est = ci_lb = ci_ub = None
    else:
        est = float(coef[0])
        ci_lb, ci_ub = est - crit * float(se[0]), est + crit * float(se[0])
    return RegtestResult(
        zval=float(tval[1]), pval=float(pval[1]), dfs=dfs, est=est, ci_lb=ci_lb, ci_ub=ci_ub,
        model="lm", predictor=predictor, fit=None, coef=coef, se=se,
    )
