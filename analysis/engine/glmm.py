"""Binomial-normal GLMM for proportions: metafor's ``rma.glmm(measure="PLO")``.

The model: ``xi ~ Binomial(ni, expit(beta + u_i))``, ``u_i ~ N(0, tau^2)``, fitted by maximum
likelihood (``method="ML"``) as metafor 3.8-1 does through ``lme4::glmer(cbind(xi, mi) ~ 1 +
(1 | study), family = binomial, nAGQ = 7)``: the marginal likelihood is approximated by
*adaptive Gauss-Hermite quadrature* with ``nAGQ`` points per study (7 is rma.glmm's default,
1 is the Laplace approximation), centred at each study's conditional mode and scaled by the
curvature there, exactly as lme4's ``glmerAGQ``::

    D(beta, theta) = sum_i [ dev_i(u_i^) + u_i^2 + 2 log L_i
                             - 2 log sum_k w_k exp(-(devc_i(u^ + z_k / L_i) - devc_i(u^)) / 2
                                                   + z_k^2 / 2) ]

with ``theta = tau``, ``b = theta u``, ``L_i^2 = 1 + theta^2 ni mu_i (1 - mu_i)`` at the mode
and ``devc = binomial deviance residual + u^2``. ``D`` is minimised over ``(theta, beta)``
jointly (lme4's second stage); the standard error of ``beta`` is, as lme4's ``vcov()``,
from the inverse Hessian of ``D`` over ``(theta, beta)`` (``2 H^-1``, beta block). lme4's
optimiser stops a little short of the optimum (Nelder-Mead), so estimates agree with R to
about 1e-6 relative; this module finds the optimum to machine precision.

``method="EE"`` (common effect) is the plain logistic regression ``glm(cbind(xi, mi) ~ 1,
family = binomial)``. The heterogeneity tests are metafor's: the Wald-type test of the
saturated logistic model (one parameter per study) and the likelihood-ratio test of the
common-effect against the saturated model, both with ``k - 1`` df. Both glm fits are
reproduced iteration by iteration (IRLS from R's ``mustart``, stopping rule
``|dev - devold| / (|dev| + 0.1) < 1e-8``, at most 25 iterations), so that studies with
``xi = 0`` or ``xi = ni``, whose saturated estimates diverge, contribute what they do in R.

R's meta 8.4-0 uses this for its ``metaprop()`` default (``method = "GLMM"``, ``sm =
"PLOGIT"``): ``TE.random`` = the ML fit, ``TE.common`` = the EE fit, ``Q`` = (Wald, LRT).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize
from scipy.special import expit, xlogy

from analysis.engine._core import pchisq_upper, pnorm_two_sided, pt_two_sided, qnorm_upper, qt_upper
from analysis.engine.errors import MetaAnalysisError, study_name

GLMM_METHODS = ("ML", "EE", "FE", "CE")
GLM_EPSILON = 1e-8  # glm.control()$epsilon
GLM_MAXIT = 25  # glm.control()$maxit
DERIV_DELTA = 4e-3  # finite-difference step (extrapolated) for the gradient and the Hessian


@dataclass(frozen=True, eq=False)
class GLMMResult:
    """A fitted ``rma.glmm`` model (metafor's names, lower-cased, dots as underscores).

    ``b, se, zval, pval, ci_lb, ci_ub`` on the logit scale; ``tau2`` (0 for EE);
    ``qe_wld, qep_wld, qe_lrt, qep_lrt, qe_df`` metafor's heterogeneity tests (meta's ``Q``
    with ``Q_names = ("Wald", "LRT")``); ``i2`` (percent) and ``h2`` metafor's tau^2-based
    values with the typical variance ``vt`` of the ``escalc("PLO")`` variances; ``ll`` as
    metafor's ``fit.stats["ll", "ML"]``. ``i2_q``, ``h_q`` are meta's Q-based I^2 (proportion)
    and H from the Wald Q.
    """

    b: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    tau2: float
    qe_wld: float
    qep_wld: float
    qe_lrt: float
    qep_lrt: float
    qe_df: int
    i2: float
    h2: float
    vt: float
    ll: float
    k: int
    method: str
    nAGQ: int
    test: str
    level: float
    ddf: int | None
    measure: str = "PLO"
    xi: np.ndarray = field(default=None, repr=False)
    ni: np.ndarray = field(default=None, repr=False)
    slab: tuple[str, ...] | None = field(default=None, repr=False)

    def predict(self, transf=None) -> dict:
        """metafor's ``predict(res, transf=)`` of an ``rma.glmm`` fit: ``pred, se, ci_lb,
        ci_ub, pi_lb, pi_ub`` with ``pi = pred -/+ crit sqrt(se^2 + tau2)``, ``crit`` the
        normal quantile (``test="z"``) or t(k - 1) (``test="t"``). ``transf="ilogit"`` (or a
        function) back-transforms pred and the bounds (se is then None), as metafor does."""
        alpha = (100.0 - self.level) / 100.0
        crit = qt_upper(alpha / 2, self.ddf) if self.ddf else qnorm_upper(alpha / 2)
        half = crit * math.sqrt(self.se**2 + self.tau2)
        out = {"pred": self.b, "se": self.se, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub,
               "pi_lb": self.b - half, "pi_ub": self.b + half}
        if transf is not None:
            func = expit if transf == "ilogit" else transf
            if not callable(func):
                raise MetaAnalysisError("'transf' must be 'ilogit' or a function.")
            out = {key: (None if key == "se" else float(func(value))) for key, value in out.items()}
        return out

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    @property
    def i2_q(self) -> float:
        """meta's I^2 from the Wald Q: max(0, (Q - df) / Q) (a proportion)."""
        q, df = self.qe_wld, self.qe_df
        return max(0.0, (q - df) / q) if q > 0 else 0.0

    @property
    def h_q(self) -> float:
        """meta's H from the Wald Q: sqrt(Q / df), at least 1."""
        return max(1.0, math.sqrt(self.qe_wld / self.qe_df)) if self.qe_df > 0 else 1.0


# ---------------------------------------------------------------------------- inputs


def check_counts(xi, ni, slab=None) -> tuple[np.ndarray, np.ndarray, tuple[str, ...] | None]:
    """Validate event counts ``xi`` out of ``ni`` (whole numbers, 0 <= xi <= ni, ni > 0)."""
    arrays = []
    for name, values in (("xi", xi), ("ni", ni)):
        if values is None:
            raise MetaAnalysisError(f"Proportions need 'xi' and 'ni'; missing: {name}.")
        try:
            arr = np.asarray(values, dtype=float).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise MetaAnalysisError(f"'{name}' must be numeric.") from exc
        arrays.append(arr)
    x, n = arrays
    if x.shape[0] != n.shape[0]:
        raise MetaAnalysisError(
            f"Inputs have different lengths ('xi' has {x.shape[0]}, 'ni' has {n.shape[0]})."
        )
    if slab is not None:
        slab = tuple(str(s) for s in slab)
        if len(slab) != x.shape[0]:
            raise MetaAnalysisError(f"'slab' has {len(slab)} labels for {x.shape[0]} studies.")
    if x.shape[0] == 0:
        raise MetaAnalysisError("No studies to analyse.")
    for name, arr in (("xi", x), ("ni", n)):
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise MetaAnalysisError(
                f"Missing or non-finite value of '{name}' for {study_name(i, slab)}."
            )
    checks = (
        (n <= 0, lambda i: (f"Sample size must be positive in {study_name(i, slab)} "
                            f"(ni = {n[i]:g}).")),
        (x < 0, lambda i: f"Negative count in {study_name(i, slab)} (xi = {x[i]:g})."),
        (x > n, lambda i: (f"Events exceed the sample size in {study_name(i, slab)} "
                           f"(xi = {x[i]:g} > ni = {n[i]:g}).")),
    )
    for mask, message in checks:
        if mask.any():
            raise MetaAnalysisError(message(int(np.flatnonzero(mask)[0])))
    return x, n, slab


def _check_whole(x, n, slab):
    for name, arr in (("xi", x), ("ni", n)):
        bad = arr != np.round(arr)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise MetaAnalysisError(
                f"The binomial GLMM needs whole counts: '{name}' = {arr[i]:g} in "
                f"{study_name(i, slab)}."
            )


# ---------------------------------------------------------------------------- glm fits


def _dev_resids(x, n, mu):
    """binomial()$dev.resids with y = x/n, weights n (per study)."""
    m = n - x
    return 2.0 * (xlogy(x, x / (n * mu)) + xlogy(m, m / (n * (1.0 - mu))))


def _glm_common(x, n):
    """glm(cbind(x, n - x) ~ 1, binomial) as R's glm.fit iterates it.

    Returns (beta, var_beta, deviance, converged)."""
    y = x / n
    mu = (n * y + 0.5) / (n + 1.0)
    eta = np.log(mu / (1.0 - mu))
    devold = float(np.sum(_dev_resids(x, n, mu)))
    beta = math.nan
    wsum = math.nan
    dev = devold
    with np.errstate(all="ignore"):
        for _ in range(GLM_MAXIT):
            var = mu * (1.0 - mu)  # = mu.eta for the logit link
            z = eta + (y - mu) / var
            w = n * var
            wsum = float(np.sum(w))
            beta = float(np.sum(w * z) / wsum)
            eta = np.full_like(x, beta)
            mu = expit(eta)
            dev = float(np.sum(_dev_resids(x, n, mu)))
            if not (math.isfinite(dev) and math.isfinite(beta)):
                break
            if abs(dev - devold) / (abs(dev) + 0.1) < GLM_EPSILON:
                return beta, 1.0 / wsum, dev, True
            devold = dev
    # R's IRLS (no step halving for finite deviances) can oscillate and diverge from its
    # start (e.g. xi = 3/95 and 89/89: R returns -2e15). The MLE is closed-form:
    p = float(np.sum(x) / np.sum(n))
    beta = math.log(p / (1.0 - p))
    mu = np.full_like(x, p)
    return beta, 1.0 / float(np.sum(n * p * (1.0 - p))), float(np.sum(_dev_resids(x, n, mu))), False


def _glm_saturated(x, n):
    """glm(cbind(x, n - x) ~ study, binomial): one logit per study, IRLS as R's glm.fit.

    Returns (eta, weights of the last iteration, deviance)."""
    y = x / n
    mu = (n * y + 0.5) / (n + 1.0)
    eta = np.log(mu / (1.0 - mu))
    devold = float(np.sum(_dev_resids(x, n, mu)))
    w = n * mu * (1.0 - mu)
    dev = devold
    with np.errstate(all="ignore"):
        for _ in range(GLM_MAXIT):
            var = mu * (1.0 - mu)
            w = n * var
            eta = eta + (y - mu) / var
            mu = expit(eta)
            dev = float(np.sum(_dev_resids(x, n, mu)))
            if not math.isfinite(dev):
                break
            if abs(dev - devold) / (abs(dev) + 0.1) < GLM_EPSILON:
                break
            devold = dev
    if not (math.isfinite(dev) and np.all(np.isfinite(eta)) and np.all(np.isfinite(w))):
        raise MetaAnalysisError(
            "The saturated logistic model (one logit per study) behind the heterogeneity tests "
            "could not be fitted with these counts."
        )
    return eta, w, dev


def _dev_resids_eta(x, n, eta):
    """Binomial deviance residuals from the linear predictor (no under- or overflow of mu)."""
    m = n - x
    log_mu = -np.logaddexp(0.0, -eta)
    log_1mu = -np.logaddexp(0.0, eta)
    return 2.0 * (xlogy(x, x / n) - x * log_mu + xlogy(m, m / n) - m * log_1mu)


def _wald_q(eta, w):
    """Wald test that all study logits are equal: b2' V^-1 b2 of the saturated glm."""
    wsum = float(np.sum(w))
    mean = float(np.sum(w * eta) / wsum)
    return float(np.sum(w * (eta - mean) ** 2))


# ---------------------------------------------------------------------------- AGQ deviance


def gh_rule(n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """lme4's ``GHrule(nAGQ)``: Gauss-Hermite nodes and weights for the standard normal."""
    z, w = np.polynomial.hermite_e.hermegauss(n_points)
    return z, w / w.sum()


def _modes(x, n, beta, theta):
    """Conditional modes u^ of each study's u (N(0, 1) scale): Newton with step halving on
    the concave log density ``x eta - n log(1 + e^eta) - u^2 / 2``, ``eta = beta + theta u``."""

    m = n - x

    def logdens(u):  # without cancellation at large |eta|
        eta = beta + theta * u
        return -x * np.logaddexp(0.0, -eta) - m * np.logaddexp(0.0, eta) - 0.5 * u * u

    u = np.zeros_like(x)
    h_u = logdens(u)
    for _ in range(200):
        mu = expit(beta + theta * u)
        grad = theta * (x - n * mu) - u
        hess = 1.0 + theta * theta * n * mu * (1.0 - mu)
        newton = grad / hess
        step = newton
        for _ in range(60):
            u_new = u + step
            h_new = logdens(u_new)
            worse = h_new < h_u - 1e-13 * (1.0 + np.abs(h_u))
            if not worse.any():
                break
            step = np.where(worse, step / 2.0, step)
        better = h_new >= h_u
        improved = h_new > h_u
        u = np.where(better, u_new, u)
        h_u = np.where(better, h_new, h_u)
        # Done when every Newton step is small (quadratic convergence: the step just taken
        # leaves an error of order step^2) or no longer improves the density (rounding).
        small = np.abs(newton) <= 1e-9 * (1.0 + np.abs(u))
        if np.all(small | ~improved):
            break
    return u, expit(beta + theta * u)


def agq_deviance(x, n, beta: float, theta: float, z, w) -> float:
    """lme4's glmer deviance (adaptive Gauss-Hermite, Laplace when ``len(z) == 1``)."""
    u, mu = _modes(x, n, beta, theta)
    devc0 = _dev_resids_eta(x, n, beta + theta * u) + u * u
    lii = np.sqrt(1.0 + theta * theta * n * mu * (1.0 - mu))
    total = float(np.sum(devc0) + 2.0 * np.sum(np.log(lii)))
    if len(z) == 1:
        return total
    sd = 1.0 / lii
    mult = np.zeros_like(x)
    for zk, wk in zip(z, w, strict=True):
        if zk == 0.0:
            mult += wk
            continue
        uk = u + zk * sd
        devck = _dev_resids_eta(x, n, beta + theta * uk) + uk * uk
        mult += wk * np.exp(-(devck - devc0) / 2.0 + zk * zk / 2.0)
    return total - 2.0 * float(np.sum(np.log(mult)))


def _conditional_deviance(x, n, beta, theta) -> float:
    """sum(residuals(glmer fit, "deviance")^2): lme4's deviance() of a GLMM."""
    u, _ = _modes(x, n, beta, theta)
    return float(np.sum(_dev_resids_eta(x, n, beta + theta * u)))


def _hessian(f, p, delta):
    """Central-difference Hessian with the same step in every direction."""
    m = len(p)
    f0 = f(p)
    h = np.empty((m, m))
    for i in range(m):
        e_i = np.zeros(m)
        e_i[i] = delta
        h[i, i] = (f(p + e_i) - 2.0 * f0 + f(p - e_i)) / delta**2
        for j in range(i):
            e_j = np.zeros(m)
            e_j[j] = delta
            h[i, j] = h[j, i] = (
                f(p + e_i + e_j) - f(p + e_i - e_j) - f(p - e_i + e_j) + f(p - e_i - e_j)
            ) / (4.0 * delta**2)
    return h


def _gradient(f, p, delta):
    return np.array([(f(p + e) - f(p - e)) / (2.0 * delta) for e in np.eye(len(p)) * delta])


def _richardson(func, f, p, delta):
    """Richardson extrapolation of a central difference (error O(delta^4)): large steps keep
    the rounding noise of the deviance (about 1e-12) out of the derivatives. lme4 uses plain
    central differences with delta = 1e-4, whose result is the same derivative up to that
    noise."""
    return (4.0 * func(f, p, delta / 2.0) - func(f, p, delta)) / 3.0


def _newton(dev, p, max_iter=30):
    """Newton steps on (theta, beta) with extrapolated central-difference derivatives; returns
    the point and whether the step fell below 1e-10 (relative) at a positive-definite Hessian."""
    for _ in range(max_iter):
        g = _richardson(_gradient, dev, p, DERIV_DELTA)
        hess = _richardson(_hessian, dev, p, DERIV_DELTA)
        if not np.all(np.isfinite(hess)) or np.any(np.linalg.eigvalsh(hess) <= 0):
            return p, False
        step = np.linalg.solve(hess, g)
        d0 = dev(p)
        for _ in range(30):  # backtracking
            if dev(p - step) <= d0 + 1e-12 * abs(d0):
                break
            step = step / 2.0
        else:
            return p, False
        p = p - step
        if np.max(np.abs(step)) < 1e-10 * (1.0 + np.max(np.abs(p))):
            return p, True
    return p, False


def _fit_ml(x, n, z, w, start_beta, start_theta):
    """Minimise the AGQ deviance over (theta, beta): a coarse Nelder-Mead, then Newton to
    machine precision; if Newton cannot finish (e.g. a non-convex start), a tight Nelder-Mead
    and Newton again. The deviance is even in theta, so theta is searched unconstrained."""

    def dev(p):
        return agq_deviance(x, n, p[1], abs(p[0]), z, w)

    p0 = np.array([max(start_theta, 0.1), start_beta])
    coarse = optimize.minimize(dev, p0, method="Nelder-Mead",
                               options={"xatol": 1e-3, "fatol": 1e-7, "maxiter": 4000})
    p, done = _newton(dev, np.array(coarse.x, dtype=float))
    if not done:
        fine = optimize.minimize(dev, p, method="Nelder-Mead",
                                 options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 8000})
        p, done = _newton(dev, np.array(fine.x, dtype=float))
    if not done:
        # Nearly flat likelihoods (sparse counts, tau^2 in the hundreds): restart from a
        # spread of tau values and keep the best point.
        best = (dev(p), p)
        for theta0 in (0.3, 1.0, 3.0, 10.0, 30.0):
            trial = optimize.minimize(dev, np.array([theta0, start_beta]), method="Nelder-Mead",
                                      options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 8000})
            q, _ = _newton(dev, np.array(trial.x, dtype=float))
            if dev(q) < best[0]:
                best = (dev(q), q)
        p = best[1]
    p = np.array(p, dtype=float)
    p[0] = abs(p[0])
    return p, dev


def rma_glmm(
    xi=None,
    ni=None,
    *,
    mi=None,
    measure: str = "PLO",
    method: str = "ML",
    nAGQ: int = 7,
    test: str = "z",
    level: float = 95,
    add: float = 0.5,
    to: str = "only0",
    slab=None,
) -> GLMMResult:
    """Random- or common-effect logistic model for proportions: metafor's
    ``rma.glmm(measure = "PLO", xi, ni, mi, method = "ML", nAGQ = 7, test = "z", level = 95,
    add = 1/2, to = "only0")``; R meta's ``metaprop(xi, ni)`` default (``method = "GLMM"``).

    ``method="ML"``: binomial-normal model by ML with ``nAGQ``-point adaptive Gauss-Hermite
    quadrature (lme4's ``glmer``; ``nAGQ=1`` is the Laplace approximation). ``method="EE"``
    (or ``"FE"``, ``"CE"``): common-effect logistic regression (``glm``). ``test="t"`` uses
    t(k - 1) as metafor does. ``add``/``to`` only affect the ``escalc("PLO")`` variances
    behind metafor's I^2 and H^2 (the model itself uses the raw counts).
    """
    if str(measure).upper() != "PLO":
        raise MetaAnalysisError(
            f"rma_glmm fits measure 'PLO' (logit of a proportion) only, not {measure!r}."
        )
    method = str(method).upper()
    if method not in GLMM_METHODS:
        raise MetaAnalysisError(f"Unknown method {method!r}; use 'ML' or 'EE'.")
    if method in ("FE", "CE"):
        method = "EE"
    test = str(test).lower()
    if test not in ("z", "t"):
        raise MetaAnalysisError(f"Unknown test {test!r}; use 'z' or 't'.")
    try:
        nagq = int(nAGQ)
    except (TypeError, ValueError) as exc:
        raise MetaAnalysisError("'nAGQ' must be a whole number of quadrature points.") from exc
    if nagq < 1 or nagq != nAGQ or nagq > 25:
        raise MetaAnalysisError("'nAGQ' must be a whole number between 1 and 25 (lme4's limits).")
    if not (0 < float(level) < 100):
        raise MetaAnalysisError(f"'level' must be between 0 and 100 (got {level!r}).")
    if ni is None and mi is not None and xi is not None:
        ni = np.asarray(xi, dtype=float) + np.asarray(mi, dtype=float)
    x, n, slab = check_counts(xi, ni, slab)
    _check_whole(x, n, slab)
    k = int(x.shape[0])
    if method == "ML" and k < 2:
        raise MetaAnalysisError(
            "Number of parameters to be estimated is larger than the number of observations "
            "(the random-effects GLMM needs at least 2 studies; use method='EE')."
        )
    if np.all(x == 0):
        raise MetaAnalysisError(
            "All studies have no events (xi = 0): the logistic model has no finite estimate."
        )
    if np.all(x == n):
        raise MetaAnalysisError(
            "All studies have only events (xi = ni): the logistic model has no finite estimate."
        )

    if method == "ML" and np.all((x == 0) | (x == n)):
        raise MetaAnalysisError(
            "Every study has either no events or only events: the random-effects GLMM has no "
            "maximum-likelihood estimate (the likelihood grows without bound with tau^2; lme4 "
            "stops at an arbitrary, huge tau^2). Use method='EE' or another measure."
        )
    b_ee, v_ee, dev_fe, _ = _glm_common(x, n)
    ll_const = float(np.sum(_log_choose(n, x)))
    if k > 1:
        eta_qe, w_qe, dev_qe = _glm_saturated(x, n)
        qe_wld = max(_wald_q(eta_qe, w_qe), 0.0)
        qe_lrt = max(dev_fe - dev_qe, 0.0)
        qe_df = k - 1
        qep_wld = float(pchisq_upper(qe_wld, qe_df))
        qep_lrt = float(pchisq_upper(qe_lrt, qe_df))
    else:
        dev_qe = dev_fe
        qe_wld = qe_lrt = qep_wld = qep_lrt = math.nan
        qe_df = 0
    # ll of the saturated glm (R's logLik: binomial with the choose() constant)
    ll_qe = -dev_qe / 2.0 + _ll_saturated(x, n) + ll_const

    if method == "EE":
        beta, var_b, tau2 = b_ee, v_ee, 0.0
        ll = ll_qe - (dev_fe - dev_qe) / 2.0
    else:
        z, w = gh_rule(nagq)
        start_theta = math.sqrt(max(_dl_tau2(x, n, add, to), 0.01))
        p, dev = _fit_ml(x, n, z, w, b_ee, start_theta)
        theta, beta = float(p[0]), float(p[1])
        tau2 = theta * theta
        hess = _richardson(_hessian, dev, np.array([theta, beta]), DERIV_DELTA)
        try:
            inv = np.linalg.inv(hess)
        except np.linalg.LinAlgError:
            inv = np.full((2, 2), math.nan)
        var_b = float(2.0 * inv[1, 1])
        if not (math.isfinite(var_b) and var_b > 0):
            raise MetaAnalysisError(
                "The GLMM's Hessian is not positive definite at the optimum, so the standard "
                "error of the estimate cannot be computed; try method='EE' or another measure."
            )
        ll = ll_qe - _conditional_deviance(x, n, beta, theta) / 2.0

    se = math.sqrt(var_b)
    zval = beta / se
    alpha = (100.0 - float(level)) / 100.0
    if test == "t":
        ddf = k - 1
        if ddf > 0:
            pval = float(pt_two_sided(zval, ddf))
            crit = qt_upper(alpha / 2, ddf)
        else:
            pval, crit = math.nan, math.nan
    else:
        ddf = None
        pval = float(pnorm_two_sided(zval))
        crit = qnorm_upper(alpha / 2)

    vt = _typical_variance(x, n, add, to)
    i2 = 100.0 * tau2 / (vt + tau2)
    h2 = tau2 / vt + 1.0
    return GLMMResult(
        b=beta, se=se, zval=zval, pval=pval, ci_lb=beta - crit * se, ci_ub=beta + crit * se,
        tau2=tau2, qe_wld=qe_wld, qep_wld=qep_wld, qe_lrt=qe_lrt, qep_lrt=qep_lrt, qe_df=qe_df,
        i2=i2, h2=h2, vt=vt, ll=ll, k=k, method=method, nAGQ=nagq, test=test,
        level=float(level), ddf=ddf, xi=x, ni=n, slab=slab,
    )


def _log_choose(n, x):
    from scipy.special import gammaln

    return gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1)


def _ll_saturated(x, n):
    """Binomial log-likelihood (without the choose() constant) at p = x / n."""
    m = n - x
    return float(np.sum(xlogy(x, x / n) + xlogy(m, m / n)))


def _plo(x, n, add, to):
    m = n - x
    zero = (x == 0) | (m == 0)
    if to == "all":
        corr = np.ones_like(zero)
    elif to == "only0":
        corr = zero
    elif to == "if0all":
        corr = np.full_like(zero, bool(zero.any()))
    elif to == "none":
        corr = np.zeros_like(zero)
    else:
        raise MetaAnalysisError(f"Unknown 'to' {to!r}; use one of all, only0, if0all, none.")
    shift = np.where(corr, add, 0.0)
    xs, ms = x + shift, m + shift
    with np.errstate(divide="ignore"):
        return np.log(xs / ms), 1.0 / xs + 1.0 / ms


def _typical_variance(x, n, add, to) -> float:
    """metafor's vt = (k - p) / tr(P) with W = diag(1 / vi) of escalc("PLO")."""
    _, v = _plo(x, n, add, to)
    if not np.all(np.isfinite(v)):
        return math.nan
    wi = 1.0 / v
    k = wi.shape[0]
    if k < 2:
        return math.nan
    tr_p = float(np.sum(wi) - np.sum(wi * wi) / np.sum(wi))
    return (k - 1) / tr_p


def _dl_tau2(x, n, add, to) -> float:
    """DerSimonian-Laird tau^2 of the corrected logits: a starting value only."""
    y, v = _plo(x, n, add, to)
    if not np.all(np.isfinite(v)) or y.shape[0] < 2:
        return 0.1
    wi = 1.0 / v
    mean = np.sum(wi * y) / np.sum(wi)
    q = float(np.sum(wi * (y - mean) ** 2))
    c = float(np.sum(wi) - np.sum(wi * wi) / np.sum(wi))
    return max((q - (y.shape[0] - 1)) / c, 0.0)
