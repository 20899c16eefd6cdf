"""Effect sizes and their sampling variances: metafor's ``escalc()``.

Formulas are metafor's (``R/escalc.r``) with ``vtype="LS"``:

* RR: yi = log(ai/n1i) - log(ci/n2i); vi = 1/ai - 1/n1i + 1/ci - 1/n2i
* OR: yi = log(ai di / (bi ci)); vi = 1/ai + 1/bi + 1/ci + 1/di
* RD: yi = ai/n1i - ci/n2i; vi = p1(1-p1)/n1i + p2(1-p2)/n2i
* MD: yi = m1i - m2i; vi = sd1i^2/n1i + sd2i^2/n2i
* SMD: yi = J d with d = (m1i - m2i)/sp, sp the pooled SD, and the exact bias correction
  J = exp(lgamma(m/2) - log(sqrt(m/2)) - lgamma((m-1)/2)), m = n1i + n2i - 2;
  vi = 1/n1i + 1/n2i + yi^2 / (2 (n1i + n2i))
* ZCOR: yi = atanh(ri); vi = 1/(ni - 3).   COR: yi = ri; vi = (1 - ri^2)^2 / (ni - 1)
* PLO: yi = log(xi / (ni - xi)); vi = 1/xi + 1/(ni - xi).   PR: yi = xi/ni; vi = yi (1-yi) / ni
* GEN: yi given, with vi or sei.

Continuity correction for 2x2 tables (RR, OR, RD) and proportions (PLO, PR), as metafor:
``add`` (1/2) is added to every cell of a table when ``to="only0"`` (default) and the table
has a zero cell, to all tables with ``to="all"``, to all tables if any has a zero cell with
``to="if0all"``, never with ``to="none"``. ``drop00=True`` drops tables with no events in
both groups (or only events in both groups) instead of correcting them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.special import gammaln

from analysis.engine.errors import MetaAnalysisError, study_name

MEASURES = ("RR", "OR", "RD", "SMD", "MD", "ZCOR", "COR", "PLO", "PR", "GEN")
TO_OPTIONS = ("all", "only0", "if0all", "none")
SMD_METHODS = ("Hedges", "Cohen", "Glass")


@dataclass(frozen=True, eq=False)
class EffectSizes:
    """Output of :func:`escalc`: ``yi``, ``vi`` (numpy arrays) and the study labels ``slab``.

    ``dropped`` lists studies removed by ``drop00=True``; ``corrected`` the studies whose
    counts received the continuity correction.
    """

    yi: np.ndarray
    vi: np.ndarray
    measure: str
    slab: tuple[str, ...] | None = None
    dropped: tuple[str, ...] = ()
    corrected: tuple[str, ...] = field(default=())

    @property
    def sei(self) -> np.ndarray:
        return np.sqrt(self.vi)

    def __len__(self) -> int:
        return int(self.yi.shape[0])


_REQUIRED = {
    "MD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "SMD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "ZCOR": ("ri", "ni"),
    "COR": ("ri", "ni"),
    "PLO": ("xi", "ni"),
    "PR": ("xi", "ni"),
}


def _label(i, slab):
    return slab[i] if slab is not None else str(i + 1)


def _arrays(names, given, k_hint, slab, measure):
    missing = [n for n in names if given.get(n) is None]
    if missing:
        raise MetaAnalysisError(
            f"Measure '{measure}' needs {', '.join(names)}; missing: {', '.join(missing)}."
        )
    out = {}
    k = None
    for n in names:
        try:
            arr = np.asarray(given[n], dtype=float).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise MetaAnalysisError(f"'{n}' must be numeric.") from exc
        if k is None:
            k = arr.shape[0]
        elif arr.shape[0] != k:
            raise MetaAnalysisError(
                f"Inputs have different lengths ('{names[0]}' has {k}, '{n}' has {arr.shape[0]})."
            )
        out[n] = arr
    if slab is not None and len(slab) != k:
        raise MetaAnalysisError(f"'slab' has {len(slab)} labels for {k} studies.")
    for n in names:
        bad = ~np.isfinite(out[n])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise MetaAnalysisError(
                f"Missing or non-finite value of '{n}' for {study_name(i, slab)}."
            )
    return out


def _first(mask):
    return int(np.flatnonzero(mask)[0])


def _check(mask, slab, message):
    if mask.any():
        i = _first(mask)
        raise MetaAnalysisError(message(i, study_name(i, slab)))


def _correction_mask(zero: np.ndarray, to: str) -> np.ndarray:
    if to == "all":
        return np.ones_like(zero)
    if to == "only0":
        return zero.copy()
    if to == "if0all":
        return np.full_like(zero, bool(zero.any()))
    return np.zeros_like(zero)


def _smd_variant(smd, vtype, diff, sp, sd2, n1, n2, mi, cmi, slab):
    """Standardised mean differences and their variances, metafor's and meta's variants.

    With ``npn = 1/n1 + 1/n2``, ``N = n1 + n2``, ``m = N - 2``, the exact bias correction
    ``J = cmi`` and ``K(m) = 1 - (m - 2) / (m J^2)``:

    * ``Hedges``: ``g = J (m1 - m2) / sp``; ``vtype="LS"``: ``npn + g^2 / (2N)`` (metafor's
      ``escalc("SMD")`` default); ``vtype="UB"``: ``npn + g^2 K(m)`` (metafor's
      ``vtype="UB"``; meta's ``metacont(sm="SMD")`` default, ``method.smd="Hedges"``,
      ``exact.smd=TRUE``; White & Thomas 2005).
    * ``Cohen``: ``d = (m1 - m2) / sp``; ``"LS"``: ``npn + d^2 / (2N)`` (Borenstein et al.
      2009, pp. 26-27; meta's ``method.smd="Cohen", exact.smd=FALSE``); ``"UB"``:
      ``npn + (J d)^2 K(m)``, meta's ``method.smd="Cohen"`` with ``exact.smd=TRUE`` (the
      exact variance of Hedges' g evaluated at g = J d).
    * ``Glass``: ``delta = (m1 - m2) / sd2`` (the control group's SD, meta's
      ``sd.glass="control"``); variance ``npn + delta^2 / (2 (n2 - 1))`` for both vtypes
      (meta's ``method.smd="Glass"``, Cooper & Hedges 1994, p. 238).
    """
    npn = 1 / n1 + 1 / n2
    if smd == "Glass":
        _check(sd2 <= 0, slab, lambda i, s: (
            f"Glass's delta needs a control-group SD > 0 in {s} (sd2i = {sd2[i]:g})."))
        _check(n2 < 2, slab, lambda i, s: (
            f"Glass's delta needs at least 2 in the control group in {s} (n2i = {n2[i]:g})."))
        y = diff / sd2
        return y, npn + y**2 / (2 * (n2 - 1))
    kmi = 1 - (mi - 2) / (mi * cmi**2)
    if smd == "Cohen":
        y = diff / sp
        if vtype == "UB":
            return y, npn + (cmi * y) ** 2 * kmi
        return y, npn + y**2 / (2 * (n1 + n2))
    y = cmi * diff / sp
    if vtype == "UB":
        return y, npn + y**2 * kmi
    return y, npn + y**2 / (2 * (n1 + n2))


def escalc(
    measure: str,
    *,
    ai=None,
    bi=None,
    ci=None,
    di=None,
    n1i=None,
    n2i=None,
    m1i=None,
    m2i=None,
    sd1i=None,
    sd2i=None,
    xi=None,
    ni=None,
    ri=None,
    yi=None,
    vi=None,
    sei=None,
    slab=None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
    vtype: str = "LS",
    smd: str = "Hedges",
) -> EffectSizes:
    """Compute effect sizes: metafor's ``escalc(measure, ai, bi, ci, di, n1i, n2i, m1i, m2i,
    sd1i, sd2i, xi, ni, ri, yi, vi, sei, slab, add=1/2, to="only0", drop00=FALSE)``.

    2x2 measures (RR, OR, RD) take ``ai, bi, ci, di`` or ``ai, n1i, ci, n2i``.

    SMD variants (see :func:`_smd_variant`): ``smd="Hedges"`` (default, Hedges' g),
    ``"Cohen"`` (Cohen's d) or ``"Glass"`` (Glass's delta, control-group SD) as meta's
    ``metacont(method.smd=...)``; ``vtype="LS"`` (default, metafor's large-sample variance)
    or ``"UB"`` (metafor's unbiased variance, which is meta's default ``exact.smd=TRUE``).
    """
    if measure.upper() != "SMD" and (vtype != "LS" or smd != "Hedges"):
        raise MetaAnalysisError("'vtype' and 'smd' only apply to measure 'SMD'.")
    if vtype not in ("LS", "UB"):
        raise MetaAnalysisError(f"Unknown vtype {vtype!r} for SMD; use 'LS' or 'UB'.")
    if smd not in SMD_METHODS:
        raise MetaAnalysisError(
            f"Unknown SMD method {smd!r}; use one of {', '.join(SMD_METHODS)}.")
    measure = str(measure).upper()
    if measure in ("PFT", "PAS", "PLN"):  # proportion transforms: analysis/engine/proportions.py
        from analysis.engine.proportions import escalc_proportion

        return escalc_proportion(measure, xi=xi, ni=ni, slab=slab, add=add, to=to)
    if measure not in MEASURES:
        raise MetaAnalysisError(f"Unknown measure {measure!r}; use one of {', '.join(MEASURES)}.")
    if to not in TO_OPTIONS:
        raise MetaAnalysisError(f"Unknown 'to' {to!r}; use one of {', '.join(TO_OPTIONS)}.")
    if slab is not None:
        slab = tuple(str(s) for s in slab)
    given = {
        "ai": ai, "bi": bi, "ci": ci, "di": di, "n1i": n1i, "n2i": n2i, "m1i": m1i, "m2i": m2i,
        "sd1i": sd1i, "sd2i": sd2i, "xi": xi, "ni": ni, "ri": ri, "yi": yi, "vi": vi, "sei": sei,
    }
    keep = None
    corrected = np.zeros(0, dtype=bool)

    if measure in ("RR", "OR", "RD"):
        if bi is None and di is None and n1i is not None and n2i is not None:
            arr = _arrays(("ai", "n1i", "ci", "n2i"), given, None, slab, measure)
            a, c = arr["ai"], arr["ci"]
            _check(a > arr["n1i"], slab, lambda i, s: (
                f"Events exceed the group size in {s} (ai = {a[i]:g} > n1i = {arr['n1i'][i]:g})."))
            _check(c > arr["n2i"], slab, lambda i, s: (
                f"Events exceed the group size in {s} (ci = {c[i]:g} > n2i = {arr['n2i'][i]:g})."))
            b, d = arr["n1i"] - a, arr["n2i"] - c
        else:
            arr = _arrays(("ai", "bi", "ci", "di"), given, None, slab, measure)
            a, b, c, d = arr["ai"], arr["bi"], arr["ci"], arr["di"]
        for name, x in (("ai", a), ("bi", b), ("ci", c), ("di", d)):
            _check(x < 0, slab, lambda i, s, name=name, x=x: (
                f"Negative count in {s} ({name} = {x[i]:g})."))
        if drop00:
            d00 = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
            keep = ~d00
        zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
        if keep is not None:
            zero &= keep
        corrected = _correction_mask(zero, to)
        if keep is not None:
            corrected &= keep
        shift = np.where(corrected, add, 0.0)
        a, b, c, d = a + shift, b + shift, c + shift, d + shift
        n1, n2 = a + b, c + d
        _check(n1 <= 0, slab, lambda i, s: f"Group 1 of {s} has no participants (n1i = 0).")
        _check(n2 <= 0, slab, lambda i, s: f"Group 2 of {s} has no participants (n2i = 0).")
        with np.errstate(divide="ignore", invalid="ignore"):
            p1, p2 = a / n1, c / n2
            if measure == "RR":
                y = np.log(p1) - np.log(p2)
                v = 1 / a - 1 / n1 + 1 / c - 1 / n2
            elif measure == "OR":
                y = np.log(a * d / (b * c))
                v = 1 / a + 1 / b + 1 / c + 1 / d
            else:
                y = p1 - p2
                v = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    elif measure in ("MD", "SMD"):
        arr = _arrays(_REQUIRED[measure], given, None, slab, measure)
        n1, n2 = arr["n1i"], arr["n2i"]
        s1, s2 = arr["sd1i"], arr["sd2i"]
        _check((n1 < 1) | (n2 < 1), slab, lambda i, s: (
            f"Sample sizes must be at least 1 in {s} (n1i = {n1[i]:g}, n2i = {n2[i]:g})."))
        _check((s1 < 0) | (s2 < 0), slab, lambda i, s: f"Negative standard deviation in {s}.")
        diff = arr["m1i"] - arr["m2i"]
        if measure == "MD":
            y = diff
            v = s1**2 / n1 + s2**2 / n2
        else:
            mi = n1 + n2 - 2
            _check(mi <= 1, slab, lambda i, s: (
                f"SMD needs n1i + n2i > 3 in {s} (n1i + n2i = {n1[i] + n2[i]:g})."))
            sp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / mi)
            _check(sp <= 0, slab, lambda i, s: f"Pooled standard deviation is 0 in {s}.")
            cmi = np.exp(gammaln(mi / 2) - np.log(np.sqrt(mi / 2)) - gammaln((mi - 1) / 2))
            y, v = _smd_variant(smd, vtype, diff, sp, s2, n1, n2, mi, cmi, slab)
    elif measure in ("ZCOR", "COR"):
        arr = _arrays(_REQUIRED[measure], given, None, slab, measure)
        r, n = arr["ri"], arr["ni"]
        _check(np.abs(r) >= 1, slab, lambda i, s: (
            f"Correlation must be strictly between -1 and 1 in {s} (ri = {r[i]:g})."))
        min_n = 3 if measure == "ZCOR" else 1
        _check(n <= min_n, slab, lambda i, s: (
            f"{measure} needs ni > {min_n} in {s} (ni = {n[i]:g})."))
        if measure == "ZCOR":
            y = np.arctanh(r)
            v = 1 / (n - 3)
        else:
            y = r.copy()
            v = (1 - r**2) ** 2 / (n - 1)
    elif measure in ("PLO", "PR"):
        arr = _arrays(_REQUIRED[measure], given, None, slab, measure)
        x, n = arr["xi"], arr["ni"]
        _check(n <= 0, slab, lambda i, s: f"Sample size must be positive in {s} (ni = {n[i]:g}).")
        _check(x < 0, slab, lambda i, s: f"Negative count in {s} (xi = {x[i]:g}).")
        _check(x > n, slab, lambda i, s: (
            f"Events exceed the sample size in {s} (xi = {x[i]:g} > ni = {n[i]:g})."))
        mi = n - x
        zero = (x == 0) | (mi == 0)
        corrected = _correction_mask(zero, to)
        shift = np.where(corrected, add, 0.0)
        x, mi = x + shift, mi + shift
        n = x + mi
        p = x / n
        if measure == "PR":
            y = p
            v = p * (1 - p) / n
        else:
            with np.errstate(divide="ignore"):
                y = np.log(p / (1 - p))
                v = 1 / x + 1 / mi
    else:  # GEN
        if yi is None:
            raise MetaAnalysisError("Measure 'GEN' needs yi and vi (or sei); missing: yi.")
        if vi is None and sei is None:
            raise MetaAnalysisError("Measure 'GEN' needs yi and vi (or sei); missing: vi.")
        arr = _arrays(("yi", "vi" if vi is not None else "sei"), given, None, slab, measure)
        y = arr["yi"]
        v = arr["vi"] if vi is not None else arr["sei"] ** 2
        if sei is not None and vi is None:
            _check(arr["sei"] < 0, slab, lambda i, s: f"Negative standard error in {s}.")

    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    k = y.shape[0]
    labels = slab if slab is not None else tuple(str(i + 1) for i in range(k))
    dropped: tuple[str, ...] = ()
    if keep is not None and not keep.all():
        dropped = tuple(labels[i] for i in np.flatnonzero(~keep))
        warnings.warn(
            f"drop00=True: dropped {len(dropped)} double-zero table(s): {', '.join(dropped)}.",
            stacklevel=2,
        )
        y, v = y[keep], v[keep]
        idx = np.flatnonzero(keep)
        slab = None if slab is None else tuple(slab[i] for i in idx)
        corrected = corrected[keep]
    bad = ~(np.isfinite(y) & np.isfinite(v))
    if bad.any():
        i = _first(bad)
        raise MetaAnalysisError(
            f"Cannot compute the effect size for {study_name(i, slab)} "
            f"(yi = {y[i]:g}, vi = {v[i]:g}); check its inputs."
        )
    _check(v <= 0, slab, lambda i, s: (
        f"Sampling variance of {s} is not positive (vi = {v[i]:g})."))
    corrected_labels = tuple(
        _label(i, slab) for i in np.flatnonzero(corrected)
    ) if corrected.size else ()
    return EffectSizes(
        yi=y, vi=v, measure=measure, slab=slab, dropped=dropped, corrected=corrected_labels
    )
