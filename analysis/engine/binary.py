"""Binary outcomes pooled from 2x2 tables as metafor and meta do it.

* :func:`rma_mh`: metafor's ``rma.mh()`` (Mantel-Haenszel OR, RR, RD; Cochran-Mantel-Haenszel
  test, Breslow-Day and Tarone's tests for the OR; Q of the study effects around the MH
  estimate), formulas of metafor 3.8-1 (``R/rma.mh.r``).
* :func:`rma_peto`: metafor's ``rma.peto()`` (Peto's one-step log odds ratio).
* :func:`metabin_common`: the study effects and the common-effect (MH or Peto) part of meta's
  ``metabin()`` with meta 8.4-0's defaults (``method.incr = "only0"``, ``incr = 0.5``,
  ``allstudies = FALSE``, ``MH.exact = FALSE``, ``RR.Cochrane = FALSE``), its ``Q`` (inverse
  variance, around the inverse-variance estimate) and ``Q.CMH``. The random-effects part of
  ``metabin()`` is ``rma(TE, seTE**2, method="REML")`` on these study effects.

Tables are ``ai, bi`` (events, non-events, group 1) and ``ci, di`` (group 2), as in metafor;
meta's ``event.e, n.e, event.c, n.c`` are ``ai, ai + bi, ci, ci + di``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from analysis.engine._core import pchisq_upper, pnorm_two_sided, qnorm_upper
from analysis.engine.errors import MetaAnalysisError, study_name

MH_MEASURES = ("OR", "RR", "RD")
TO_OPTIONS = ("all", "only0", "if0all", "none")
_LOG_2PI = math.log(2.0 * math.pi)


# --------------------------------------------------------------------------- inputs


def _labels(slab, k: int) -> tuple[str, ...] | None:
    if slab is None:
        return None
    labels = tuple(str(s) for s in slab)
    if len(labels) != k:
        raise MetaAnalysisError(
            f"Study labels not of same length as data ({len(labels)} labels, {k} studies)."
        )
    return labels


def _counts(names, values, slab) -> tuple[list[np.ndarray], tuple[str, ...] | None]:
    """Four count vectors as float arrays, checked: same length, finite, non-negative."""
    arrays = []
    for name, value in zip(names, values, strict=True):
        if value is None:
            raise MetaAnalysisError(f"Missing argument {name}.")
        try:
            arr = np.atleast_1d(np.asarray(value, dtype=float))
        except (TypeError, ValueError) as exc:
            raise MetaAnalysisError(f"{name} must be numbers ({exc}).") from None
        if arr.ndim != 1:
            raise MetaAnalysisError(f"{name} must be a vector of counts.")
        arrays.append(arr)
    k = arrays[0].shape[0]
    if any(a.shape[0] != k for a in arrays):
        lengths = ", ".join(f"{n} {a.shape[0]}" for n, a in zip(names, arrays, strict=True))
        raise MetaAnalysisError(f"The counts must have the same number of studies ({lengths}).")
    if k == 0:
        raise MetaAnalysisError("No studies: the counts are empty.")
    labels = _labels(slab, k)
    for name, arr in zip(names, arrays, strict=True):
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise MetaAnalysisError(
                f"{name} of {study_name(i, labels)} is not a finite number ({arr[i]!r})."
            )
        neg = arr < 0
        if neg.any():
            i = int(np.flatnonzero(neg)[0])
            raise MetaAnalysisError(f"{name} of {study_name(i, labels)} is negative ({arr[i]:g}).")
    return arrays, labels


def _tables(ai, bi, ci, di, slab):
    (a, b, c, d), labels = _counts(("ai", "bi", "ci", "di"), (ai, bi, ci, di), slab)
    for n, group in ((a + b, 1), (c + d, 2)):
        empty = n <= 0
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise MetaAnalysisError(
                f"Group {group} of {study_name(i, labels)} has no participants "
                f"(n{group}i = 0)."
            )
    return a, b, c, d, labels


def _pair(value, default_second, name: str):
    """metafor's one-or-two-values arguments (``add``, ``to``, ``drop00``)."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise MetaAnalysisError(f"Argument '{name}' should specify one or two values.")
        return value[0], value[1]
    return value, default_second


def _check_to(to: str) -> None:
    if to not in TO_OPTIONS:
        raise MetaAnalysisError(f"Unknown 'to' {to!r}; use one of {', '.join(TO_OPTIONS)}.")


def _level_alpha(level: float) -> float:
    level = float(level)
    if not 0 < level < 100:
        raise MetaAnalysisError(f"level must be strictly between 0 and 100 (got {level:g}).")
    return 1.0 - level / 100.0 if level > 1 else 1.0 - level


def _correct(a, b, c, d, add: float, to: str, keep=None):
    """Add ``add`` to the cells of the tables chosen by ``to`` (metafor's rules)."""
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    if keep is not None:
        zero &= keep
    if to == "all":
        mask = np.ones_like(zero)
    elif to == "only0":
        mask = zero
    elif to == "if0all":
        mask = np.full_like(zero, bool(zero.any()))
    else:
        mask = np.zeros_like(zero)
    shift = np.where(mask, float(add), 0.0)
    return a + shift, b + shift, c + shift, d + shift


def _double_zero(a, b, c, d):
    return ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))


def _escalc_2x2(measure, a, b, c, d, add, to, drop00):
    """metafor's ``escalc()`` for OR, RR, RD and PETO; NaN where metafor gives NA."""
    keep = ~_double_zero(a, b, c, d) if drop00 else np.ones(a.shape[0], dtype=bool)
    a, b, c, d = _correct(a, b, c, d, add, to, keep)
    n1, n2 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            y = np.log(a * d / (b * c))
            v = 1 / a + 1 / b + 1 / c + 1 / d
        elif measure == "RR":
            y = np.log(a / n1) - np.log(c / n2)
            v = 1 / a - 1 / n1 + 1 / c - 1 / n2
        elif measure == "RD":
            p1, p2 = a / n1, c / n2
            y = p1 - p2
            v = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        else:  # PETO
            n = n1 + n2
            xt, yt = a + c, b + d
            big_v = xt * yt * (n1 / n) * (n2 / n) / (n - 1)
            y = (a - xt * n1 / n) / big_v
            v = 1 / big_v
    ok = keep & np.isfinite(y) & np.isfinite(v)
    return np.where(ok, y, np.nan), np.where(ok, v, np.nan)


# --------------------------------------------------------------------------- metafor


@dataclass(frozen=True, eq=False)
class MHResult:
    """A fitted ``rma.mh`` / ``rma.peto`` model (metafor's names, lower case, dots as ``_``).

    ``b`` is on the log scale for OR and RR (``exp(b)`` is the pooled ratio), on the raw scale
    for RD. ``qe``, ``i2`` (percent), ``h2`` come from the study effects ``yi, vi`` (those
    metafor's ``escalc()`` can compute; the others are listed in ``excluded``) around ``b``.
    ``co`` (Cochran), ``mh`` (Cochran-Mantel-Haenszel), ``bd`` (Breslow-Day) and ``ta``
    (Tarone) exist for the MH odds ratio only (None otherwise, and where metafor gives NA).
    """

    measure: str
    method: str
    b: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    qe: float
    qep: float
    i2: float
    h2: float
    k: int
    k_yi: int
    k_pos: int | None
    level: float
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    slab: tuple[str, ...] | None = field(repr=False)
    excluded: tuple[str, ...] = ()
    co: float | None = None
    cop: float | None = None
    mh: float | None = None
    mhp: float | None = None
    bd: float | None = None
    bdp: float | None = None
    ta: float | None = None
    tap: float | None = None

    @property
    def fitstats(self) -> dict[str, dict[str, float]]:
        """metafor's ``fitstats()`` of the model: logLik of the study effects at ``b``."""
        y, v, k = self.yi, self.vi, self.k_yi
        w = 1.0 / v
        rss = float(np.sum(w * (y - self.b) ** 2))
        ll_ml = -0.5 * k * _LOG_2PI - 0.5 * float(np.sum(np.log(v))) - 0.5 * rss
        ll_reml = (-0.5 * (k - 1) * _LOG_2PI + 0.5 * math.log(k)
                   - 0.5 * float(np.sum(np.log(v))) - 0.5 * math.log(float(w.sum())) - 0.5 * rss)
        return {"ML": {"logLik": ll_ml}, "REML": {"logLik": ll_reml}}

    def as_dict(self) -> dict:
        out = {
            name: getattr(self, name) for name in (
                "measure", "method", "b", "se", "zval", "pval", "ci_lb", "ci_ub", "qe", "qep",
                "i2", "h2", "k", "k_yi", "k_pos", "level", "co", "cop", "mh", "mhp", "bd", "bdp",
                "ta", "tap")
        }
        out["excluded"] = list(self.excluded)
        out["yi"] = self.yi.tolist()
        out["vi"] = self.vi.tolist()
        return out


def _study_effects(measure, a, b, c, d, add, to, drop00, labels):
    yi, vi = _escalc_2x2(measure, a, b, c, d, add, to, drop00)
    missing = np.isnan(yi)
    excluded: tuple[str, ...] = ()
    if missing.any():
        idx = np.flatnonzero(missing)
        excluded = tuple(labels[i] if labels else str(i + 1) for i in idx)
        warnings.warn(
            f"The effect of {len(idx)} stud{'y' if len(idx) == 1 else 'ies'} cannot be "
            f"computed (no events or only events in both groups, or a zero cell without "
            f"correction) and is left out of Q: {', '.join(excluded)}.",
            stacklevel=3,
        )
    yi, vi = yi[~missing], vi[~missing]
    zero_v = vi <= 0
    if zero_v.any():
        i = int(np.flatnonzero(~missing)[np.flatnonzero(zero_v)[0]])
        raise MetaAnalysisError(
            f"The sampling variance of {study_name(i, labels)} is 0 (every participant had the "
            f"event): Q cannot be computed; use a continuity correction (to='only0')."
        )
    return yi, vi, excluded


def _heterogeneity(q: float, k_yi: int, enough: bool) -> tuple[float, float, float]:
    if enough:
        return (float(pchisq_upper(q, k_yi - 1)), max(0.0, 100.0 * (q - (k_yi - 1)) / q)
                if q > 0 else 0.0, q / (k_yi - 1))
    return 1.0, 0.0, 1.0


def _test(b: float, se: float, alpha: float):
    zval = b / se
    crit = qnorm_upper(alpha / 2)
    return zval, float(pnorm_two_sided(zval)), b - crit * se, b + crit * se


def _prepare(measure, ai, bi, ci, di, slab, add, to, drop00):
    """The steps rma.mh and rma.peto share: metafor's (first, second) option pairs, the study
    effects for Q (first values) and the tables for the sums (second values), as
    ``(a, b, c, d, k, labels, yi, vi, excluded)``."""
    add1, add2 = _pair(add, 0.0, "add")
    to1, to2 = _pair(to, "none", "to")
    d001, d002 = _pair(drop00, False, "drop00")
    _check_to(to1)
    _check_to(to2)
    a, b, c, d, labels = _tables(ai, bi, ci, di, slab)
    yi, vi, excluded = _study_effects(measure, a, b, c, d, add1, to1, d001, labels)
    if d002:
        keep = ~_double_zero(a, b, c, d)
        a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    k = int(a.shape[0])
    if k < 1:
        raise MetaAnalysisError("Processing terminated since k = 0.")
    a, b, c, d = _correct(a, b, c, d, add2, to2)
    return a, b, c, d, k, labels, yi, vi, excluded


def rma_mh(
    ai,
    bi,
    ci,
    di,
    measure: str = "OR",
    *,
    correct: bool = True,
    add=0.5,
    to="only0",
    drop00=True,
    level: float = 95,
    slab=None,
) -> MHResult:
    """Mantel-Haenszel common-effect model: metafor's ``rma.mh(ai, bi, ci, di, measure,
    add=1/2, to="only0", drop00=TRUE, correct=TRUE, level=95, slab)``.

    ``measure``: "OR" (Robins-Breslow-Greenland variance), "RR" (Greenland-Robins variance) or
    "RD" (Sato/Greenland-Robins variance). ``add``, ``to`` and ``drop00`` take one or two
    values, as in metafor: the first for the study effects (``escalc()``, which give Q), the
    second for the Mantel-Haenszel sums (defaults ``0``, ``"none"``, ``False``: no correction).
    ``correct`` is the continuity correction of the Cochran-Mantel-Haenszel test (OR only).
    """
    measure = str(measure).upper()
    if measure not in MH_MEASURES:
        raise MetaAnalysisError(
            f"Mantel-Haenszel method can only be used with measures OR, RR and RD "
            f"(got {measure!r})."
        )
    alpha = _level_alpha(level)
    a, b, c, d, k, labels, yi, vi, excluded = _prepare(measure, ai, bi, ci, di, slab, add, to,
                                                       drop00)  # fmt: skip
    n1, n2 = a + b, c + d
    n = n1 + n2
    extra: dict = {}
    if measure == "OR":
        P = a / n + d / n
        Q = b / n + c / n
        Ri = (a / n) * d
        Si = (b / n) * c
        R, S = float(Ri.sum()), float(Si.sum())
        if R == 0 or S == 0:
            raise MetaAnalysisError(
                "The Mantel-Haenszel odds ratio cannot be estimated: "
                + ("no table has events in group 1 with non-events in group 2 (sum of a*d/n "
                   "is 0)." if R == 0 else
                   "no table has non-events in group 1 with events in group 2 (sum of b*c/n "
                   "is 0).")
            )
        beta_exp = R / S
        beta = math.log(beta_exp)
        se = math.sqrt(0.5 * (float(np.sum(P * Ri)) / R**2
                              + float(np.sum(P * Si + Q * Ri)) / (R * S)
                              + float(np.sum(Q * Si)) / S**2))
        xt, yt = a + c, b + d
        if xt.sum() == 0 or yt.sum() == 0:
            extra.update(co=None, cop=None, mh=None, mhp=None)
        else:
            dev = abs(float(np.sum(a - (n1 / n) * xt))) - (0.5 if correct else 0.0)
            co = dev**2 / float(np.sum((n1 / n) * (n2 / n) * (xt * (yt / n))))
            mh = dev**2 / float(np.sum((n1 / n) * (n2 / n) * (xt * (yt / (n - 1)))))
            extra.update(co=co, cop=float(pchisq_upper(co, 1)),
                         mh=mh, mhp=float(pchisq_upper(mh, 1)))
        if beta_exp == 1:
            n11 = (n1 / n) * xt
        else:
            A = beta_exp * (n1 + xt) + (n2 - xt)
            B = np.sqrt(A**2 - 4 * n1 * xt * beta_exp * (beta_exp - 1))
            n11 = (A - B) / (2 * (beta_exp - 1))
        pos = (n11 > 0) & (xt > 0) & (yt > 0)
        k_pos = int(pos.sum())
        n11 = n11[pos]
        n12 = n1[pos] - n11
        n21 = xt[pos] - n11
        n22 = n11 - n1[pos] - xt[pos] + n[pos]
        inv = 1 / (1 / n11 + 1 / n12 + 1 / n21 + 1 / n22)
        bd = max(0.0, float(np.sum((a[pos] - n11) ** 2 / inv)))
        ta = max(0.0, bd - float(np.sum(a[pos] - n11)) ** 2 / float(np.sum(inv)))
        if k_pos > 1:
            bdp, tap = float(pchisq_upper(bd, k_pos - 1)), float(pchisq_upper(ta, k_pos - 1))
        else:
            bdp = tap = None
        extra.update(bd=bd, bdp=bdp, ta=ta, tap=tap)
    elif measure == "RR":
        if a.sum() == 0 or c.sum() == 0:
            raise MetaAnalysisError(
                "The Mantel-Haenszel risk ratio cannot be estimated: there are no events in "
                f"group {1 if a.sum() == 0 else 2} of any study."
            )
        R = float(np.sum(a * (n2 / n)))
        S = float(np.sum(c * (n1 / n)))
        beta = math.log(R / S)
        se = math.sqrt(float(np.sum((n1 / n) * (n2 / n) * (a + c) - (a / n) * c)) / (R * S))
        k_pos = None
    else:
        denom = float(np.sum(n1 * (n2 / n)))
        beta = float(np.sum(a * (n2 / n) - c * (n1 / n))) / denom
        var = (beta * float(np.sum(c * (n1 / n) ** 2 - a * (n2 / n) ** 2
                                   + (n1 / n) * (n2 / n) * (n2 - n1) / 2))
               + float(np.sum(a * (n2 - c) / n + c * (n1 - a) / n)) / 2) / denom**2
        if not var > 0:
            raise MetaAnalysisError(
                "The variance of the Mantel-Haenszel risk difference is 0: every group has "
                "no events or only events."
            )
        se = math.sqrt(var)
        k_pos = None
    zval, pval, lb, ub = _test(beta, se, alpha)
    k_yi = int(yi.shape[0])
    if k_yi > 1:
        qe = max(0.0, float(np.sum((yi - beta) ** 2 / vi)))
        qep, i2, h2 = _heterogeneity(qe, k_yi, True)
    else:
        qe, qep, i2, h2 = 0.0, 1.0, 0.0, 1.0
    return MHResult(
        measure=measure, method="MH", b=beta, se=se, zval=zval, pval=pval, ci_lb=lb, ci_ub=ub,
        qe=qe, qep=qep, i2=i2, h2=h2, k=k, k_yi=k_yi, k_pos=k_pos, level=float(level),
        yi=yi, vi=vi, slab=labels, excluded=excluded, **extra,
    )


def rma_peto(
    ai, bi, ci, di, *, add=0.5, to="only0", drop00=True, level: float = 95, slab=None
) -> MHResult:
    """Peto's one-step log odds ratio: metafor's ``rma.peto(ai, bi, ci, di, add=1/2,
    to="only0", drop00=TRUE, level=95, slab)``.

    ``b = sum(O - E) / sum(V)``, ``se = 1 / sqrt(sum(V))`` with ``O = ai``, ``E`` and ``V`` the
    hypergeometric mean and variance of ``ai``. ``add``, ``to``, ``drop00`` as in
    :func:`rma_mh` (first value: the study effects ``escalc(measure="PETO")``; second: the
    tables in the sums, by default uncorrected). Q is metafor's: ``sum((O-E)^2/V) -
    sum(O-E)^2/sum(V)`` over tables with ``V > 0``.
    """
    alpha = _level_alpha(level)
    a, b, c, d, k, labels, yi, vi, excluded = _prepare("PETO", ai, bi, ci, di, slab, add, to,
                                                       drop00)  # fmt: skip
    n1, n2 = a + b, c + d
    n = n1 + n2
    xt, yt = a + c, b + d
    E = xt * n1 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        V = np.where(n > 1, xt * yt * (n1 / n) * (n2 / n) / (n - 1), 0.0)
    sum_v = float(V.sum())
    if sum_v == 0:
        raise MetaAnalysisError(
            "One of the two outcomes never occurred in any of the tables. Peto's method cannot "
            "be used."
        )
    dev = a - E
    beta = float(dev.sum()) / sum_v
    se = math.sqrt(1 / sum_v)
    zval, pval, lb, ub = _test(beta, se, alpha)
    pos = V > 0
    k_pos = int(pos.sum())
    qe = max(0.0, float(np.sum(dev[pos] ** 2 / V[pos])) - float(dev.sum()) ** 2 / sum_v)
    k_yi = int(yi.shape[0])
    if k_pos > 1:
        qep, i2, h2 = _heterogeneity(qe, k_yi, True)
    else:
        qep, i2, h2 = 1.0, 0.0, 1.0
    return MHResult(
        measure="PETO", method="PETO", b=beta, se=se, zval=zval, pval=pval, ci_lb=lb, ci_ub=ub,
        qe=qe, qep=qep, i2=i2, h2=h2, k=k, k_yi=k_yi, k_pos=k_pos, level=float(level),
        yi=yi, vi=vi, slab=labels, excluded=excluded,
    )


# --------------------------------------------------------------------------- meta


META_SM = ("OR", "RR", "RD")
META_METHODS = ("MH", "Peto", "Inverse")
METHOD_INCR = ("only0", "all", "if0all")


@dataclass(frozen=True, eq=False)
class MetabinResult:
    """meta's ``metabin()`` study effects and common effect (Python names; :meth:`as_dict`
    gives meta's: ``TE``, ``seTE``, ``w.common``, ``incr.e``, ``Q``, ``Q.CMH``, ...).

    Study arrays have one entry per study given (``k_all``); a study meta leaves out of the
    pooling (no events or only events in both groups, ``allstudies = FALSE``) has ``te`` and
    ``se_te`` NaN (meta: NA), weight 0, and is named in ``excluded``. ``te_common`` etc. are
    on the analysis scale (log OR / log RR / RD); ``level`` is a proportion, as in meta.
    """

    sm: str
    method: str
    studlab: tuple[str, ...] | None  # None: studies are named by their 1-based position
    te: np.ndarray = field(repr=False)
    se_te: np.ndarray = field(repr=False)
    lower: np.ndarray = field(repr=False)
    upper: np.ndarray = field(repr=False)
    w_common: np.ndarray = field(repr=False)
    incr_e: np.ndarray = field(repr=False)
    incr_c: np.ndarray = field(repr=False)
    te_common: float
    se_te_common: float
    lower_common: float
    upper_common: float
    statistic_common: float
    pval_common: float
    q: float
    df_q: int
    pval_q: float
    q_cmh: float | None
    pval_q_cmh: float | None
    k: int
    k_all: int
    k_mh: int | None
    level: float
    excluded: tuple[str, ...] = ()
    # (event.e, n.e, event.c, n.c) as given, for metabias (Harbord, Peters)
    counts: tuple[np.ndarray, ...] | None = field(default=None, repr=False)
    incr: float = 0.5
    method_incr: str = "only0"
    allstudies: bool = False

    @property
    def included(self) -> np.ndarray:
        """Boolean mask of the studies in the pooling (finite TE and seTE)."""
        return np.isfinite(self.te) & np.isfinite(self.se_te)

    def random(self, method: str = "REML", **kwargs):
        """The random-effects part of meta's ``metabin()``: ``rma()`` (metafor's ``rma.uni``,
        default ``method = "REML"`` and control, as meta calls it) on the pooled studies' TE
        and seTE^2. Other ``rma()`` arguments (``test="knha"``, ...) pass through."""
        from analysis.engine.model import rma

        keep = self.included
        slab = None if self.studlab is None else [
            s for s, k in zip(self.studlab, keep, strict=True) if k]
        return rma(self.te[keep], self.se_te[keep] ** 2, method=method, slab=slab, **kwargs)

    def as_dict(self) -> dict:
        def nan_none(arr):
            return [None if not math.isfinite(x) else float(x) for x in arr]

        return {
            "sm": self.sm, "method": self.method, "level": self.level,
            "studies": {
                "studlab": list(self.studlab) if self.studlab is not None else [
                    str(i + 1) for i in range(self.k_all)],
                "TE": nan_none(self.te),
                "seTE": nan_none(self.se_te), "lower": nan_none(self.lower),
                "upper": nan_none(self.upper), "w.common": self.w_common.tolist(),
                "incr.e": self.incr_e.tolist(), "incr.c": self.incr_c.tolist(),
            },
            "common": {
                "TE": self.te_common, "seTE": self.se_te_common, "lower": self.lower_common,
                "upper": self.upper_common, "statistic": self.statistic_common,
                "pval": self.pval_common,
            },
            "Q": self.q, "df.Q": self.df_q, "pval.Q": self.pval_q, "Q.CMH": self.q_cmh,
            "df.Q.CMH": 1, "pval.Q.CMH": self.pval_q_cmh, "k": self.k, "k.all": self.k_all,
            "k.MH": self.k_mh, "excluded": list(self.excluded),
        }


def _nansum(x) -> float:
    return float(np.nansum(x))


def metabin_common(
    event_e,
    n_e,
    event_c,
    n_c,
    *,
    sm: str = "RR",
    method: str = "MH",
    incr: float = 0.5,
    method_incr: str = "only0",
    allstudies: bool = False,
    mh_exact: bool = False,
    rr_cochrane: bool = False,
    level: float = 0.95,
    studlab=None,
) -> MetabinResult:
    """Study effects and common effect of meta's ``metabin(event.e, n.e, event.c, n.c, studlab,
    sm = "RR", method = "MH", incr = 0.5, method.incr = "only0", allstudies = FALSE,
    MH.exact = FALSE, RR.Cochrane = FALSE, level = 0.95)`` (meta 8.4-0 defaults).

    Zero cells (``method.incr = "only0"``): ``incr`` is added to the four cells of a study with
    a zero cell. OR: ``log((a+½)(d+½)/((b+½)(c+½)))``; RR: ``incr`` added to the events and
    once to the group sizes (``RR.Cochrane = TRUE``: twice); RD: the TE is uncorrected, the
    correction enters seTE only. ``allstudies = FALSE`` leaves out of OR and RR the studies
    without events in both groups (OR: also with only events in both groups). Peto: no
    correction, ``TE = (O-E)/V``, ``seTE = 1/sqrt(V)``.

    Common effect: Mantel-Haenszel (OR with the Robins-Breslow-Greenland variance, RR with
    Greenland-Robins, RD with meta's MH variance), computed on the corrected tables
    (``MH.exact = FALSE``; ``TRUE``: the uncorrected ones); Peto's ``sum(O-E)/sum(V)``;
    ``method = "Inverse"``: inverse-variance weights. ``Q`` is always the inverse-variance Q of
    the study effects around their inverse-variance mean (meta's ``metagen``), ``df.Q = k-1``.
    ``Q.CMH`` is the Cochran-Mantel-Haenszel statistic on the uncorrected tables.
    """
    if sm not in META_SM:
        raise MetaAnalysisError(f"sm must be one of {', '.join(META_SM)} (got {sm!r}).")
    if method not in META_METHODS:
        raise MetaAnalysisError(
            f"method must be one of {', '.join(META_METHODS)} (got {method!r})."
        )
    if method == "Peto" and sm != "OR":
        raise MetaAnalysisError("Peto's method only possible with argument sm = 'OR'.")
    if method_incr not in METHOD_INCR:
        raise MetaAnalysisError(
            f"method_incr must be one of {', '.join(METHOD_INCR)} (got {method_incr!r})."
        )
    try:
        incr = float(incr)
    except (TypeError, ValueError):
        raise MetaAnalysisError(f"incr must be a number (got {incr!r}).") from None
    if not (math.isfinite(incr) and incr >= 0):
        raise MetaAnalysisError(f"incr must be a non-negative number (got {incr!r}).")
    level = float(level)
    if not 0 < level < 1:
        raise MetaAnalysisError(
            f"level is a proportion in meta (e.g. 0.95), strictly between 0 and 1 "
            f"(got {level:g})."
        )
    (ee, ne, ec, nc), labels = _counts(
        ("event.e", "n.e", "event.c", "n.c"), (event_e, n_e, event_c, n_c), studlab
    )
    k_all = ee.shape[0]
    for ev, n, name in ((ee, ne, "e"), (ec, nc, "c")):
        bad = ev > n
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise MetaAnalysisError(
                f"Events exceed the group size in {study_name(i, labels)} "
                f"(event.{name} = {ev[i]:g} > n.{name} = {n[i]:g})."
            )
        empty = n <= 0
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise MetaAnalysisError(f"n.{name} of {study_name(i, labels)} is not positive.")

    allevents = (ec == nc) & (ee == ne)
    if sm == "RD" or allstudies:
        incl = np.ones(k_all)
    elif sm == "OR":
        incl = np.where(((ec == 0) & (ee == 0)) | allevents, 0.0, 1.0)
    else:
        incl = np.where((ec == 0) & (ee == 0), 0.0, 1.0)
    zero = ((ne - ee) == 0) | (ee == 0) | ((nc - ec) == 0) | (ec == 0)
    zero &= incl > 0
    if method == "Peto":
        inc = np.zeros(k_all)
    elif method_incr == "all":
        inc = np.full(k_all, incr)
    elif method_incr == "if0all":
        inc = np.full(k_all, incr if zero.any() else 0.0)
    else:
        inc = incr * zero
    incr_e = inc * incl
    incr_c = inc * incl

    n11, n21 = ee * incl, ec * incl
    n1_, n2_ = ne * incl, nc * incl
    n__ = n1_ + n2_
    n12, n22 = n1_ - n11, n2_ - n21
    n_1, n_2 = n11 + n21, n12 + n22
    with np.errstate(divide="ignore", invalid="ignore"):
        num = np.nansum(n11 - n1_ * n_1 / n__) ** 2
        den = _nansum(n1_ * n2_ * n_1 * n_2 / n__**3)
        q_cmh = float(num / den) if den > 0 else None
        if sm == "OR":
            if method == "Peto":
                big_o = n11
                big_e = n1_ * n_1 / n__
                big_v = n1_ * n2_ * n_1 * n_2 / ((n__ - 1) * n__**2)
                te = (big_o - big_e) / big_v
                se_te = np.sqrt(1 / big_v)
            else:
                te = np.log((n11 + incr_e) * (n22 + incr_c) / ((n12 + incr_e) * (n21 + incr_c)))
                se_te = np.sqrt(1 / (n11 + incr_e) + 1 / (n12 + incr_e)
                                + 1 / (n21 + incr_c) + 1 / (n22 + incr_c))
        elif sm == "RR":
            if not rr_cochrane:
                te = np.log(((n11 + incr_e) / (n1_ + incr_e)) / ((n21 + incr_c) / (n2_ + incr_c)))
                se_te = np.sqrt(1 / (n11 + incr_e * ~allevents) - 1 / (n1_ + incr_e)
                                + 1 / (n21 + incr_c * ~allevents) - 1 / (n2_ + incr_c))
            else:
                te = np.log(((n11 + incr_e) / (n1_ + 2 * incr_e))
                            / ((n21 + incr_c) / (n2_ + 2 * incr_c)))
                se_te = np.sqrt(1 / (n11 + incr_e) - 1 / (n1_ + 2 * incr_e)
                                + 1 / (n21 + incr_c) - 1 / (n2_ + 2 * incr_c))
        else:
            te = n11 / n1_ - n21 / n2_
            se_te = np.sqrt((n11 + incr_e) * (n12 + incr_e) / (n1_ + 2 * incr_e) ** 3
                            + (n21 + incr_c) * (n22 + incr_c) / (n2_ + 2 * incr_c) ** 3)
    te = np.where(np.isfinite(te), te, np.nan)
    se_te = np.where(np.isfinite(te) & np.isfinite(se_te), se_te, np.nan)
    included = np.isfinite(te)
    bad_se = included & ~(se_te > 0)
    if bad_se.any():
        i = int(np.flatnonzero(bad_se)[0])
        raise MetaAnalysisError(
            f"The standard error of {study_name(i, labels)} is 0; it cannot be weighted."
        )
    k = int(included.sum())
    excluded = tuple(labels[i] if labels else str(i + 1) for i in np.flatnonzero(~included))
    if k == 0:
        raise MetaAnalysisError(
            "There is no study to pool: every study has no events (or only events) in both "
            "groups."
        )

    w_iv = np.where(included, 1 / se_te**2, 0.0)
    te0 = np.where(included, te, 0.0)
    te_iv = float(w_iv @ te0 / w_iv.sum())
    k_mh = None
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "MH":
            ie = incr_e * (not mh_exact)
            ic = incr_c * (not mh_exact)
            nn = n__ + 2 * ie + 2 * ic
            if sm == "OR":
                A = (n11 + ie) * (n22 + ic) / nn
                B = (n11 + ie + n22 + ic) / nn
                C = (n12 + ie) * (n21 + ic) / nn
                D = (n12 + ie + n21 + ic) / nn
                sa, sc = _nansum(A), _nansum(C)
                if sa == 0 or sc == 0:
                    raise MetaAnalysisError(
                        "The Mantel-Haenszel odds ratio cannot be estimated: the sum of "
                        f"{'a*d/n' if sa == 0 else 'b*c/n'} over the studies is 0."
                    )
                w = C
                te_c = math.log(sa / sc)
                or_c = math.exp(te_c)
                se_c = math.sqrt(1 / (2 * sa**2) * (_nansum(A * B) + or_c * (
                    _nansum(B * C) + _nansum(A * D)) + or_c**2 * _nansum(C * D)))
            elif sm == "RR":
                D = ((n1_ + 2 * ie) * (n2_ + 2 * ic) * (n_1 + ie + ic)
                     - (n11 + ie) * (n21 + ic) * nn) / nn**2
                R = (n11 + ie) * (n2_ + 2 * ic) / nn
                S = (n21 + ic) * (n1_ + 2 * ie) / nn
                sr, ss = _nansum(R), _nansum(S)
                if sr == 0 or ss == 0:
                    raise MetaAnalysisError(
                        "The Mantel-Haenszel risk ratio cannot be estimated: there are no "
                        f"events in the {'experimental' if sr == 0 else 'control'} group of "
                        "any study."
                    )
                w = S
                te_c = math.log(sr / ss)
                se_c = math.sqrt(_nansum(D) / (sr * ss))
            else:
                R = ((n11 + ie) * (n12 + ie) * (n2_ + 2 * ic) ** 3
                     + (n21 + ic) * (n22 + ic) * (n1_ + 2 * ie) ** 3) / (
                    (n1_ + 2 * ie) * (n2_ + 2 * ic) * nn**2)
                S = (n1_ + 2 * ie) * (n2_ + 2 * ic) / nn
                w = S
                ok = included & np.isfinite(S)
                te_c = float(S[ok] @ te[ok] / S[ok].sum())
                se_c = math.sqrt(_nansum(R) / _nansum(S) ** 2)
            w_common = np.where(np.isfinite(w), w, 0.0)
            k_mh = int((w_common > 0).sum())
        else:  # Peto and Inverse: inverse-variance weights of the study effects
            w_common = w_iv
            te_c = te_iv
            se_c = math.sqrt(1 / float(w_iv.sum()))
    if not (math.isfinite(se_c) and se_c > 0):
        raise MetaAnalysisError(
            "The standard error of the common effect is 0 or undefined: every group has no "
            "events or only events."
        )
    crit = qnorm_upper((1 - level) / 2)
    zval = te_c / se_c
    with np.errstate(invalid="ignore"):
        crit_s = crit * se_te
    q = float(np.sum(w_iv * (te0 - te_iv) ** 2))
    return MetabinResult(
        sm=sm, method=method, studlab=labels, te=te, se_te=se_te,
        lower=te - crit_s, upper=te + crit_s, w_common=w_common,
        incr_e=incr_e, incr_c=incr_c, te_common=te_c, se_te_common=se_c,
        lower_common=te_c - crit * se_c, upper_common=te_c + crit * se_c,
        statistic_common=zval, pval_common=float(pnorm_two_sided(zval)),
        q=q, df_q=k - 1, pval_q=float(pchisq_upper(q, k - 1)) if k > 1 else math.nan,
        q_cmh=q_cmh, pval_q_cmh=float(pchisq_upper(q_cmh, 1)) if q_cmh is not None else None,
        k=k, k_all=k_all, k_mh=k_mh, level=level, excluded=excluded,
        counts=(ee, ne, ec, nc), incr=0.0 if method == "Peto" else incr,
        method_incr=method_incr, allstudies=allstudies,
    )
