"""Inter-rater agreement for two raters' paired categorical labels (pure Python, no Django).

`agreement(labels_a, labels_b, categories=None)` cross-tabulates two raters' labels of the same
items and returns an `AgreementStats`: percent agreement, Cohen's kappa with its large-sample
standard error and 95% confidence interval, PABAK and Gwet's AC1. `docs/agreement.md` gives
the formulas, the references and the degenerate-case rules; in short:

- no items (n = 0), labels of different lengths, a label outside `categories` or a category
  listed twice → `ValueError`;
- chance agreement p_e = 1 (both raters used one and the same category for every item) → kappa,
  its standard error and its interval are `None` (0/0: undefined), never NaN;
- fewer than two categories (k = 1) → PABAK and AC1 are `None` as well (their formulas divide
  by k - 1);
- every other value is a finite float.

All sums are exact (integer and `fractions.Fraction` arithmetic) and converted to float once,
so the results do not depend on the order of the items, of the categories or of the raters.

For screening (`SCREENING_CATEGORIES`), the binary view (`BINARY_CATEGORIES`, `to_binary`)
counts "maybe" as "include", as Covidence does: a maybe moves a record on to the next stage.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "BINARY_CATEGORIES",
    "SCREENING_CATEGORIES",
    "Z_95",
    "AgreementStats",
    "agreement",
    "to_binary",
]

SCREENING_CATEGORIES: tuple[str, ...] = ("include", "exclude", "maybe")
BINARY_CATEGORIES: tuple[str, ...] = ("include", "exclude")

# The 0.975 quantile of the standard normal distribution (scipy.stats.norm.ppf(0.975)).
Z_95 = 1.959963984540054


def to_binary(verdict: str) -> str:
    """A screening verdict in the binary view: "maybe" counts as "include"."""
    if verdict not in SCREENING_CATEGORIES:
        raise ValueError(f"not a screening verdict: {verdict!r}")
    return "include" if verdict == "maybe" else verdict


@dataclass(frozen=True)
class AgreementStats:
    """Agreement between two raters on `n` items.

    `table[i][j]` counts the items rater A labelled `categories[i]` and rater B labelled
    `categories[j]` (rows: rater A, columns: rater B).

    - `observed`: percent agreement p_o as a proportion (agreeing items / n).
    - `expected`: Cohen's chance agreement p_e = Σ_c p_A(c)·p_B(c) from each rater's marginals.
    - `kappa`: Cohen's kappa (p_o - p_e)/(1 - p_e); `None` when p_e = 1.
    - `kappa_se`: the large-sample (non-null) standard error of Fleiss, Cohen & Everitt (1969),
      the one SAS PROC FREQ reports as ASE and statsmodels as `std_kappa` — not Cohen's (1960)
      simpler sqrt(p_o(1 - p_o)/(n(1 - p_e)²)). `None` when kappa is.
    - `kappa_ci_lb`, `kappa_ci_ub`: Wald 95% interval kappa ± 1.96·SE, clipped to [-1, 1].
    - `pabak`: prevalence- and bias-adjusted kappa (Byrt, Bishop & Carlin 1993),
      (k·p_o - 1)/(k - 1) with k = len(categories); `None` when k < 2.
    - `ac1`: Gwet's AC1 (Gwet 2008), (p_o - p_g)/(1 - p_g) with
      p_g = 1/(k - 1) · Σ_c π_c(1 - π_c), π_c the mean of the two raters' marginal
      proportions of c; `expected_ac1` is p_g. `None` when k < 2.
    """

    n: int
    categories: tuple[Hashable, ...]
    table: tuple[tuple[int, ...], ...]
    observed: float
    expected: float
    kappa: float | None
    kappa_se: float | None
    kappa_ci_lb: float | None
    kappa_ci_ub: float | None
    pabak: float | None
    ac1: float | None
    expected_ac1: float | None

    @property
    def k(self) -> int:
        """The number of categories (used by PABAK and AC1)."""
        return len(self.categories)

    @property
    def agreed(self) -> int:
        """The number of items both raters labelled alike (the table's diagonal)."""
        return sum(self.table[i][i] for i in range(self.k))


def _default_categories(labels: Iterable[Hashable]) -> tuple[Hashable, ...]:
    """The observed labels in sorted order (by type name and repr when they do not sort)."""
    unique = set(labels)
    try:
        return tuple(sorted(unique))  # type: ignore[type-var]
    except TypeError:
        return tuple(sorted(unique, key=lambda c: (type(c).__qualname__, repr(c))))


def _check_categories(categories: Iterable[Hashable]) -> tuple[Hashable, ...]:
    cats = tuple(categories)
    if len(set(cats)) != len(cats):
        duplicated = sorted(repr(c) for c, m in Counter(cats).items() if m > 1)
        raise ValueError(f"categories listed more than once: {', '.join(duplicated)}")
    return cats


def _float_or_none(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def agreement(
    labels_a: Sequence[Hashable] | Iterable[Hashable],
    labels_b: Sequence[Hashable] | Iterable[Hashable],
    categories: Iterable[Hashable] | None = None,
) -> AgreementStats:
    """Agreement between rater A's `labels_a` and rater B's `labels_b` (item i: a[i], b[i]).

    `categories` defaults to the union of the observed labels; pass them to fix the table's
    order and to count a category nobody used (it changes k in PABAK and AC1, not kappa).
    Raises `ValueError` for no items, unequal lengths, a label outside `categories` or a
    repeated category. See the module docstring for the undefined (`None`) cases.
    """
    a = list(labels_a)
    b = list(labels_b)
    if len(a) != len(b):
        raise ValueError(f"the raters labelled different numbers of items ({len(a)} ≠ {len(b)})")
    n = len(a)
    if n == 0:
        raise ValueError("no paired labels: agreement needs at least one item rated by both")
    cats = _default_categories(a + b) if categories is None else _check_categories(categories)
    index = {c: i for i, c in enumerate(cats)}
    unknown = {x for x in a + b if x not in index}
    if unknown:
        listed = ", ".join(sorted(repr(x) for x in unknown))
        raise ValueError(f"labels not among the categories: {listed}")

    k = len(cats)
    cells = Counter(zip(a, b, strict=True))
    table = tuple(tuple(cells[(ci, cj)] for cj in cats) for ci in cats)
    rows = [sum(table[i]) for i in range(k)]  # rater A's marginal counts
    cols = [sum(table[i][j] for i in range(k)) for j in range(k)]  # rater B's
    agreed = sum(table[i][i] for i in range(k))

    n2 = n * n
    p_o = Fraction(agreed, n)
    p_e = Fraction(sum(r * c for r, c in zip(rows, cols, strict=True)), n2)

    kappa = kappa_se = ci_lb = ci_ub = None
    if p_e != 1:
        kappa = (p_o - p_e) / (1 - p_e)
        variance = _fce_variance(table, rows, cols, n, p_o, p_e)
        kappa_se = math.sqrt(float(variance))
        half_width = Z_95 * kappa_se
        ci_lb = max(-1.0, float(kappa) - half_width)
        ci_ub = min(1.0, float(kappa) + half_width)

    pabak = ac1 = p_e_ac1 = None
    if k >= 2:
        pabak = (k * p_o - 1) / (k - 1)
        # π_c = (rows[c] + cols[c]) / 2n, so Σ π_c(1 - π_c) = Σ m_c(2n - m_c) / 4n².
        spread = sum((r + c) * (2 * n - r - c) for r, c in zip(rows, cols, strict=True))
        p_e_ac1 = Fraction(spread, 4 * n2 * (k - 1))
        ac1 = (p_o - p_e_ac1) / (1 - p_e_ac1)  # p_g ≤ 1/k < 1: always defined

    return AgreementStats(
        n=n,
        categories=cats,
        table=table,
        observed=float(p_o),
        expected=float(p_e),
        kappa=_float_or_none(kappa),
        kappa_se=kappa_se,
        kappa_ci_lb=ci_lb,
        kappa_ci_ub=ci_ub,
        pabak=_float_or_none(pabak),
        ac1=_float_or_none(ac1),
        expected_ac1=_float_or_none(p_e_ac1),
    )


def _fce_variance(
    table: tuple[tuple[int, ...], ...],
    rows: list[int],
    cols: list[int],
    n: int,
    p_o: Fraction,
    p_e: Fraction,
) -> Fraction:
    """Large-sample variance of kappa, Fleiss, Cohen & Everitt (1969), exactly.

    Var = [ Σ_i p_ii ((1 - p_e) - (p_.i + p_i.)(1 - p_o))²
            + (1 - p_o)² Σ_{i≠j} p_ij (p_.i + p_j.)²
            - (p_o·p_e - 2p_e + p_o)² ] / (n (1 - p_e)⁴)

    with p_i. the row (rater A) and p_.j the column (rater B) marginal proportions (the form
    of Fleiss, Levin & Paik 2003, ch. 18). A delta-method variance, so non-negative; computed
    exactly as a rational, and clamped at 0 anyway.
    """
    k = len(rows)
    p_row = [Fraction(r, n) for r in rows]
    p_col = [Fraction(c, n) for c in cols]
    q_o, q_e = 1 - p_o, 1 - p_e
    diagonal = sum(
        Fraction(table[i][i], n) * (q_e - (p_col[i] + p_row[i]) * q_o) ** 2 for i in range(k)
    )
    off_diagonal = sum(
        Fraction(table[i][j], n) * (p_col[i] + p_row[j]) ** 2
        for i in range(k)
        for j in range(k)
        if i != j and table[i][j]
    )
    correction = (p_o * p_e - 2 * p_e + p_o) ** 2
    variance = (diagonal + q_o**2 * off_diagonal - correction) / (n * q_e**4)
    return max(variance, Fraction(0))
