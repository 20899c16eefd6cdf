"""Properties of `screening.agreement` over random paired labels (hypothesis)."""

from __future__ import annotations

import math
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screening.agreement import SCREENING_CATEGORIES, AgreementStats, agreement

SCALARS = (
    "n",
    "observed",
    "expected",
    "kappa",
    "kappa_se",
    "kappa_ci_lb",
    "kappa_ci_ub",
    "pabak",
    "ac1",
    "expected_ac1",
)

category_sets = st.sampled_from(
    [SCREENING_CATEGORIES, ("include", "exclude"), (0, 1, 2, 3), ("x",), (True, False)]
)


@st.composite
def ratings(draw):
    """(labels_a, labels_b, categories), with at least one item."""
    cats = draw(category_sets)
    pairs = draw(
        st.lists(st.tuples(st.sampled_from(cats), st.sampled_from(cats)), min_size=1, max_size=60)
    )
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    return a, b, cats


def scalars(s: AgreementStats) -> tuple:
    return tuple(getattr(s, name) for name in SCALARS)


@given(ratings(), st.booleans())
def test_never_nan_and_in_range(data, pass_categories):
    a, b, cats = data
    s = agreement(a, b, cats if pass_categories else None)
    for name in SCALARS:
        value = getattr(s, name)
        assert value is None or math.isfinite(value), name
    assert 0.0 <= s.observed <= 1.0
    assert 0.0 <= s.expected <= 1.0
    assert sum(map(sum, s.table)) == s.n == len(a)
    assert s.observed == s.agreed / s.n
    if s.kappa is None:
        assert s.expected == 1.0
        assert s.kappa_se is s.kappa_ci_lb is s.kappa_ci_ub is None
    else:
        assert -1.0 <= s.kappa <= 1.0
        assert s.kappa_se >= 0.0
        assert -1.0 <= s.kappa_ci_lb <= s.kappa <= s.kappa_ci_ub <= 1.0
    if s.k < 2:
        assert s.pabak is None and s.ac1 is None
    else:
        assert -1.0 / (s.k - 1) - 1e-12 <= s.pabak <= 1.0
        assert -1.0 <= s.ac1 <= 1.0
        assert 0.0 <= s.expected_ac1 <= 1.0 / s.k + 1e-12


@given(ratings())
def test_symmetric_in_the_two_raters(data):
    a, b, cats = data
    ab = agreement(a, b, cats)
    ba = agreement(b, a, cats)
    assert scalars(ab) == scalars(ba)
    assert ba.table == tuple(zip(*ab.table, strict=True))


@given(ratings(), st.randoms(use_true_random=False))
def test_item_order_does_not_matter(data, rnd):
    a, b, cats = data
    pairs = list(zip(a, b, strict=True))
    rnd.shuffle(pairs)
    shuffled = agreement([x for x, _ in pairs], [y for _, y in pairs], cats)
    original = agreement(a, b, cats)
    assert shuffled == original
    # also with the default categories (the observed labels, sorted)
    assert agreement([x for x, _ in pairs], [y for _, y in pairs]) == agreement(a, b)


@given(ratings(), st.randoms(use_true_random=False))
def test_relabelling_categories_does_not_matter(data, rnd):
    a, b, cats = data
    new_names = [f"label-{i}" for i in range(len(cats))]
    rnd.shuffle(new_names)
    rename = dict(zip(cats, new_names, strict=True))
    order = list(cats)
    rnd.shuffle(order)  # a different category order as well
    renamed = agreement([rename[x] for x in a], [rename[y] for y in b], [rename[c] for c in order])
    original = agreement(a, b, cats)
    assert scalars(renamed) == scalars(original)
    # the same table, read through the renaming
    for i, ci in enumerate(cats):
        for j, cj in enumerate(cats):
            r_i = renamed.categories.index(rename[ci])
            r_j = renamed.categories.index(rename[cj])
            assert renamed.table[r_i][r_j] == original.table[i][j]


@given(ratings())
def test_matches_statsmodels_kappa_and_standard_error(data):
    """An independent implementation of Cohen's kappa and the FCE (1969) variance."""
    from statsmodels.stats import inter_rater  # a dev requirement: the cross-check always runs
    a, b, cats = data
    s = agreement(a, b, cats)
    if s.kappa is None or s.k < 2:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels divides 0/0 in side statistics
        ref = inter_rater.cohens_kappa(list(map(list, s.table)))
    assert s.kappa == pytest.approx(float(ref.kappa), abs=1e-12)
    # statsmodels takes a float sqrt of a variance that can be ~1e-16 instead of 0
    if math.isfinite(ref.std_kappa):
        assert s.kappa_se == pytest.approx(float(ref.std_kappa), abs=1e-7)
