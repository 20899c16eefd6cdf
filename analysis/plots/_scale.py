"""Display scales: which measures are ratios (log axis, natural-scale labels), back-transforms,
reference lines, axis names and nice tick positions."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from matplotlib.ticker import MaxNLocator

# measure: (axis name, column abbreviation, ratio measure on the log scale)
MEASURES: dict[str, tuple[str, str, bool]] = {
    "RR": ("Risk Ratio", "RR", True),
    "OR": ("Odds Ratio", "OR", True),
    "PETO": ("Odds Ratio", "OR", True),
    "HR": ("Hazard Ratio", "HR", True),
    "IRR": ("Incidence Rate Ratio", "IRR", True),
    "ROM": ("Ratio of Means", "ROM", True),
    "RD": ("Risk Difference", "RD", False),
    "MD": ("Mean Difference", "MD", False),
    "SMD": ("Standardised Mean Difference", "SMD", False),
    "ZCOR": ("Fisher's z", "z", False),
    "COR": ("Correlation", "r", False),
    "PLO": ("Log Odds", "Log odds", False),
    "PR": ("Proportion", "Proportion", False),
    "GEN": ("Effect Size", "Estimate", False),
}
RATIO_MEASURES = frozenset(m for m, (_, _, ratio) in MEASURES.items() if ratio)
NO_NULL = frozenset({"PLO", "PR"})  # proportions: no line of no effect


def _ilogit(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


TRANSFORMS: dict[str, tuple[Callable, str | None, str | None]] = {
    # name: (function, axis name, column abbreviation) -- None keeps the measure's
    "exp": (np.exp, None, None),
    # the axis says the values were back-transformed, and from what
    "tanh": (np.tanh, "Correlation r (back-transformed from Fisher's z)", "r"),
    "ztor": (np.tanh, "Correlation r (back-transformed from Fisher's z)", "r"),
    "ilogit": (_ilogit, "Proportion (back-transformed from log odds)", "Proportion"),
    "plogis": (_ilogit, "Proportion (back-transformed from log odds)", "Proportion"),
    "logistic": (_ilogit, "Proportion (back-transformed from log odds)", "Proportion"),
}

DEFAULT = object()  # "use the measure's default" (None means "none")


def critical_value(level: float) -> float:
    """The normal quantile for a two-sided ``level`` interval (95 or 0.95)."""
    alpha = (100.0 - level) / 100.0 if level > 1 else 1.0 - level
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


@dataclass(frozen=True)
class Scale:
    """How values on the analysis scale (log RR, Fisher's z, ...) are shown."""

    measure: str
    log: bool  # log axis; values are exp()-ed and labelled on the natural scale
    func: Callable | None  # analysis scale -> display scale
    name: str  # axis name ("Risk Ratio")
    abbrev: str  # column header abbreviation ("RR")
    refline: float | None  # display scale

    def show(self, x):
        """Analysis-scale value(s) -> display scale (position and printed number)."""
        if self.func is None:
            return np.asarray(x, dtype=float) if np.ndim(x) else float(x)
        out = self.func(np.asarray(x, dtype=float))
        return np.asarray(out, dtype=float) if np.ndim(x) else float(out)

    def show_interval(self, lb, ub):
        """Display-scale bounds in increasing order (a transform may reverse them)."""
        a, b = self.show(lb), self.show(ub)
        return np.minimum(a, b), np.maximum(a, b)

    @property
    def axis_label(self) -> str:
        return f"{self.name} (log scale)" if self.log else self.name

    def to_axis(self, x):
        """Display-scale value(s) -> a linear coordinate (log for a log axis)."""
        return np.log(x) if self.log else np.asarray(x, dtype=float)


def resolve_scale(
    measure: str | None = None,
    *,
    log_scale: bool | None = None,
    transf: str | Callable | None = None,
    refline=DEFAULT,
) -> Scale:
    """The display scale of ``measure``: ratio measures (RR, OR, HR, ...) or ``log_scale=True``
    are shown with ``exp`` on a log axis; ``transf`` (``"tanh"``, ``"ilogit"``, ``"exp"`` or a
    function) back-transforms other measures onto a linear axis."""
    measure = (measure or "GEN").upper()
    name, abbrev, ratio = MEASURES.get(measure, (measure, measure, False))
    log = ratio if log_scale is None else bool(log_scale)
    func: Callable | None = None
    if isinstance(transf, str):
        try:
            func, tname, tabbrev = TRANSFORMS[transf]
        except KeyError:
            raise ValueError(
                f"Unknown transf {transf!r}; use one of {', '.join(TRANSFORMS)} or a function."
            ) from None
        if transf == "exp" and not log:
            log = True
        name, abbrev = tname or name, tabbrev or abbrev
    elif callable(transf):
        func = transf
    elif transf is not None:
        raise ValueError("transf must be a name or a function.")
    if log:
        if func is None:
            func = np.exp
        elif func is not np.exp:
            raise ValueError(
                "A log axis shows exp() of the values; do not combine it with another transf."
            )
        if not ratio and measure in MEASURES and name == MEASURES[measure][0]:
            name, abbrev = "Ratio", "Ratio"
    elif ratio and func is None:
        # a ratio measure on its analysis scale: the values are log ratios, and say so
        name, abbrev = f"Log {name}", f"log {abbrev}"
    if refline is DEFAULT:
        if log:
            refline = 1.0
        elif measure in NO_NULL or (isinstance(transf, str) and TRANSFORMS[transf][0] is _ilogit):
            refline = None
        else:
            refline = float(func(0.0)) if func is not None else 0.0
    elif refline is not None:
        refline = float(refline)
    return Scale(measure=measure, log=log, func=func, name=name, abbrev=abbrev, refline=refline)


# --------------------------------------------------------------------------- ticks


def _cover(candidates: list[float], lo: float, hi: float) -> list[float]:
    """The candidates from the largest one <= lo to the smallest one >= hi."""
    cands = sorted(set(candidates))
    eps = 1e-9
    below = [c for c in cands if c <= lo * (1 + eps) + eps * (lo == 0)]
    above = [c for c in cands if c >= hi * (1 - eps) - eps * (hi == 0)]
    start = below[-1] if below else cands[0]
    stop = above[0] if above else cands[-1]
    return [c for c in cands if start <= c <= stop]


def log_ticks(lo: float, hi: float, max_ticks: int = 9, *, within: bool = False) -> list[float]:
    """Natural-scale tick values for a log axis: decades with 1-2-3-5, 1-2-5, 1-3 or 1
    (0.1, 0.2, 0.5, 1, 2, 5, ...) for wide ranges, evenly spaced values for narrow ones. The
    ticks cover [lo, hi] (both > 0), or with ``within`` lie inside it; the finest set with at
    most ``max_ticks`` ticks is used."""
    if not (lo > 0 and hi > 0):
        raise ValueError("A log axis needs positive values.")
    lo, hi = min(lo, hi), max(lo, hi)

    def pick(cands: list[float]) -> list[float]:
        if within:
            eps = 1e-9
            return [c for c in sorted(set(cands)) if lo * (1 - eps) <= c <= hi * (1 + eps)]
        return _cover(cands, lo, hi)

    if hi / lo < 6:
        ticks = pick(
            [
                _tidy(t)
                for t in MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
                if t > 0
            ]
        )
        if len(ticks) >= 3:
            return ticks
    e0 = math.floor(math.log10(lo)) - 1
    e1 = math.ceil(math.log10(hi)) + 1
    ticks: list[float] = []
    for mults, every in (
        ((1, 2, 3, 5), 1),
        ((1, 2, 5), 1),
        ((1, 3), 1),
        ((1,), 1),
        ((1,), 2),
        ((1,), 3),
    ):
        cands = [_tidy(m * 10.0**e) for e in range(e0, e1 + 1) if e % every == 0 for m in mults]
        ticks = pick(cands)
        if len(ticks) <= max_ticks:
            return ticks
    return ticks


def linear_ticks(
    lo: float, hi: float, nbins: int = 6, steps: tuple[float, ...] = (1, 2, 2.5, 5, 10)
) -> list[float]:
    """Nice tick values covering [lo, hi] on a linear axis."""
    if lo == hi:
        lo, hi = lo - 1.0, hi + 1.0
    ticks = [float(t) for t in MaxNLocator(nbins=nbins, steps=list(steps)).tick_values(lo, hi)]
    return [_tidy(t) for t in _cover(ticks, lo, hi)]


def _tidy(t: float) -> float:
    """Round away binary noise (0.30000000000000004 -> 0.3)."""
    return float(f"{t:.10g}")


def ticks_within(scale: Scale, lo: float, hi: float) -> list[float]:
    """Ticks inside [lo, hi] (display scale), for limits the caller chose."""
    if scale.log:
        inside = log_ticks(lo, hi, 7, within=True)
        return inside if len(inside) >= 2 else [lo, hi]
    ticks = linear_ticks(lo, hi)
    eps = 1e-9 * max(abs(lo), abs(hi), 1e-12)
    inside = [t for t in ticks if lo - eps <= t <= hi + eps]
    if len(inside) < 2:
        inside = [lo, hi]
    return inside


def axis_ticks(scale: Scale, values, limits=None) -> tuple[list[float], tuple[float, float]]:
    """(tick values, axis limits) on the display scale. Without ``limits`` the axis runs from
    the first to the last tick, which together cover all ``values``."""
    if limits is not None:
        lo, hi = float(limits[0]), float(limits[1])
        if not lo < hi:
            raise ValueError("Axis limits must be increasing.")
        if scale.log and lo <= 0:
            raise ValueError("Limits of a log axis must be positive (natural scale).")
        return ticks_within(scale, lo, hi), (lo, hi)
    vals = np.asarray([v for v in np.ravel(values) if v is not None], dtype=float)
    vals = vals[np.isfinite(vals)]
    if scale.log:
        vals = vals[vals > 0]
    if vals.size == 0:
        vals = np.array([1.0, 2.0] if scale.log else [0.0, 1.0])
    lo, hi = float(vals.min()), float(vals.max())
    ticks = log_ticks(lo, hi) if scale.log else linear_ticks(lo, hi)
    return ticks, (ticks[0], ticks[-1])


def padded_limits(scale: Scale, values, pad: float = 0.06) -> tuple[float, float]:
    """Limits covering ``values`` (display scale) with a margin of ``pad`` of the range."""
    vals = np.asarray([v for v in np.ravel(values) if v is not None], dtype=float)
    vals = vals[np.isfinite(vals)]
    coords = scale.to_axis(vals[vals > 0] if scale.log else vals)
    lo, hi = float(coords.min()), float(coords.max())
    span = hi - lo if hi > lo else (abs(hi) or 1.0)
    lo, hi = lo - pad * span, hi + pad * span
    if scale.log:
        return math.exp(lo), math.exp(hi)
    return lo, hi
