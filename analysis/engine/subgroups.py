"""Subgroup analysis, both ways metafor users run it.

* Separate fits: ``rma(yi, vi, subset=group==g)`` for each group (each with its own tau^2),
  then the test for subgroup differences as a common-effect meta-analysis of the group
  estimates: ``rma(b_g, sei=se_g, method="FE")$QE`` on G - 1 degrees of freedom.
* One mixed-effects model with a single tau^2: ``rma(yi, vi, mods = ~ factor(group))``; its
  omnibus test of the moderators (``qm``, ``qmp``) is the test for subgroup differences, and
  ``rma(yi, vi, mods = ~ factor(group) - 1)`` gives each group's estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.engine._core import pchisq_upper
from analysis.engine.errors import MetaAnalysisError
from analysis.engine.model import FIXED_METHODS, RMAResult, fit


@dataclass(frozen=True, eq=False)
class SubgroupResult:
    """``levels`` (sorted as R's factor levels), ``n_per_level``, ``separate`` (level -> fit),
    the between-groups test from separate fits (``q_between``, ``df_between``,
    ``pval_between``), and the mixed-effects models with one tau^2: ``mixed`` (with intercept:
    ``mixed.qm``/``mixed.qmp`` test subgroup differences) and ``mixed_no_intercept`` (one
    coefficient per level)."""

    levels: tuple[str, ...]
    n_per_level: tuple[int, ...]
    separate: dict[str, RMAResult]
    q_between: float
    df_between: int
    pval_between: float
    mixed: RMAResult
    mixed_no_intercept: RMAResult

    def as_dict(self) -> dict:
        return {
            "levels": list(self.levels),
            "n_per_level": list(self.n_per_level),
            "separate": {g: r.as_dict() for g, r in self.separate.items()},
            "q_between": self.q_between,
            "df_between": self.df_between,
            "pval_between": self.pval_between,
            "mixed": self.mixed.as_dict(),
            "mixed_no_intercept": self.mixed_no_intercept.as_dict(),
        }


def subgroup(res: RMAResult, groups) -> SubgroupResult:
    """Subgroup analysis of an intercept-only fit ``res`` by ``groups`` (one label per study),
    using ``res``'s method, test, level and control for every fit."""
    if not res.int_only:
        raise MetaAnalysisError("subgroup() needs a model without moderators.")
    groups = np.asarray([str(g) for g in groups], dtype=object)
    if groups.shape[0] != res.k:
        raise MetaAnalysisError(f"'groups' has {groups.shape[0]} labels for {res.k} studies.")
    levels = tuple(sorted(set(groups.tolist())))
    if len(levels) < 2:
        raise MetaAnalysisError("subgroup() needs at least 2 groups.")
    y, v = res.yi, res.vi
    separate: dict[str, RMAResult] = {}
    counts = []
    for g in levels:
        mask = groups == g
        counts.append(int(mask.sum()))
        if mask.sum() < 2 and res.method not in FIXED_METHODS:
            raise MetaAnalysisError(
                f"Group '{g}' has {int(mask.sum())} study; a random-effects fit needs at least 2."
            )
        slab = None if res.slab is None else tuple(np.asarray(res.slab, dtype=object)[mask])
        separate[g] = fit(y[mask], v[mask], None, ("intrcpt",), res.method, res.test,
                          res.level, res.control, slab=slab, measure=res.measure)
    b = np.array([separate[g].b for g in levels])
    se = np.array([separate[g].se for g in levels])
    w = 1.0 / se**2
    mean = float(w @ b) / float(w.sum())
    q = float(w @ (b - mean) ** 2)
    df = len(levels) - 1
    dummies = (groups[:, None] == np.array(levels, dtype=object)[None, :]).astype(float)
    X = np.column_stack([np.ones(res.k), dummies[:, 1:]])
    names = ("intrcpt", *(f"group{g}" for g in levels[1:]))
    mixed = fit(y, v, X, names, res.method, res.test, res.level, res.control,
                slab=res.slab, measure=res.measure, int_incl=True)
    mixed0 = fit(y, v, dummies, tuple(f"group{g}" for g in levels), res.method, res.test,
                 res.level, res.control, slab=res.slab, measure=res.measure, int_incl=False)
    return SubgroupResult(
        levels=levels, n_per_level=tuple(counts), separate=separate, q_between=q,
        df_between=df, pval_between=float(pchisq_upper(q, df)) if df > 0 else math.nan,
        mixed=mixed, mixed_no_intercept=mixed0,
    )
