"""Pooled/predicted values with confidence and prediction intervals: metafor's
``predict.rma()``; and heterogeneity confidence intervals: ``confint.rma.uni()``."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analysis.engine._core import (
    R_TOL,
    pnorm_two_sided,
    pt_two_sided,
    qchisq,
    qnorm_upper,
    qt_upper,
    zeroin,
)
from analysis.engine.errors import MetaAnalysisError
from analysis.engine.model import FIXED_METHODS, RMAResult, _level_alpha, fit, qe_func


def _ilogit(x):
    return 1.0 / (1.0 + np.exp(-x))


TRANSFORMS: dict[str, Callable] = {
    "exp": np.exp,  # log RR / log OR -> ratio (metafor: exp or transf.exp.int)
    "tanh": np.tanh,  # ZCOR -> r (metafor: transf.ztor)
    "ztor": np.tanh,
    "ilogit": _ilogit,  # PLO -> proportion (metafor: transf.ilogit / plogis)
    "logistic": _ilogit,
    "plogis": _ilogit,
}


def resolve_transf(transf):
    if transf is None or callable(transf):
        return transf
    try:
        return TRANSFORMS[str(transf)]
    except KeyError:
        raise MetaAnalysisError(
            f"Unknown transf {transf!r}; use one of {', '.join(TRANSFORMS)} or a function."
        ) from None


@dataclass(frozen=True, eq=False)
class Prediction:
    """metafor's ``predict()`` output. ``pi_lb``/``pi_ub`` are None for common-effect models
    (no between-study variance, so no prediction interval); ``se`` is None after ``transf``."""

    pred: float | np.ndarray
    se: float | np.ndarray | None
    ci_lb: float | np.ndarray
    ci_ub: float | np.ndarray
    pi_lb: float | np.ndarray | None
    pi_ub: float | np.ndarray | None
    pi_type: str = "default"
    transf: str | None = None

    def as_dict(self) -> dict:
        def conv(x):
            if x is None:
                return None
            if isinstance(x, np.ndarray):
                return x.tolist()
            return float(x)

        return {key: conv(getattr(self, key)) for key in
                ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub")}


def predict(
    res: RMAResult,
    newmods=None,
    *,
    transf=None,
    level: float | None = None,
    pi_type: str = "default",
) -> Prediction:
    """Predicted (pooled) value with CI and prediction interval: metafor's
    ``predict(object, newmods, level, transf, pi.type)``.

    Critical value: the normal quantile for ``test="z"`` models, t with k - p degrees of
    freedom for ``test="knha"`` (with the Knapp-Hartung standard error); the prediction interval
    is ``pred +/- crit * sqrt(se^2 + tau2)``. ``pi_type="riley"`` uses t with k - p - 1 degrees
    of freedom for the prediction interval (t_{k-2} without moderators). ``transf`` ("exp",
    "tanh", "ilogit" or a function) back-transforms the estimate and the bounds.
    """
    if pi_type not in ("default", "riley"):
        raise MetaAnalysisError("pi_type must be 'default' or 'riley'.")
    alpha = _level_alpha(res.level if level is None else level)
    if res.int_only:
        if newmods is not None:
            raise MetaAnalysisError("'newmods' given for a model without moderators.")
        Xnew = np.ones((1, 1))
    elif newmods is None:
        Xnew = res.X
    else:
        Xnew = np.atleast_2d(np.asarray(newmods, dtype=float))
        if res.int_incl and Xnew.shape[1] == res.p - 1:
            Xnew = np.column_stack([np.ones(Xnew.shape[0]), Xnew])
        if Xnew.shape[1] != res.p:
            raise MetaAnalysisError(
                f"'newmods' must have {res.p - int(res.int_incl)} columns (got {Xnew.shape[1]})."
            )
    beta = np.atleast_1d(np.asarray(res.b, dtype=float))
    pred = Xnew @ beta
    vpred = np.einsum("ij,jk,ik->i", Xnew, res.vb, Xnew)
    se = np.sqrt(vpred)
    crit = qt_upper(alpha / 2, res.ddf) if res.test == "knha" else qnorm_upper(alpha / 2)
    ci_lb, ci_ub = pred - crit * se, pred + crit * se
    if res.method in FIXED_METHODS:
        pi_lb = pi_ub = None
    else:
        if pi_type == "riley":
            df = res.k - res.p - 1
            if df <= 0:
                raise MetaAnalysisError("pi_type='riley' needs k - p - 1 > 0.")
            pcrit = qt_upper(alpha / 2, df)
        else:
            pcrit = crit
        half = pcrit * np.sqrt(vpred + res.tau2)
        pi_lb, pi_ub = pred - half, pred + half
    func = resolve_transf(transf)
    name = transf if isinstance(transf, str) else getattr(transf, "__name__", None)
    if func is not None:
        pred = func(pred)
        ci_lb, ci_ub = np.sort(np.vstack([func(ci_lb), func(ci_ub)]), axis=0)
        if pi_lb is not None:
            pi_lb, pi_ub = np.sort(np.vstack([func(pi_lb), func(pi_ub)]), axis=0)
        se = None

    def out(x):
        if x is None:
            return None
        x = np.asarray(x, dtype=float)
        return float(x[0]) if res.int_only else x

    return Prediction(out(pred), out(se), out(ci_lb), out(ci_ub), out(pi_lb), out(pi_ub),
                      pi_type=pi_type, transf=name)


# --------------------------------------------------------------------------- confint


@dataclass(frozen=True, eq=False)
class ConfintResult:
    """metafor's ``confint(res)`` random-effects block: each of ``tau2``, ``tau``, ``i2``
    (percent), ``h2`` is ``(estimate, ci_lb, ci_ub)``. ``lb_sign``/``ub_sign`` are "<" or ">"
    when a bound lies beyond the searched interval (as metafor prints them); ``ci_null`` is
    True when the interval is the null set."""

    tau2: tuple[float, float, float]
    tau: tuple[float, float, float]
    i2: tuple[float, float, float]
    h2: tuple[float, float, float]
    type: str
    level: float
    lb_sign: str = ""
    ub_sign: str = ""
    ci_null: bool = False

    def as_dict(self) -> dict:
        return {
            "tau2": list(self.tau2), "tau": list(self.tau), "i2": list(self.i2),
            "h2": list(self.h2), "type": self.type, "level": self.level,
            "lb_sign": self.lb_sign, "ub_sign": self.ub_sign, "ci_null": self.ci_null,
        }


def genq_upper_tail(q: float, lambdas) -> float:
    """P(sum_j lambda_j chi2_1 > q): the upper tail of a positive combination of independent
    chi-square(1) variables, by Imhof's (1961) inversion formula (what CompQuadForm's
    ``farebrother()`` returns for metafor's GENQ intervals)."""
    from scipy.integrate import quad

    lam = np.asarray(lambdas, dtype=float)
    lam = lam[lam > 1e-12 * max(float(lam.max(initial=0.0)), 1e-300)]
    if lam.size == 0:
        return 0.0 if q > 0 else 1.0

    if q <= 0:
        return 1.0

    def phi(u):
        return 0.5 * float(np.sum(np.arctan(lam * u)))

    def inv_rho_u(u):  # 1 / (u rho(u)), in logs: rho overflows for many large lambda u
        return math.exp(-math.log(u) - 0.25 * float(np.sum(np.log1p((lam * u) ** 2))))

    def integrand(u: float) -> float:
        if u == 0.0:
            return 0.5 * (float(lam.sum()) - q)
        return math.sin(phi(u) - 0.5 * q * u) * inv_rho_u(u)

    import warnings

    # [0, U] directly; beyond, sin(phi - q u / 2) = sin(phi) cos(q u / 2) - cos(phi) sin(q u / 2)
    # with phi slowly varying: Fourier integrals (QUADPACK's QAWF), accurate however slowly
    # the tail decays (one chi-square: as u^-1.5)
    cut = 4.0 * math.pi / q
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quad's round-off notice near its attainable accuracy
        head, _ = quad(integrand, 0.0, cut, limit=1000, epsabs=1e-13, epsrel=1e-12)
        tail_c, _ = quad(lambda u: math.sin(phi(u)) * inv_rho_u(u), cut, np.inf, weight="cos",
                         wvar=0.5 * q, limlst=200, epsabs=1e-13)
        tail_s, _ = quad(lambda u: math.cos(phi(u)) * inv_rho_u(u), cut, np.inf, weight="sin",
                         wvar=0.5 * q, limlst=200, epsabs=1e-13)
    value = head + tail_c - tail_s
    return min(1.0, max(0.0, 0.5 + value / math.pi))


def _genq_parts(res: RMAResult, weights) -> tuple[np.ndarray, float]:
    """The generalised Q statistic y'Py with P = A - AX(X'AX)^-1X'A, A = diag(weights)."""
    w = np.asarray(weights, dtype=float).reshape(-1)
    if w.shape[0] != res.k or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise MetaAnalysisError(f"GENQ needs {res.k} positive, finite weights.")
    X = res.X if not res.int_only else np.ones((res.k, 1))
    A = np.diag(w)
    P = A - A @ X @ np.linalg.solve(X.T @ A @ X, X.T @ A)
    P = (P + P.T) / 2
    return P, float(res.yi @ P @ res.yi)


def confint(
    res: RMAResult, *, level: float | None = None, type: str = "QP", control: dict | None = None,
    weights=None,
) -> ConfintResult:
    """Confidence intervals for tau^2, tau, I^2 and H^2: metafor's ``confint(object, level,
    type, control)`` for ``rma.uni`` models.

    ``type="QP"`` (default) is the Q-profile method (Viechtbauer 2007): the bounds solve
    ``Q(tau2) = qchisq(1-alpha/2, k-p)`` and ``qchisq(alpha/2, k-p)`` with R's ``uniroot``
    (``tol`` default ``.Machine$double.eps^0.25``, ``maxiter`` 1000) on
    ``[tau2.min, tau2.max] = [min(0, tau2), max(100, 10 tau2)]``. ``type="PL"`` is the profile
    likelihood interval for ML/REML fits. ``control`` takes ``tol``, ``maxiter``, ``tau2.min``,
    ``tau2.max``. I^2 and H^2 bounds are derived from the tau^2 bounds with the model's typical
    within-study variance ``vt``.

    ``type="GENQ"`` is Jackson's (2013) generalised Cochran Q interval with ``weights``
    (metafor's ``confint(rma(..., method = "GENQ", weights = ...))``; meta's
    ``method.tau.ci = "J"`` with weights ``1/seTE``, its default for DerSimonian-Laird): the
    bounds solve ``P(Q_a > q_a; tau2) = alpha/2`` and ``1 - alpha/2``, Q_a a combination of
    chi-square(1) variables with the eigenvalues of ``S P S``, ``S = diag(sqrt(vi + tau2))``.
    """
    if res.method in FIXED_METHODS:
        raise MetaAnalysisError("Model does not contain a random-effects component.")
    type_ = str(type).upper()
    if type_ not in ("QP", "PL", "GENQ"):
        raise MetaAnalysisError(
            "type must be 'QP' (Q-profile), 'PL' (profile likelihood) or 'GENQ' "
            "(generalised Q, with weights).")
    if (type_ == "GENQ") != (weights is not None):
        raise MetaAnalysisError("weights are given with type='GENQ', and only then.")
    con = {"tol": R_TOL, "maxiter": 1000, "tau2_min": min(0.0, res.tau2),
           "tau2_max": max(100.0, res.tau2 * 10, min(0.0, res.tau2) * 10)}
    for key, value in (control or {}).items():
        name = key.replace(".", "_")
        if name not in con:
            raise MetaAnalysisError(f"Unknown control option {key!r} for confint().")
        con[name] = value
    tol, maxiter = float(con["tol"]), int(con["maxiter"])
    tmin, tmax = float(con["tau2_min"]), float(con["tau2_max"])
    lvl = res.level if level is None else level
    alpha = _level_alpha(lvl)
    k, p = res.k, res.p
    y, v = res.yi, res.vi
    X = None if res.int_only else res.X
    lb = ub = math.nan
    lb_sign = ub_sign = ""
    ci_null = False

    if type_ == "GENQ":
        P, q_obs = _genq_parts(res, weights)
        m = k - p

        def tail(t: float) -> float:  # rises with tau2
            sq_v = np.sqrt(v + t)
            lam = np.linalg.eigvalsh(sq_v[:, None] * P * sq_v[None, :])[::-1][:m]
            return genq_upper_tail(q_obs, lam)

        t_max, t_min = tail(tmax), tail(tmin)
        if t_min > 1 - alpha / 2:
            lb = ub = tmin
            lb_sign = ub_sign = "<"
            ci_null = tmin <= 0
        elif t_max < 1 - alpha / 2:
            ub, ub_sign = tmax, ">"
        else:
            ub = zeroin(lambda t: (1 - tail(t)) - alpha / 2, tmin, tmax, tol, maxiter,
                        (1 - t_min) - alpha / 2, (1 - t_max) - alpha / 2)
        if t_max < alpha / 2:
            lb = ub = tmax
            lb_sign = ub_sign = ">"
        elif t_min > alpha / 2:
            lb = tmin
            if tmin > 0:
                lb_sign = "<"
        else:
            lb = zeroin(lambda t: tail(t) - alpha / 2, tmin, tmax, tol, maxiter,
                        t_min - alpha / 2, t_max - alpha / 2)
    elif type_ == "QP":
        yq = y - float(y.sum()) / k if res.int_incl else y  # Q is invariant; centring is exact-er
        crit_u = qchisq(1 - alpha / 2, k - p)
        crit_l = qchisq(alpha / 2, k - p)
        q_max = qe_func(tmax, yq, v, X)
        q_min = qe_func(tmin, yq, v, X)
        if q_min < crit_l:
            lb = ub = tmin
            lb_sign = ub_sign = "<"
            ci_null = tmin <= 0
        elif q_max > crit_l:
            ub, ub_sign = tmax, ">"
        else:
            ub = zeroin(lambda t: qe_func(t, yq, v, X) - crit_l, tmin, tmax, tol, maxiter,
                        q_min - crit_l, q_max - crit_l)
        if q_max > crit_u:
            lb = ub = tmax
            lb_sign = ub_sign = ">"
        elif q_min < crit_u:
            lb = tmin
            if tmin > 0:
                lb_sign = "<"
        else:
            lb = zeroin(lambda t: qe_func(t, yq, v, X) - crit_u, tmin, tmax, tol, maxiter,
                        q_min - crit_u, q_max - crit_u)
    else:
        if res.method not in ("ML", "REML"):
            raise MetaAnalysisError("Profile-likelihood intervals need method='ML' or 'REML'.")
        reml = res.method == "REML"
        objective = qchisq(1 - alpha, 1)
        ll_hat = res.fitstats["REML" if reml else "ML"]["logLik"]

        def f(t):
            fixed = fit(y, v, X, res.coef_names, res.method, res.test, res.level, res.control,
                        int_incl=res.int_incl, tau2_fixed=t, compute_r2=False)
            ll = fixed.fitstats["REML" if reml else "ML"]["logLik"]
            return -2.0 * (ll - ll_hat) - objective

        f_min = f(tmin)
        if f_min < 0:
            lb = tmin
            if tmin > 0:
                lb_sign = "<"
        else:
            lb = zeroin(f, tmin, res.tau2, tol, maxiter, f_min, f(res.tau2))
        f_max = f(tmax)
        if f_max < 0:
            ub, ub_sign = tmax, ">"
        else:
            ub = zeroin(f, res.tau2, tmax, tol, maxiter, f(res.tau2), f_max)

    vt = res.vt

    def i2(t):
        return 100.0 * t / (vt + t)

    def h2(t):
        return t / vt + 1.0

    def sq(t):
        return math.sqrt(t) if t >= 0 else math.nan

    return ConfintResult(
        tau2=(res.tau2, lb, ub),
        tau=(sq(res.tau2), sq(lb), sq(ub)),
        i2=(res.i2, i2(lb), i2(ub)),
        h2=(res.h2, h2(lb), h2(ub)),
        type=type_,
        level=float(lvl),
        lb_sign=lb_sign,
        ub_sign=ub_sign,
        ci_null=ci_null,
    )



# --------------------------------------------------------------------------- meta's intervals

PREDICT_METHODS = ("z", "V", "HTS", "HK")
_PREDICT_ALIASES = {"S": "z", "Z": "z", "NORMAL": "z", "V": "V", "T": "V", "HTS": "HTS",
                    "RILEY": "HTS", "HK": "HK"}
RANDOM_CI_METHODS = ("classic", "HK")
ADHOC_HAKN = ("", "se", "ci", "IQWiG6")


def _alpha(level: float) -> float:
    lvl = float(level)
    if lvl > 1:
        lvl /= 100.0
    if not 0 < lvl < 1:
        raise MetaAnalysisError(f"level must be in (0, 1) or (0, 100); got {level!r}.")
    return 1.0 - lvl


@dataclass(frozen=True)
class PredictionInterval:
    """A prediction interval: ``lower``, ``upper``, its standard error ``se`` (meta's
    ``seTE.predict``), the t degrees of freedom ``df`` (None: normal quantile) and the
    ``method``. ``lower``/``upper`` are None, with the reason in ``note``, when the method has
    no degrees of freedom left (HTS with k < 3, V and HK with k < 2), as meta gives NA."""

    lower: float | None
    upper: float | None
    se: float
    df: int | None
    method: str
    note: str = ""


def prediction_interval(
    estimate: float, se: float, tau2: float, k: int, *, method: str = "V",
    level: float = 0.95, se_hakn: float | None = None,
) -> PredictionInterval:
    """Prediction interval for the effect in a new study, ``estimate +/- crit * se_pred``,
    ``se_pred = sqrt(se^2 + tau2)``, by ``method``:

    * ``"z"`` (alias ``"S"``): normal quantile, metafor's ``predict()`` default and meta's
      ``method.predict = "S"``;
    * ``"V"`` (alias ``"t"``): t with k - 1 df, meta's default ``method.predict = "V"``;
    * ``"HTS"`` (alias ``"riley"``): t with k - 2 df, Higgins, Thompson & Spiegelhalter (2009),
      meta's ``method.predict = "HTS"``, metafor's ``predict(pi.type = "Riley")`` without
      moderators;
    * ``"HK"``: t with k - 1 df and the Hartung-Knapp standard error ``se_hakn`` in place of
      ``se`` (meta's ``method.predict = "HK"``, ``seTE.hakn.pi``).

    ``level`` as a proportion (0.95) or a percentage (95).
    """
    key = _PREDICT_ALIASES.get(str(method).upper())
    if key is None:
        raise MetaAnalysisError(
            f"Unknown prediction interval method {method!r}; use one of "
            f"{', '.join(PREDICT_METHODS)} (or S, t, riley).")
    alpha = _alpha(level)
    for name, x in (("estimate", estimate), ("se", se), ("tau2", tau2)):
        if x is None or not math.isfinite(float(x)):
            raise MetaAnalysisError(f"prediction_interval: {name} must be a finite number.")
    if se < 0 or tau2 < 0:
        raise MetaAnalysisError("prediction_interval: se and tau2 must be >= 0.")
    if key == "HK":
        if se_hakn is None or not math.isfinite(float(se_hakn)):
            raise MetaAnalysisError("method 'HK' needs the Hartung-Knapp standard error se_hakn.")
        se = float(se_hakn)
    se_pred = math.sqrt(se * se + tau2)
    if key == "z":
        crit, df = qnorm_upper(alpha / 2), None
    else:
        df = int(k) - (2 if key == "HTS" else 1)
        if df < 1:
            return PredictionInterval(None, None, se_pred, df, key,
                                      f"method {key} needs k > {int(k) - df} studies (k = {k}).")
        crit = qt_upper(alpha / 2, df)
    return PredictionInterval(estimate - crit * se_pred, estimate + crit * se_pred, se_pred,
                              df, key)


def hartung_knapp_se(yi, vi, tau2: float, estimate: float) -> float:
    """Hartung-Knapp (Knapp-Hartung) standard error of an intercept-only random-effects
    estimate, not truncated: ``sqrt(sum w (y - est)^2 / ((k - 1) sum w))``, ``w = 1/(vi +
    tau2)``; metafor's ``rma(test = "knha")`` ``se`` and meta's ``seTE.hakn.ci``. Needs k >= 2."""
    y = np.asarray(yi, dtype=float)
    w = 1.0 / (np.asarray(vi, dtype=float) + tau2)
    k = y.shape[0]
    if k < 2:
        raise MetaAnalysisError("The Hartung-Knapp method needs at least 2 studies.")
    s2w = float(np.sum(w * (y - estimate) ** 2)) / (k - 1)
    return math.sqrt(s2w / float(w.sum()))


@dataclass(frozen=True)
class RandomCI:
    """Confidence interval of the random-effects estimate as meta reports it: ``se`` used for
    the interval (meta's ``seTE.random``), ``df`` (None: normal quantile, meta's
    ``df.random = Inf``), ``statistic``, ``pval``, and the Hartung-Knapp SEs ``se_hakn``
    (``seTE.hakn.ci``) and ``se_hakn_adhoc`` (``seTE.hakn.adhoc.ci``; None for classic)."""

    lower: float | None
    upper: float | None
    se: float
    df: int | None
    statistic: float | None
    pval: float | None
    method: str
    adhoc: str
    se_classic: float
    se_hakn: float | None
    se_hakn_adhoc: float | None
    note: str = ""


def random_ci(
    estimate: float, se_classic: float, yi, vi, tau2: float, *, method: str = "classic",
    adhoc: str = "", level: float = 0.95, null_effect: float | None = 0.0,
) -> RandomCI:
    """CI, test statistic and p-value of a random-effects estimate: meta's
    ``method.random.ci`` and ``adhoc.hakn.ci``.

    * ``method="classic"``: ``estimate +/- z se_classic`` (metafor's ``test = "z"``);
    * ``method="HK"``: Hartung-Knapp, t(k - 1) with :func:`hartung_knapp_se`, no truncation
      (metafor's ``test = "knha"``), and meta's ad hoc variants ``adhoc``:
      ``"se"`` uses ``max(se_hakn, se_classic)`` with t(k - 1) (Knapp & Hartung 2003: the
      scaling factor truncated at 1, s2w >= 1); ``"ci"`` takes the wider of the HK interval
      and the classic normal interval (Jackson et al. 2017, hybrid method 2; when the
      classic one is wider it is used, with the normal quantile); ``"IQWiG6"`` (IQWiG 2020)
      applies the ``"se"`` correction only when the HK interval is narrower than the
      classic interval of a DerSimonian-Laird random-effects fit of the same data.

    ``null_effect=None`` gives no test (``statistic``/``pval`` None, meta's
    ``null.effect = NA`` as in ``metaprop``).
    """
    if method not in RANDOM_CI_METHODS:
        raise MetaAnalysisError(
            f"Unknown method_random_ci {method!r}; use 'classic' or 'HK'.")
    if adhoc not in ADHOC_HAKN:
        raise MetaAnalysisError(
            f"Unknown adhoc_hakn_ci {adhoc!r}; use '', 'se', 'ci' or 'IQWiG6'.")
    alpha = _alpha(level)
    k = int(np.asarray(yi).shape[0])
    se_hakn = hartung_knapp_se(yi, vi, tau2, estimate) if k >= 2 else None

    def normal(se: float):
        crit = qnorm_upper(alpha / 2)
        stat = (estimate - null_effect) / se if se > 0 and null_effect is not None else None
        pval = None if stat is None else float(pnorm_two_sided(stat))
        return estimate - crit * se, estimate + crit * se, stat, pval

    if method == "classic":
        lo, hi, stat, pval = normal(se_classic)
        return RandomCI(lo, hi, se_classic, None, stat, pval, "classic", adhoc, se_classic,
                        se_hakn, None)
    if se_hakn is None:
        return RandomCI(None, None, se_classic, 0, None, None, "HK", adhoc, se_classic, None,
                        None, "The Hartung-Knapp method needs at least 2 studies.")
    df = k - 1
    tcrit = qt_upper(alpha / 2, df)
    se = se_hakn
    if adhoc == "se" or (adhoc == "IQWiG6" and tcrit * se_hakn
                         < qnorm_upper(alpha / 2) * _dl_se(yi, vi)):
        se = max(se_hakn, se_classic)
    if adhoc == "ci" and tcrit * se_hakn < qnorm_upper(alpha / 2) * se_classic:
        lo, hi, stat, pval = normal(se_classic)
        return RandomCI(lo, hi, se_classic, None, stat, pval, "HK", adhoc, se_classic,
                        se_hakn, se_classic)
    stat = (estimate - null_effect) / se if se > 0 and null_effect is not None else None
    pval = None if stat is None else float(pt_two_sided(stat, df))
    return RandomCI(estimate - tcrit * se, estimate + tcrit * se, se, df, stat, pval, "HK",
                    adhoc, se_classic, se_hakn, se)



def _dl_se(yi, vi) -> float:
    """Standard error of the DerSimonian-Laird random-effects estimate (intercept only)."""
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    w = 1.0 / v
    s1 = float(w.sum())
    mu = float(np.sum(w * y)) / s1
    q = float(np.sum(w * (y - mu) ** 2))
    tau2 = max(0.0, (q - (y.shape[0] - 1)) / (s1 - float((w**2).sum()) / s1))
    return 1.0 / math.sqrt(float(np.sum(1.0 / (v + tau2))))
