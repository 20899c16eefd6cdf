"""Random- and common-effect meta-analysis and meta-regression: metafor's ``rma.uni()``.

The estimators, their standard errors, the Knapp-Hartung adjustment, Q, I^2, H^2, R^2 and the
fit statistics follow metafor 3.8-1 (``R/rma.uni.r``) step by step, including its convergence
rules, so that results agree with R to rounding error at the default and at tight settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from analysis.engine._core import (
    DBL_EPSILON,
    R_TOL,
    Projection,
    dot,
    pchisq_upper,
    pf_upper,
    pnorm_two_sided,
    pt_two_sided,
    qnorm_upper,
    qt_upper,
    zeroin,
)
from analysis.engine.effect_sizes import EffectSizes
from analysis.engine.errors import MetaAnalysisError, study_name

METHODS = ("FE", "EE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS")
FIXED_METHODS = ("FE", "EE")
TESTS = ("z", "knha")

_LOG_2PI = math.log(2.0 * math.pi)

DEFAULT_CONTROL: dict[str, Any] = {
    "tau2_init": None,  # initial value for ML/REML/EB (default: HE estimate) and SJ
    "tau2_min": 0.0,  # lower bound for tau^2
    "tau2_max": 100.0,  # upper bound searched by PM
    "threshold": 1e-5,  # Fisher scoring convergence (change in tau^2)
    "tol": R_TOL,  # uniroot() tolerance for PM; also the ll0check tolerance
    "maxiter": 100,  # Fisher scoring / uniroot iterations
    "stepadj": 1.0,  # Fisher scoring step adjustment
    "ll0check": True,  # compare the likelihood at tau^2 = 0 (ML/REML)
}


def normalise_control(control: dict | None) -> dict[str, Any]:
    """metafor's ``control=list(...)`` with R-style (``tau2.init``) or Python-style keys."""
    con = dict(DEFAULT_CONTROL)
    if control:
        for key, value in control.items():
            name = key.replace(".", "_")
            if name not in con:
                raise MetaAnalysisError(
                    f"Unknown control option {key!r}; known: {', '.join(sorted(con))}."
                )
            con[name] = value
            if name == "tau2_max":
                con["_tau2_max_set"] = True
    return con


@dataclass(frozen=True, eq=False)
class RMAResult:
    """A fitted model, as metafor's ``rma.uni`` object (names lower-cased, dots as underscores).

    For an intercept-only model ``b, se, zval, pval, ci_lb, ci_ub`` are floats; with moderators
    they are arrays in the order of ``coef_names``. ``weights`` are in percent (metafor's
    ``weights()``); ``i2`` is in percent; ``r2`` (percent) only exists with moderators.
    """

    b: Any
    se: Any
    zval: Any
    pval: Any
    ci_lb: Any
    ci_ub: Any
    vb: np.ndarray
    tau2: float
    se_tau2: float | None
    i2: float
    h2: float
    qe: float
    qep: float
    k: int
    weights: np.ndarray
    method: str
    test: str
    level: float
    p: int
    qe_df: int
    qm: float
    qmp: float
    qm_df: tuple[int, int | None]
    vt: float
    s2w: float
    ddf: int | None
    r2: float | None
    coef_names: tuple[str, ...]
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    X: np.ndarray = field(repr=False)
    slab: tuple[str, ...] | None = field(repr=False)
    control: dict[str, Any] = field(repr=False)
    int_only: bool = True
    int_incl: bool = True
    iterations: int = 0
    measure: str = "GEN"
    btt: tuple[int, ...] = (0,)
    tau2_fixed: bool = False

    @cached_property
    def fitstats(self) -> dict[str, dict[str, float]]:
        """metafor's ``fitstats()``: logLik, deviance, AIC, BIC, AICc for ML and REML."""
        X = None if self.int_only else self.X
        w = 1.0 / (self.vi + self.tau2)
        proj = Projection(X, w)
        rss_f = proj.rss(self.yi)
        return _fitstats(self.yi, self.vi, X, self.tau2, rss_f, proj, self.k, self.p,
                         self.tau2_fixed)

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    @property
    def beta(self):
        return self.b

    @property
    def hat(self) -> np.ndarray:
        """metafor's ``hatvalues()``: diag of X (X'WX)^-1 X'W."""
        w = 1.0 / (self.vi + self.tau2)
        return Projection(None if self.int_only else self.X, w).hat_diag()

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary with the API's key names."""

        def conv(x):
            if isinstance(x, np.ndarray):
                return [conv(v) for v in x.tolist()]
            if isinstance(x, float) and not math.isfinite(x):
                return None
            return x

        keys = (
            "b", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2", "se_tau2", "tau", "i2", "h2",
            "qe", "qep", "qe_df", "qm", "qmp", "k", "p", "method", "test", "level", "s2w",
            "ddf", "r2",
        )
        out = {key: conv(getattr(self, key)) for key in keys}
        out["coef_names"] = list(self.coef_names)
        out["weights"] = conv(np.asarray(self.weights))
        return out


# --------------------------------------------------------------------------- input handling


def _as_float_array(values, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise MetaAnalysisError(f"'{name}' must be numeric.") from exc
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    return arr


#: The largest |yi| and vi (and 1/MAGNITUDE the smallest positive vi) the fit takes: squares
#: and products of weights stay far from overflow and underflow in double precision.
MAGNITUDE = 1e50


def _check_inputs(yi, vi, slab):
    k = yi.shape[0]
    if vi.shape[0] != k:
        raise MetaAnalysisError(
            f"'yi' and 'vi' have different lengths ({k} and {vi.shape[0]})."
        )
    if slab is not None and len(slab) != k:
        raise MetaAnalysisError(f"'slab' has {len(slab)} labels for {k} studies.")
    if (
        np.isfinite(yi).all() and np.isfinite(vi).all() and vi.min(initial=1.0) >= 0
        and np.abs(yi).max(initial=0.0) <= MAGNITUDE and vi.max(initial=0.0) <= MAGNITUDE
        and vi[vi > 0].min(initial=1.0) >= 1 / MAGNITUDE
    ):
        return  # fast path; otherwise find the first offending study
    bad = ~np.isfinite(yi)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise MetaAnalysisError(
            f"Missing or non-finite effect size (yi) for {study_name(i, slab)}."
        )
    bad = ~np.isfinite(vi)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise MetaAnalysisError(
            f"Missing or non-finite sampling variance (vi) for {study_name(i, slab)}."
        )
    big = (np.abs(yi) > MAGNITUDE) | (vi > MAGNITUDE) | ((vi > 0) & (vi < 1 / MAGNITUDE))
    if big.any():
        i = int(np.flatnonzero(big)[0])
        raise MetaAnalysisError(
            f"The numbers of {study_name(i, slab)} (yi = {yi[i]:g}, vi = {vi[i]:g}) are too "
            f"large or too small to compute with: effect sizes up to {MAGNITUDE:g} in absolute "
            f"value and variances between {1 / MAGNITUDE:g} and {MAGNITUDE:g} (or 0); change "
            "the unit of measurement."
        )
    # vi = 0 is fitted as metafor fits it (see `fit`); a negative vi is refused, where metafor
    # would set it to 0 with a warning (a number silently changed).
    bad = vi < 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise MetaAnalysisError(
            f"Sampling variance of {study_name(i, slab)} is negative (vi = {vi[i]:g})."
        )


def _model_matrix(mods, k: int, intercept: bool):
    """(X or None for intercept-only, coefficient names)."""
    if mods is None:
        if not intercept:
            raise MetaAnalysisError("A model without intercept needs moderators ('mods').")
        return None, ("intrcpt",)
    names: list[str]
    columns = getattr(mods, "columns", None)
    M = np.asarray(mods, dtype=float)
    if M.ndim == 1:
        M = M[:, None]
        names = [str(getattr(mods, "name", None) or "mods")]
    else:
        names = [str(c) for c in columns] if columns is not None else [
            f"mods{j + 1}" for j in range(M.shape[1])
        ]
    if M.shape[0] != k:
        raise MetaAnalysisError(f"'mods' has {M.shape[0]} rows for {k} studies.")
    bad = ~np.isfinite(M).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise MetaAnalysisError(f"Missing or non-finite moderator value for study {i + 1}.")
    if intercept:
        M = np.column_stack([np.ones(k), M])
        names = ["intrcpt", *names]
    if np.linalg.matrix_rank(M) < M.shape[1]:
        raise MetaAnalysisError("Model matrix not of full rank. Cannot fit model.")
    return M, tuple(names)


# --------------------------------------------------------------------------- estimators


def _ll(y, v, X, tau2, p, reml: bool) -> float:
    """metafor's ML or REML log-likelihood at a given tau^2 (REMLf=TRUE)."""
    k = y.shape[0]
    w = 1.0 / (v + tau2)
    proj = Projection(X, w)
    rss = proj.rss(y)
    if not reml:
        return -0.5 * k * _LOG_2PI - 0.5 * float(np.log(v + tau2).sum()) - 0.5 * rss
    logdet_xx = math.log(k) if X is None else float(np.linalg.slogdet(X.T @ X)[1])
    return (
        -0.5 * (k - p) * _LOG_2PI
        + 0.5 * logdet_xx
        - 0.5 * float(np.log(v + tau2).sum())
        - 0.5 * proj.logdet_XtWX()
        - 0.5 * rss
    )


def _median_sorted(s: np.ndarray) -> float:
    n = s.shape[0]
    return 0.5 * (float(s[(n - 1) // 2]) + float(s[n // 2]))


def _mad(y: np.ndarray) -> float:
    """R's mad(y): 1.4826 * median(|y - median(y)|)."""
    med = _median_sorted(np.sort(y))
    return 1.4826 * _median_sorted(np.sort(np.abs(y - med)))


def qe_func(tau2: float, y, v, X, y2=None) -> float:
    """metafor's ``.QE.func``: Q statistic with weights 1/(vi + tau2).

    Without moderators this is ``Y'PY = sum(w y^2) - sum(w y)^2 / sum(w)`` (``y2 = y*y`` may
    be passed precomputed; ``y`` should be centred, as metafor's ``Ymc``)."""
    if X is None:
        w = 1.0 / (v + tau2)
        wy = dot(w, y)
        return dot(w, y * y if y2 is None else y2) - wy * wy / float(w.sum())
    return Projection(X, 1.0 / (v + tau2)).rss(y)


def estimate_tau2(y, v, X, method: str, con: dict, p: int):
    """(tau2, se_tau2, iterations) exactly as metafor's rma.uni estimation block."""
    k = y.shape[0]
    ymc = y - float(y.sum()) / k
    tau2_min = float(con["tau2_min"])
    iterations = 0
    if method in ("HS", "DL", "PM") and not v.min() > 0:
        raise MetaAnalysisError(
            f"{method} estimator cannot be used when there are non-positive sampling variances "
            "in the data."
        )
    if method in ("HS", "DL"):
        w = 1.0 / v
        proj = Projection(X, w)
        rss = proj.rss(ymc)
        trP = proj.tr()
        tau2 = (rss - k) / proj.sw if method == "HS" else (rss - (k - p)) / trP
        tau2 = max(tau2_min, tau2)
        t = max(tau2, 0.0)
        denom = proj.sw if method == "HS" else trP
        se = math.sqrt((2 * (k - p) + 4 * t * trP + 2 * t * t * proj.tr2()) / denom**2)
        return tau2, se, 0
    if method in ("HE", "ML", "REML", "EB"):
        proj = Projection(X, np.ones(k))
        rss = proj.rss(ymc)
        trPV = proj.tr(v)
        tau2 = (rss - trPV) / (k - p)
        if method == "HE":
            tau2 = max(tau2_min, tau2)
            t = max(tau2, 0.0)
            se = math.sqrt((2 * proj.tr2(v, v) + 4 * t * trPV + 2 * t * t * (k - p)) / (k - p) ** 2)
            return tau2, se, 0
    if method == "SJ":
        tau2_0 = float(np.mean(ymc * ymc)) if con["tau2_init"] is None else float(con["tau2_init"])
        proj = Projection(X, 1.0 / (v + tau2_0))
        tau2 = max(tau2_min, tau2_0 * proj.rss(ymc) / (k - p))
        t = max(tau2, 0.0)
        se = math.sqrt(
            tau2_0**2
            / (k - p) ** 2
            * (2 * proj.tr2(v, v) + 4 * t * proj.tr2(v, None) + 2 * t * t * proj.tr2())
        )
        return tau2, se, 0
    if method == "PM":
        target = k - p
        y2 = ymc * ymc
        q_min = qe_func(tau2_min, ymc, v, X, y2)
        if q_min < target:
            tau2 = tau2_min
        else:
            tau2_max = float(con["tau2_max"])
            if not con.get("_tau2_max_set"):
                # metafor: con$tau2.max <- max(con$tau2.max, 10*mad(yi)^2)
                mad = _mad(y)
                tau2_max = max(tau2_max, 10.0 * mad * mad)
            q_max = qe_func(tau2_max, ymc, v, X, y2)
            if q_max > target:
                raise MetaAnalysisError(
                    "Value of 'tau2_max' too low. Try increasing 'tau2_max' or switch to "
                    "another 'method'."
                )
            tau2 = zeroin(
                lambda t: qe_func(t, ymc, v, X, y2) - target,
                tau2_min,
                tau2_max,
                tol=float(con["tol"]),
                maxiter=int(con["maxiter"]),
                f_lower=q_min - target,  # uniroot's f(lower), f(upper): the values just checked
                f_upper=q_max - target,
            )
        tau2 = max(tau2_min, tau2)
        w = 1.0 / (v + tau2)
        se = math.sqrt(2 * k**2 / (k - p) / float(w.sum()) ** 2)
        return tau2, se, 0

    # ML, REML, EB: Fisher scoring from the HE estimate (tau2 holds it here)
    tau2 = max(0.0, tau2, tau2_min) if con["tau2_init"] is None else float(con["tau2_init"])
    tau2, iterations = fisher_scoring(ymc, v, X, method, tau2, con, p)
    if method in ("ML", "REML") and con["ll0check"] and v.min() > 0:
        reml = method == "REML"
        ll0 = _ll(y, v, X, 0.0, p, reml)
        ll = _ll(y, v, X, tau2, p, reml)
        if ll0 - ll > con["tol"] and tau2 > con["threshold"]:
            tau2 = 0.0
    tau2 = max(tau2_min, tau2)
    _check_weights(v, tau2)
    w = 1.0 / (v + tau2)
    if method == "ML":
        se = math.sqrt(2.0 / dot(w, w))
    elif method == "REML":
        se = math.sqrt(2.0 / Projection(X, w).tr2())
    else:  # EB
        se = math.sqrt(2 * k**2 / (k - p) / float(w.sum()) ** 2)
    return tau2, se, iterations


def _check_weights(v, tau2: float) -> None:
    """metafor's refusals when a marginal variance vi + tau2 is not positive (vi = 0 studies
    with tau2 = 0, e.g. a common-effect model)."""
    total = v + tau2
    if total.min() < 0:
        raise MetaAnalysisError("Some marginal variances are negative.")
    if total.min() == 0:
        raise MetaAnalysisError("Division by zero when computing the inverse variance weights.")


def fisher_scoring(ymc, v, X, method, tau2, con, p):
    """metafor's Fisher scoring loop with step halving; returns (tau2, iterations)."""
    k = ymc.shape[0]
    threshold = float(con["threshold"])
    maxiter = int(con["maxiter"])
    stepadj = float(con["stepadj"])
    tau2_min = float(con["tau2_min"])
    change = threshold + 1.0
    iterations = 0
    while change > threshold:
        iterations += 1
        old = tau2
        _check_weights(v, tau2)
        w = 1.0 / (v + tau2)
        proj = Projection(X, w)
        _, r = proj.resid(ymc)
        try:
            if method == "EB":
                rss = dot(w, r * r)
                adj = (rss * k / (k - p) - k) / proj.sw
            else:
                pr = w * r
                ypppy = dot(pr, pr)
                if method == "ML":
                    adj = (ypppy - proj.sw) / dot(w, w)
                else:
                    adj = (ypppy - proj.tr()) / proj.tr2()
        except ZeroDivisionError:
            # Only with vi = 0 studies and tau2 at (or a rounding error from) 0: metafor stops
            # with the same message.
            raise MetaAnalysisError(
                "Division by zero when computing the inverse variance weights."
            ) from None
        adj *= stepadj
        if math.isnan(adj):
            adj = 0.0
        while tau2 + adj < tau2_min:
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if iterations > maxiter:
            raise MetaAnalysisError(
                "Fisher scoring algorithm did not converge. Try increasing 'maxiter' or "
                "'stepadj' in 'control', or use another 'method'."
            )
    return tau2, iterations


# --------------------------------------------------------------------------- the fit


def _level_alpha(level: float) -> float:
    level = float(level)
    if level > 1:
        return (100.0 - level) / 100.0
    if level > 0.5:
        return 1.0 - level
    return level


def fit(
    y: np.ndarray,
    v: np.ndarray,
    X: np.ndarray | None,
    coef_names: tuple[str, ...],
    method: str,
    test: str,
    level: float,
    con: dict,
    *,
    slab=None,
    measure: str = "GEN",
    int_incl: bool = True,
    tau2_fixed: float | None = None,
    compute_r2: bool = True,
) -> RMAResult:
    """Fit a validated model (internal entry point shared by all functions)."""
    k = y.shape[0]
    p = 1 if X is None else X.shape[1]
    fixed = method in FIXED_METHODS
    int_only = X is None
    if fixed:
        if p > k:
            raise MetaAnalysisError(
                "Number of parameters to be estimated is larger than the number of observations."
            )
    elif k < 2:
        raise MetaAnalysisError(
            f"A random-effects model (method='{method}') needs at least 2 studies; got {k}."
        )
    elif p + 1 > k and tau2_fixed is None:
        raise MetaAnalysisError(
            "Number of parameters to be estimated is larger than the number of observations."
        )

    iterations = 0
    if fixed:
        tau2, se_tau2 = 0.0, None
    elif tau2_fixed is not None:
        tau2, se_tau2 = float(tau2_fixed), None
    else:
        tau2, se_tau2, iterations = estimate_tau2(y, v, X, method, con, p)

    allvipos = bool(v.min() > 0)
    if not allvipos:
        _check_weights(v, tau2)
    w = 1.0 / (v + tau2)
    proj = Projection(X, w)
    beta, resid = proj.resid(y)
    rss_f = dot(w, resid * resid)
    vb = np.array([[1.0 / proj.sw]]) if int_only else proj.A.copy()
    s2w = 1.0
    ddf = None
    if test == "knha":
        s2w = 0.0 if rss_f <= DBL_EPSILON else rss_f / (k - p)
        ddf = k - p
    vb = s2w * vb

    # coefficients in the omnibus test: all but the intercept (all without intercept)
    btt = tuple(range(1 if int_incl and p > 1 else 0, p))
    m = len(btt)
    alpha = _level_alpha(level)
    if test == "knha":
        qm_df = (m, ddf)
        crit = qt_upper(alpha / 2, ddf)
    else:
        qm_df = (m, None)
        crit = qnorm_upper(alpha / 2)
    if int_only:  # scalar fast path
        b0 = float(beta[0])
        vb0 = float(vb[0, 0])
        se0 = math.sqrt(vb0)
        z0 = b0 / se0 if se0 > 0 else (math.nan if b0 == 0 else math.copysign(math.inf, b0))
        QM = b0 * b0 / vb0 if vb0 > 0 else math.nan
        if test == "knha":
            pval0 = float(pt_two_sided(z0, ddf))
            QMp = float(pf_upper(QM, m, ddf)) if ddf > 0 else math.nan
        else:
            pval0 = float(pnorm_two_sided(z0))
            QMp = float(pchisq_upper(QM, m))
        out = [b0, se0, z0, pval0, b0 - crit * se0, b0 + crit * se0]
    else:
        bt = beta[list(btt)]
        try:
            QM = float(bt @ np.linalg.solve(vb[np.ix_(btt, btt)], bt))
        except np.linalg.LinAlgError:
            QM = math.nan
        se = np.sqrt(np.diag(vb))
        with np.errstate(divide="ignore", invalid="ignore"):
            zval = beta / se
        if test == "knha":
            QM = QM / m
            QMp = float(pf_upper(QM, m, ddf)) if ddf > 0 else math.nan
            pval = pt_two_sided(zval, ddf)
        else:
            QMp = float(pchisq_upper(QM, m))
            pval = pnorm_two_sided(zval)
        out = [beta, se, zval, np.asarray(pval), beta - crit * se, beta + crit * se]

    # heterogeneity test and I^2 / H^2 from the typical within-study variance
    if not allvipos:
        # metafor: "Cannot compute Q-test, I^2, or H^2 when there are non-positive sampling
        # variances in the data" (NA, here NaN).
        QE = QEp = I2 = H2 = vt = math.nan
    elif k > p:
        proj_fe = proj if tau2 == 0 else Projection(X, 1.0 / v)
        QE = max(0.0, proj_fe.rss(y - float(y.sum()) / k))
        QEp = float(pchisq_upper(QE, k - p))
        vt = (k - p) / proj_fe.tr()
        if fixed:
            I2 = max(0.0, 100.0 * (QE - (k - p)) / QE) if QE > 0 else 0.0
            H2 = QE / (k - p)
        else:
            I2 = 100.0 * tau2 / (vt + tau2)
            H2 = tau2 / vt + 1.0
    else:
        QE, QEp, I2, H2, vt = 0.0, 1.0, 0.0, 1.0, 0.0


    r2 = None
    if not int_only and int_incl and compute_r2:
        r2 = _r2(y, v, X, beta, w, tau2, method, test, level, con, fixed, k, p)

    weights = 100.0 * w / proj.sw
    return RMAResult(
        *out,
        vb=vb,
        tau2=float(tau2),
        se_tau2=se_tau2,
        i2=float(I2),
        h2=float(H2),
        qe=float(QE),
        qep=float(QEp),
        k=k,
        weights=weights,
        method=method,
        test=test,
        level=float(level),
        p=p,
        qe_df=k - p,
        qm=QM,
        qmp=QMp,
        qm_df=qm_df,
        vt=float(vt),
        s2w=float(s2w),
        ddf=ddf,
        r2=r2,
        coef_names=coef_names,
        tau2_fixed=fixed or tau2_fixed is not None,
        yi=y,
        vi=v,
        X=np.ones((k, 1)) if X is None else X,
        slab=slab,
        control=con,
        int_only=int_only,
        int_incl=int_incl,
        iterations=iterations,
        measure=measure,
        btt=btt,
    )


def _fitstats(y, v, X, tau2, rss_f, proj, k, p, tau2_not_estimated):
    parms = p + (0 if tau2_not_estimated else 1)
    sum_log = float(np.log(v + tau2).sum())
    ll_ml = -0.5 * k * _LOG_2PI - 0.5 * sum_log - 0.5 * rss_f
    logdet_xx = math.log(k) if X is None else float(np.linalg.slogdet(X.T @ X)[1])
    ll_reml = (
        -0.5 * (k - p) * _LOG_2PI + 0.5 * logdet_xx - 0.5 * sum_log
        - 0.5 * proj.logdet_XtWX() - 0.5 * rss_f
    )
    # metafor: dev.ML = -2 ll.ML when some vi are not positive
    saturated = float((-0.5 * (_LOG_2PI + np.log(v))).sum()) if v.min() > 0 else 0.0
    dev_ml = -2.0 * (ll_ml - saturated) if k > p else 0.0

    def block(ll, dev, n):
        aicc_n = max(n, parms + 2)
        return {
            "logLik": ll,
            "deviance": dev,
            "AIC": -2 * ll + 2 * parms,
            "BIC": -2 * ll + parms * math.log(n) if n > 0 else math.nan,
            "AICc": -2 * ll + 2 * parms * aicc_n / (aicc_n - parms - 1),
        }

    return {"ML": block(ll_ml, dev_ml, k), "REML": block(ll_reml, -2.0 * ll_reml, k - p)}


def _r2(y, v, X, beta, w, tau2, method, test, level, con, fixed, k, p):
    """metafor's pseudo R^2 (r2def = "1"); adjusted weighted R^2 for common-effect models."""
    if fixed:
        if np.var(y) == 0:
            return 0.0
        wf = 1.0 / v
        fitted = X @ beta
        rss = float(wf @ (y - fitted) ** 2)
        ybar = float(wf @ y) / float(wf.sum())
        tss = float(wf @ (y - ybar) ** 2)
        r2 = 1.0 - rss / tss
        adj = 1.0 - (1.0 - r2) * (k - 1) / (k - p)
        return max(0.0, 100.0 * adj)
    try:
        tau2_re, _, _ = estimate_tau2(y, v, None, method, con, 1)
    except MetaAnalysisError:
        return None
    if tau2_re == 0:
        return 0.0
    return max(0.0, 100.0 * (tau2_re - tau2) / tau2_re)


# --------------------------------------------------------------------------- public API


def rma(
    yi,
    vi=None,
    *,
    sei=None,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    mods=None,
    intercept: bool = True,
    tau2: float | None = None,
    slab=None,
    control: dict | None = None,
) -> RMAResult:
    """Fit a meta-analytic model: metafor's ``rma(yi, vi, sei, mods, method, test, level, tau2,
    slab, intercept, control)`` (``rma.uni``).

    ``yi`` may be an :class:`EffectSizes` (then ``vi`` and ``slab`` are taken from it).
    ``method`` is one of FE/EE (common effect), DL, REML (default), ML, PM, HE, SJ, EB, HS;
    ``test`` is ``"z"`` or ``"knha"`` (Knapp-Hartung: t(k-p) and vb scaled by
    ``s2w = sum(w (y - Xb)^2) / (k - p)``, not truncated at 1). ``mods`` is a column or a
    matrix of moderators; an intercept is added unless ``intercept=False``. ``tau2`` fixes
    tau^2 at a value. ``control`` accepts metafor's names: ``threshold`` (1e-5), ``tol``
    (uniroot tolerance, ``.Machine$double.eps^0.25``), ``maxiter`` (100), ``tau2.init``,
    ``tau2.min`` (0), ``tau2.max`` (100), ``stepadj`` (1), ``ll0check`` (True).
    """
    measure = "GEN"
    if isinstance(yi, EffectSizes):
        es = yi
        yi, vi = es.yi, es.vi
        slab = es.slab if slab is None else slab
        measure = es.measure
    method = str(method).upper()
    if method not in METHODS:
        raise MetaAnalysisError(f"Unknown method {method!r}; use one of {', '.join(METHODS)}.")
    test = str(test).lower()
    if test == "hksj":
        test = "knha"
    if test not in TESTS:
        raise MetaAnalysisError(f"Unknown test {test!r}; use 'z' or 'knha'.")
    y = _as_float_array(yi, "yi")
    if vi is None:
        if sei is None:
            raise MetaAnalysisError("Must specify 'vi' or 'sei'.")
        v = _as_float_array(sei, "sei") ** 2
    else:
        v = _as_float_array(vi, "vi")
    if slab is not None:
        slab = tuple(str(s) for s in slab)
    _check_inputs(y, v, slab)
    if y.shape[0] == 0:
        raise MetaAnalysisError("No studies to analyse.")
    X, names = _model_matrix(mods, y.shape[0], intercept)
    int_incl = intercept or (X is not None and bool(np.any(np.all(X == 1.0, axis=0))))
    con = normalise_control(control)
    try:
        with np.errstate(over="raise"):
            return fit(
                y, v, X, names, method, test, level, con,
                slab=slab, measure=measure, int_incl=int_incl,
                tau2_fixed=tau2,
            )
    except (ZeroDivisionError, OverflowError, FloatingPointError) as exc:
        # Inputs within MAGNITUDE never get here; this keeps anything else a clear error.
        raise MetaAnalysisError(
            f"The model could not be computed with these numbers ({exc}); check the "
            "magnitudes of the effect sizes and variances."
        ) from None


def refit(res: RMAResult, mask=None, *, y=None, v=None, X="same", method=None,
          test=None, control=None, tau2_fixed=None, compute_r2=False) -> RMAResult:
    """Refit ``res``'s model on a subset (boolean or index ``mask``) or on new data."""
    y = res.yi if y is None else y
    v = res.vi if v is None else v
    Xm = None if res.int_only else res.X
    if X != "same":
        Xm = X
    slab = res.slab
    if mask is not None:
        y, v = y[mask], v[mask]
        Xm = None if Xm is None else Xm[mask]
        slab = None if slab is None else tuple(np.asarray(slab, dtype=object)[mask])
    return fit(
        y, v, Xm, res.coef_names if Xm is not None or res.int_only else ("intrcpt",),
        method or res.method, test or res.test, res.level,
        res.control if control is None else control,
        slab=slab, measure=res.measure, int_incl=res.int_incl, tau2_fixed=tau2_fixed,
        compute_r2=compute_r2,
    )
