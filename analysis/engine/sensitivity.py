"""Leave-one-out, cumulative and case-deletion diagnostics: metafor's ``leave1out()``,
``cumul()`` and ``influence()`` for ``rma.uni`` models.

All k sub-fits are computed at once. Common-effect quantities (Q, the DL/HE/HS estimators)
come from totals minus each study's term (leave-one-out) or running sums (cumulative). The
random-effects weights differ per sub-fit, so the sums over studies run on blocks of a
(sub-fits x studies) weight array; REML/ML/EB iterate Fisher scoring on all sub-fits at
once, each sub-fit stopping by metafor's rule, starting from its own HE estimate like metafor
(or, with ``warm_start=True``, from the full-data estimate: fewer iterations, and results
equal within the convergence threshold). PM and SJ sub-fits are refitted one by one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from analysis.engine._core import DBL_EPSILON, Projection
from analysis.engine.errors import MetaAnalysisError
from analysis.engine.model import FIXED_METHODS, RMAResult, _level_alpha, fit

_LOG_2PI = math.log(2.0 * math.pi)
_VECTORISED = ("FE", "EE", "DL", "HE", "HS", "REML", "ML", "EB")
_BLOCK_ELEMENTS = 1_000_000


@dataclass(frozen=True, eq=False)
class CaseResults:
    """One row per sub-fit (leave study i out, or the first i studies), as metafor's
    ``list.rma`` from ``leave1out()``/``cumul()``: ``estimate, se, zval, pval, ci_lb, ci_ub,
    q, qp, tau2, i2, h2`` (arrays) and the labels ``slab`` (the study left out or added)."""

    estimate: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    q: np.ndarray
    qp: np.ndarray
    tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    slab: tuple[str, ...]
    kind: str
    s2w: np.ndarray
    sw: np.ndarray

    def as_dict(self) -> dict:
        keys = ["estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "q", "qp", "tau2", "i2", "h2"]
        out = {key: getattr(self, key).tolist() for key in keys}
        out["slab"] = list(self.slab)
        return out


def _labels(res: RMAResult) -> tuple[str, ...]:
    if res.slab is not None:
        return tuple(res.slab)
    return tuple(str(i + 1) for i in range(res.k))


def _subset_sum(a: np.ndarray, kind: str) -> np.ndarray:
    """Per sub-fit sums of a study-level quantity: total minus own, or running sums."""
    return a.sum() - a if kind == "leave1out" else np.cumsum(a)


def _block_sums(kind, Y3, v, t, rows, second=False, third=False):
    """Weighted sums over each sub-fit's studies for the sub-fits ``rows`` with tau^2 ``t``.

    Returns ``S = sum(w * [1, y, y^2])`` (rows x 3) and, when asked, ``T = sum(w^2 * [1, y,
    y^2])`` and ``sum(w^3)``, with ``w = 1/(v + t)``. Leave-one-out: sums over all studies
    (matrix products) minus each sub-fit's own study; cumulative: a triangular mask.
    """
    W = 1.0 / (v[None, :] + t[:, None])
    l1o = kind == "leave1out"
    if not l1o:
        W *= np.arange(v.shape[0])[None, :] <= rows[:, None]
    S = W @ Y3
    if l1o:
        o = 1.0 / (v[rows] + t)
        S -= o[:, None] * Y3[rows]
    if not second:
        return S, None, None
    W2 = W * W
    T = W2 @ Y3
    s3 = np.einsum("ij,ij->i", W2, W) if third else None
    if l1o:
        o2 = o * o
        T -= o2[:, None] * Y3[rows]
        if third:
            s3 -= o2 * o
    return S, T, s3


def _fisher_block(kind, Y3, v, rows, n, t, method, con):
    """Fisher scoring for the sub-fits ``rows`` at once, each stopping by metafor's rule."""
    threshold = float(con["threshold"])
    maxiter = int(con["maxiter"])
    stepadj = float(con["stepadj"])
    tau2_min = float(con["tau2_min"])
    active = n > 1
    it = 0
    while active.any():
        it += 1
        if it > maxiter + 1:
            raise MetaAnalysisError(
                "Fisher scoring algorithm did not converge in a leave-one-out/cumulative "
                "sub-fit. Try increasing 'maxiter' in 'control'."
            )
        idx = np.flatnonzero(active)
        ta, na = t[idx], n[idx]
        S, T, s3 = _block_sums(kind, Y3, v, ta, rows[idx], second=method != "EB",
                               third=method == "REML")
        sw = S[:, 0]
        b = S[:, 1] / sw
        if method == "EB":
            rss = S[:, 2] - b * S[:, 1]
            adj = (rss * na / (na - 1) - na) / sw
        else:
            s2 = T[:, 0]
            ypppy = T[:, 2] - 2.0 * b * T[:, 1] + b * b * s2
            if method == "ML":
                adj = (ypppy - sw) / s2
            else:
                trP = sw - s2 / sw
                trPP = s2 - 2.0 * s3 / sw + (s2 / sw) ** 2
                adj = (ypppy - trP) / trPP
        adj = np.where(np.isnan(adj), 0.0, adj * stepadj)
        neg = ta + adj < tau2_min
        while neg.any():
            adj = np.where(neg, adj / 2.0, adj)
            neg = ta + adj < tau2_min
        new = ta + adj
        t[idx] = new
        active[idx[np.abs(new - ta) <= threshold]] = False
    return t


def _ll_rows(kind, Y3, v, rows, n, t, reml):
    """metafor's ML/REML log-likelihood of each sub-fit at its tau^2 ``t``."""
    S, _, _ = _block_sums(kind, Y3, v, t, rows)
    sw = S[:, 0]
    rss = S[:, 2] - S[:, 1] ** 2 / sw
    logs = np.log(v[None, :] + t[:, None])
    if kind == "leave1out":
        slog = logs.sum(axis=1) - np.log(v[rows] + t)
    else:
        slog = (logs * (np.arange(v.shape[0])[None, :] <= rows[:, None])).sum(axis=1)
    if reml:
        return (-0.5 * (n - 1) * _LOG_2PI + 0.5 * np.log(n) - 0.5 * slog
                - 0.5 * np.log(sw) - 0.5 * rss)
    return -0.5 * n * _LOG_2PI - 0.5 * slog - 0.5 * rss


def _vectorised(res: RMAResult, kind: str, warm_start: bool):
    y, v = res.yi, res.vi
    k = res.k
    method = res.method
    con = res.control
    tau2_min = float(con["tau2_min"])
    n = np.full(k, k - 1.0) if kind == "leave1out" else np.arange(1.0, k + 1.0)
    df = n - 1.0
    multi = n > 1
    safe_df = np.where(multi, df, 1.0)

    # common-effect sums (y centred at the full-data FE mean for accuracy)
    w = 1.0 / v
    yc = y - (w @ y) / w.sum()
    S1 = _subset_sum(w, kind)
    S2 = _subset_sum(w * w, kind)
    Sy = _subset_sum(w * yc, kind)
    Syy = _subset_sum(w * yc * yc, kind)
    Q = np.where(multi, np.maximum(0.0, Syy - Sy * Sy / S1), 0.0)
    trP = S1 - S2 / S1
    safe_trP = np.where(multi, trP, 1.0)

    if method in FIXED_METHODS:
        tau2 = np.zeros(k)
    elif method == "DL":
        tau2 = np.maximum(tau2_min, (Q - df) / safe_trP)
    elif method == "HS":
        tau2 = np.maximum(tau2_min, (Q - n) / S1)
    else:
        yu = y - y.mean()
        U1, U2, Vs = _subset_sum(yu, kind), _subset_sum(yu * yu, kind), _subset_sum(v, kind)
        he = ((U2 - U1 * U1 / n) - (Vs - Vs / n)) / safe_df
        if method == "HE":
            tau2 = np.maximum(tau2_min, he)
        else:
            if warm_start:
                tau2 = np.full(k, res.tau2)
            elif con["tau2_init"] is not None:
                tau2 = np.full(k, float(con["tau2_init"]))
            else:
                tau2 = np.maximum(np.maximum(0.0, he), tau2_min)
    tau2 = np.where(multi, tau2, 0.0)

    iterative = method in ("REML", "ML", "EB")
    centre = float(y.sum()) / k
    ycc = y - centre
    Y3 = np.column_stack([np.ones(k), ycc, ycc * ycc])
    sw = np.empty(k)
    rss = np.empty(k)
    b = np.empty(k)
    block = max(1, _BLOCK_ELEMENTS // k)
    for start in range(0, k, block):
        stop = min(k, start + block)
        rows = np.arange(start, stop)
        nr = n[start:stop]
        if iterative:
            t = _fisher_block(kind, Y3, v, rows, nr, tau2[start:stop].copy(), method, con)
            if method in ("ML", "REML") and con["ll0check"]:
                reml = method == "REML"
                ll0 = _ll_rows(kind, Y3, v, rows, nr, np.zeros_like(t), reml)
                ll = _ll_rows(kind, Y3, v, rows, nr, t, reml)
                reset = (nr > 1) & (ll0 - ll > con["tol"]) & (t > con["threshold"])
                t = np.where(reset, 0.0, t)
            tau2[start:stop] = np.maximum(tau2_min, t)
        S, _, _ = _block_sums(kind, Y3, v, tau2[start:stop], rows)
        sw[start:stop] = S[:, 0]
        bc = S[:, 1] / S[:, 0]
        b[start:stop] = bc + centre
        rss[start:stop] = np.maximum(0.0, S[:, 2] - bc * S[:, 1])

    knha = res.test == "knha"
    if knha:
        s2w = np.where(rss <= DBL_EPSILON, 0.0, rss / safe_df)
        s2w = np.where(multi, s2w, 1.0)
    else:
        s2w = np.ones(k)
    se = np.sqrt(s2w / sw)
    Qp = np.where(multi, special.chdtrc(safe_df, Q), 1.0)
    vt = safe_df / safe_trP
    if method in FIXED_METHODS:
        with np.errstate(divide="ignore", invalid="ignore"):
            I2 = np.where(Q > 0, np.maximum(0.0, 100.0 * (Q - df) / Q), 0.0)
        H2 = Q / safe_df
    else:
        I2 = 100.0 * tau2 / (vt + tau2)
        H2 = tau2 / vt + 1.0
    I2 = np.where(multi, I2, 0.0)
    H2 = np.where(multi, H2, 1.0)
    use_t = knha & multi
    return b, se, tau2, Q, Qp, I2, H2, s2w, sw, use_t, safe_df


def _looped(res: RMAResult, kind: str):
    """One refit per sub-fit (PM, SJ): metafor's own approach."""
    k = res.k
    out = {key: np.empty(k) for key in ("b", "se", "tau2", "Q", "Qp", "I2", "H2", "s2w", "sw")}
    use_t = np.zeros(k, dtype=bool)
    df = np.empty(k)
    for i in range(k):
        mask = np.ones(k, dtype=bool)
        if kind == "leave1out":
            mask[i] = False
        else:
            mask[i + 1:] = False
        yy, vv = res.yi[mask], res.vi[mask]
        if yy.shape[0] == 1:
            vals = (yy[0], math.sqrt(vv[0]), 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0 / vv[0])
            df[i] = 1.0
        else:
            r = fit(yy, vv, None, ("intrcpt",), res.method, res.test, res.level, res.control,
                    compute_r2=False)
            vals = (r.b, r.se, r.tau2, r.qe, r.qep, r.i2, r.h2, r.s2w,
                    float(np.sum(1.0 / (vv + r.tau2))))
            use_t[i] = r.test == "knha"
            df[i] = yy.shape[0] - 1
        for key, val in zip(out, vals, strict=True):
            out[key][i] = val
    return (out["b"], out["se"], out["tau2"], out["Q"], out["Qp"], out["I2"], out["H2"],
            out["s2w"], out["sw"], use_t, df)


def _case_results(res: RMAResult, kind: str, warm_start: bool) -> CaseResults:
    if not res.int_only:
        raise MetaAnalysisError(f"{kind}() is only available for models without moderators.")
    if res.k < 2:
        raise MetaAnalysisError(f"{kind}() needs at least 2 studies.")
    vectorised = res.method in _VECTORISED
    parts = _vectorised(res, kind, warm_start) if vectorised else _looped(res, kind)
    b, se, tau2, Q, Qp, I2, H2, s2w, sw, use_t, df = parts
    alpha = _level_alpha(res.level)
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = b / se
    crit = np.where(use_t, -special.stdtrit(df, alpha / 2), -special.ndtri(alpha / 2))
    pval = np.where(use_t, 2 * special.stdtr(df, -np.abs(zval)), 2 * special.ndtr(-np.abs(zval)))
    return CaseResults(
        estimate=b, se=se, zval=zval, pval=pval, ci_lb=b - crit * se, ci_ub=b + crit * se,
        q=Q, qp=Qp, tau2=tau2, i2=I2, h2=H2, slab=_labels(res), kind=kind, s2w=s2w, sw=sw,
    )


def leave1out(res: RMAResult, *, warm_start: bool = False) -> CaseResults:
    """Leave-one-out estimates: metafor's ``leave1out(x)`` (row i: study i removed)."""
    return _case_results(res, "leave1out", warm_start)


def cumul(res: RMAResult, *, order=None, warm_start: bool = False) -> CaseResults:
    """Cumulative meta-analysis: metafor's ``cumul(x, order)`` (row i: the first i studies in
    the data order, or in ``order`` (indices) if given). The first row is the single first
    study (tau2 = 0, Q = 0, z-test, as metafor's k = 1 fit)."""
    if order is not None:
        order = np.asarray(order, dtype=int)
        res = _reordered(res, order)
    return _case_results(res, "cumul", warm_start)


def _reordered(res: RMAResult, order: np.ndarray) -> RMAResult:
    from dataclasses import replace

    slab = None if res.slab is None else tuple(res.slab[i] for i in order)
    return replace(res, yi=res.yi[order], vi=res.vi[order], X=res.X[order], slab=slab)


# --------------------------------------------------------------------------- influence


@dataclass(frozen=True, eq=False)
class InfluenceResult:
    """metafor's ``influence()`` columns: ``rstudent, dffits, cook_d, cov_r, tau2_del, qe_del,
    hat, weight`` (percent), ``dfbs`` (k x p DFBETAS) and ``is_infl`` (metafor's flag)."""

    rstudent: np.ndarray
    dffits: np.ndarray
    cook_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    qe_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbs: np.ndarray
    is_infl: np.ndarray
    slab: tuple[str, ...]

    def as_dict(self) -> dict:
        keys = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight",
                "is_infl")
        out = {key: getattr(self, key).tolist() for key in keys}
        out["dfbs"] = self.dfbs.tolist()
        out["slab"] = list(self.slab)
        return out


def influence(res: RMAResult) -> InfluenceResult:
    """Case-deletion diagnostics: metafor's ``influence(model)`` (``rstudent``, DFFITS, Cook's
    distance, covariance ratio, tau^2 and QE after deletion, hat values, weights, DFBETAS)."""
    k, p = res.k, res.p
    if k < 2:
        raise MetaAnalysisError("influence() needs at least 2 studies.")
    y, v = res.yi, res.vi
    hat = res.hat
    # Cook's distance and the covariance ratio use every coefficient, the intercept included:
    # metafor's influence.rma.uni sets btt with int.incl = FALSE, i.e. 1:p (not the moderator
    # test's coefficients).
    btt = list(range(p))
    vb = res.vb
    beta = np.atleast_1d(np.asarray(res.b, dtype=float))
    if res.int_only:
        l1o = leave1out(res)
        b_del = l1o.estimate[:, None]
        vdelpred = l1o.se**2
        s2w_del, tau2_del, qe_del = l1o.s2w, l1o.tau2, l1o.q
        delpred = l1o.estimate
        vb_del_diag = (1.0 / (l1o.sw + 1.0 / (v + tau2_del)))[:, None]
        vb_i_btt_det = vdelpred
        pred_full = np.full(k, beta[0])
    else:
        X = res.X
        b_del = np.empty((k, p))
        vdelpred = np.empty(k)
        s2w_del = np.empty(k)
        tau2_del = np.empty(k)
        qe_del = np.empty(k)
        vb_del_diag = np.empty((k, p))
        vb_i_btt_det = np.empty(k)
        for i in range(k):
            mask = np.arange(k) != i
            r = fit(y[mask], v[mask], X[mask], res.coef_names, res.method, res.test, res.level,
                    res.control, int_incl=res.int_incl, compute_r2=False)
            b_del[i] = r.b
            vdelpred[i] = X[i] @ r.vb @ X[i]
            s2w_del[i], tau2_del[i], qe_del[i] = r.s2w, r.tau2, r.qe
            vb_del_diag[i] = np.diag(Projection(X, 1.0 / (v + r.tau2)).A)
            vb_i_btt_det[i] = np.linalg.det(r.vb[np.ix_(btt, btt)])
        delpred = np.einsum("ij,ij->i", X, b_del)
        pred_full = X @ beta
    dffits = (pred_full - delpred) / np.sqrt(s2w_del * hat * (tau2_del + v))
    dfb = beta[None, :] - b_del
    dfbs = dfb / np.sqrt(s2w_del[:, None] * vb_del_diag)
    svb = np.linalg.inv(vb[np.ix_(btt, btt)])
    d = dfb[:, btt]
    cook_d = np.einsum("ij,jk,ik->i", d, svb, d)
    cov_r = vb_i_btt_det / np.linalg.det(vb[np.ix_(btt, btt)])
    resid = y - delpred
    resid = np.where(np.abs(resid) < 100 * DBL_EPSILON, 0.0, resid)
    seresid = np.sqrt(v * s2w_del + vdelpred + tau2_del * s2w_del)
    rstudent = resid / seresid
    m = len(btt)
    is_infl = (
        (np.abs(dffits) > 3 * math.sqrt(p / (k - p)))
        | (special.chdtr(m, cook_d) > 0.5)
        | (hat > 3 * p / k)
        | (np.abs(dfbs) > 1).any(axis=1)
    )
    return InfluenceResult(
        rstudent=rstudent, dffits=dffits, cook_d=cook_d, cov_r=cov_r, tau2_del=tau2_del,
        qe_del=qe_del, hat=hat, weight=np.asarray(res.weights), dfbs=dfbs, is_infl=is_infl,
        slab=_labels(res),
    )
