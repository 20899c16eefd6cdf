"""Numerical building blocks shared by the engine.

* ``zeroin``: a line-by-line port of R's ``R_zeroin2`` (Brent's method as used by ``uniroot()``),
  so that metafor's root-finding (PM estimator, Q-profile and profile-likelihood intervals)
  stops at the same iterate as R with the same tolerance.
* ``Projection``: traces and quadratic forms of metafor's projection matrix
  ``P = W - W X (X'WX)^-1 X'W`` computed in O(k p^2) without ever forming a k x k matrix.
* Thin wrappers over ``scipy.special`` for the normal, t, chi-square and F distributions
  (much faster than ``scipy.stats`` for scalars).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special

from analysis.engine.errors import MetaAnalysisError

DBL_EPSILON = float(np.finfo(float).eps)
DBL_MAX = float(np.finfo(float).max)
R_TOL = DBL_EPSILON**0.25  # R's default uniroot()/metafor tolerance, .Machine$double.eps^0.25


# --------------------------------------------------------------------------- distributions


def qnorm_upper(alpha_half: float) -> float:
    """qnorm(alpha/2, lower.tail=FALSE)."""
    return float(-special.ndtri(alpha_half))


def qt_upper(alpha_half: float, df: float) -> float:
    """qt(alpha/2, df, lower.tail=FALSE)."""
    return float(-special.stdtrit(df, alpha_half))


def pnorm_two_sided(z):
    """2 * pnorm(|z|, lower.tail=FALSE)."""
    return 2.0 * special.ndtr(-np.abs(z))


def pt_two_sided(t, df):
    """2 * pt(|t|, df, lower.tail=FALSE)."""
    return 2.0 * special.stdtr(df, -np.abs(t))


def pchisq_upper(x, df):
    """pchisq(x, df, lower.tail=FALSE)."""
    return special.chdtrc(df, x)


def pf_upper(x, df1, df2):
    """pf(x, df1, df2, lower.tail=FALSE)."""
    return special.fdtrc(df1, df2, x)


def qchisq(p: float, df: float) -> float:
    """qchisq(p, df) (lower tail)."""
    return float(special.chdtri(df, 1.0 - p))


# --------------------------------------------------------------------------- reductions

_EINSUM_FROM = 4096


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """sum(a * b) for 1-d arrays without BLAS for long vectors.

    ``a @ b`` calls BLAS ddot, which OpenBLAS runs on several threads for long vectors; on a
    busy machine that is many times slower than one core. ``einsum`` stays single-threaded.
    """
    if a.shape[0] < _EINSUM_FROM:
        return float(a @ b)
    return float(np.einsum("i,i->", a, b))


# --------------------------------------------------------------------------- root finding


def _fcn2(f: Callable[[float], float], x: float) -> float:
    value = float(f(x))
    if not math.isfinite(value):
        return -DBL_MAX if value == -math.inf else DBL_MAX
    return value


def zeroin(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    tol: float = R_TOL,
    maxiter: int = 1000,
    f_lower: float | None = None,
    f_upper: float | None = None,
) -> float:
    """Root of ``f`` in [lower, upper] exactly as R's ``uniroot(f, c(lower, upper), tol, maxiter)``.

    Port of ``R_zeroin2`` (src/library/stats/src/zeroin.c), including the order of the floating
    point operations, so that the iterate returned matches R's for the same tolerance.
    """
    fa = _fcn2(f, lower) if f_lower is None else f_lower
    fb = _fcn2(f, upper) if f_upper is None else f_upper
    if fa * fb > 0:
        raise MetaAnalysisError("f() values at end points not of opposite sign.")
    a, b = float(lower), float(upper)
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    maxit = maxiter + 1
    while maxit:
        maxit -= 1
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * DBL_EPSILON * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = _fcn2(f, b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b  # R warns "_NOT_ converged" and still returns the last iterate


# --------------------------------------------------------------------------- projection algebra


class Projection:
    """Algebra of ``P = W - W X A X' W`` with ``A = (X'WX)^-1`` and ``W = diag(w)``.

    Every quantity metafor computes from the k x k matrix ``P`` (``tr(P)``, ``tr(PV)``,
    ``sum(P*P)``, ``sum(PV*t(PV))``, ``Y'PY``, ``Y'PPY``) is obtained here from sums over
    studies and p x p matrices. ``h`` is ``diag(X A X')``.
    """

    __slots__ = ("A", "X", "h", "int_only", "sw", "w")

    def __init__(self, X: np.ndarray | None, w: np.ndarray):
        self.w = w
        self.X = X
        self.int_only = X is None
        if X is None:
            self.sw = float(w.sum())
            self.A = None
            self.h = None
        else:
            XtWX = (X.T * w) @ X
            self.A = np.linalg.inv(XtWX)
            self.h = np.einsum("ij,jk,ik->i", X, self.A, X)
            self.sw = float(w.sum())

    def hat_diag(self) -> np.ndarray:
        """diag(X A X' W): metafor's hatvalues()."""
        if self.int_only:
            return self.w / self.sw
        return self.h * self.w

    def coef(self, y: np.ndarray) -> np.ndarray:
        """A X'W y as a length-p vector."""
        if self.int_only:
            return np.array([dot(self.w, y) / self.sw])
        return self.A @ ((self.X.T * self.w) @ y)

    def resid(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b = self.coef(y)
        fitted = b[0] if self.int_only else self.X @ b
        return b, y - fitted

    def rss(self, y: np.ndarray) -> float:
        """Y'PY = sum(w * (y - X b)^2)."""
        _, r = self.resid(y)
        return dot(self.w, r * r)

    def tr(self, d: np.ndarray | None = None) -> float:
        """tr(P D) for D = diag(d) (D = I when d is None)."""
        w = self.w
        wd = w if d is None else w * d
        if self.int_only:
            return float(wd.sum() - dot(w, wd) / self.sw)
        return float(wd.sum() - (w * wd) @ self.h)

    def tr2(self, d1: np.ndarray | None = None, d2: np.ndarray | None = None) -> float:
        """tr(P D1 P D2) = sum_ij P_ij^2 d1_j d2_i for diagonal D1, D2."""
        w = self.w
        w2 = w * w
        e1 = w2 if d1 is None else w2 * d1
        e2 = w2 if d2 is None else w2 * d2
        dd = e1 if d2 is None else e1 * d2  # w^2 d1 d2
        if self.int_only:
            sw = self.sw
            return float(dd.sum() - 2.0 * dot(w, dd) / sw + e1.sum() * e2.sum() / (sw * sw))
        X, A = self.X, self.A
        M1 = (X.T * e1) @ X
        M2 = (X.T * e2) @ X
        return float(dd.sum() - 2.0 * (w * dd) @ self.h + np.trace(A @ M1 @ A @ M2))

    def logdet_XtWX(self) -> float:
        if self.int_only:
            return math.log(self.sw)
        _, logdet = np.linalg.slogdet(np.linalg.inv(self.A))
        return float(logdet)
