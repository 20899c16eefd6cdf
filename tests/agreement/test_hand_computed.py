"""`screening.agreement` against values computed by hand (the arithmetic is next to each value).

Notation: table rows are rater A, columns rater B; p_o observed agreement, p_e Cohen's chance
agreement, k categories, π_c the mean of the two raters' marginal proportions of c,
p_g = Σ π_c(1 - π_c)/(k - 1) Gwet's chance agreement.
"""

from __future__ import annotations

import math

import pytest

from screening.agreement import (
    BINARY_CATEGORIES,
    Z_95,
    AgreementStats,
    agreement,
    to_binary,
)

TOL = 1e-12


def expand(table, categories):
    """Two raters' label lists from a contingency table (rows: rater A, columns: rater B)."""
    a, b = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [categories[i]] * count
            b += [categories[j]] * count
    return a, b


def stats_of(table, categories) -> AgreementStats:
    return agreement(*expand(table, categories), categories=categories)


def test_two_by_two_worked_example():
    # The worked example of Wikipedia's "Cohen's kappa" article: 50 grant proposals, two
    # readers; yes/yes 20, yes/no 5, no/yes 10, no/no 15 — published κ = 0.40.
    s = stats_of([[20, 5], [10, 15]], ["yes", "no"])
    assert s.n == 50
    assert s.table == ((20, 5), (10, 15))
    # p_o = (20 + 15)/50 = 0.7
    assert s.observed == pytest.approx(0.7, abs=TOL)
    # A says yes 25/50 = 0.5, B says yes 30/50 = 0.6: p_e = 0.5·0.6 + 0.5·0.4 = 0.5
    assert s.expected == pytest.approx(0.5, abs=TOL)
    # κ = (0.7 - 0.5)/(1 - 0.5) = 0.4
    assert s.kappa == pytest.approx(0.4, abs=TOL)
    # Fleiss, Cohen & Everitt (1969), p_11 = .4, p_12 = .1, p_21 = .2, p_22 = .3,
    # p_1. = p_2. = .5, p_.1 = .6, p_.2 = .4, 1 - p_o = .3, 1 - p_e = .5:
    #   diagonal  .4·(.5 - (.6 + .5)·.3)² + .3·(.5 - (.4 + .5)·.3)² = .4·.0289 + .3·.0529 = .02743
    #   off-diag  .3²·[.1·(.6 + .5)² + .2·(.4 + .5)²] = .09·(.121 + .162) = .02547
    #   minus     (p_o·p_e - 2p_e + p_o)² = (.35 - 1 + .7)² = .0025
    #   var = (.02743 + .02547 - .0025)/(50·.5⁴) = .0504/3.125 = .016128
    se = math.sqrt(0.016128)
    assert s.kappa_se == pytest.approx(se, abs=TOL)  # 0.12700
    assert s.kappa_ci_lb == pytest.approx(0.4 - Z_95 * se, abs=TOL)  # 0.1511
    assert s.kappa_ci_ub == pytest.approx(0.4 + Z_95 * se, abs=TOL)  # 0.6489
    # PABAK = (2·0.7 - 1)/(2 - 1) = 0.4
    assert s.pabak == pytest.approx(0.4, abs=TOL)
    # π_yes = (25 + 30)/100 = .55, π_no = .45: p_g = (.55·.45 + .45·.55)/1 = .495
    # AC1 = (.7 - .495)/(1 - .495) = .205/.505 = 41/101
    assert s.expected_ac1 == pytest.approx(0.495, abs=TOL)
    assert s.ac1 == pytest.approx(41 / 101, abs=TOL)


def test_three_categories_against_published_sas_output():
    # The 3x3 table of SAS PROC FREQ's simple-kappa output quoted in statsmodels'
    # test_inter_rater.py (table10): Kappa 0.4842, ASE 0.1380, 95% CL 0.2137 to 0.7547.
    s = stats_of([[0, 4, 1], [0, 8, 0], [0, 1, 5]], ["a", "b", "c"])
    # n = 19; rows 5, 8, 6; columns 0, 13, 6; diagonal 0 + 8 + 5 = 13
    # p_o = 13/19; p_e = (5·0 + 8·13 + 6·6)/19² = 140/361
    assert s.observed == pytest.approx(13 / 19, abs=TOL)
    assert s.expected == pytest.approx(140 / 361, abs=TOL)
    # κ = (13·19 - 140)/(361 - 140) = 107/221 = 0.48416
    assert s.kappa == pytest.approx(107 / 221, abs=TOL)
    assert round(s.kappa, 4) == 0.4842
    assert round(s.kappa_se, 4) == 0.1380
    assert round(s.kappa_ci_lb, 4) == 0.2137
    assert round(s.kappa_ci_ub, 4) == 0.7547
    # PABAK = (3·13/19 - 1)/(3 - 1) = (20/19)/2 = 10/19
    assert s.pabak == pytest.approx(10 / 19, abs=TOL)
    # Σ m_c(2n - m_c) with m = rows + columns = 5, 21, 12 and 2n = 38:
    #   5·33 + 21·17 + 12·26 = 165 + 357 + 312 = 834; p_g = 834/(4·361·2) = 417/1444
    # AC1 = (13/19 - 417/1444)/(1 - 417/1444) = (988 - 417)/(1444 - 417) = 571/1027
    assert s.expected_ac1 == pytest.approx(417 / 1444, abs=TOL)
    assert s.ac1 == pytest.approx(571 / 1027, abs=TOL)


def test_same_percent_agreement_different_kappa():
    # The pair of tables usually quoted from Feinstein & Cicchetti (1990): both p_o = .85.
    balanced = stats_of([[40, 9], [6, 45]], BINARY_CATEGORIES)
    # rows 49, 51; columns 46, 54: p_e = .49·.46 + .51·.54 = .2254 + .2754 = .5008
    # κ = (.85 - .5008)/(1 - .5008) = .3492/.4992 = 0.6995
    assert balanced.expected == pytest.approx(0.5008, abs=TOL)
    assert balanced.kappa == pytest.approx(0.3492 / 0.4992, abs=TOL)
    skewed = stats_of([[80, 10], [5, 5]], BINARY_CATEGORIES)
    # rows 90, 10; columns 85, 15: p_e = .9·.85 + .1·.15 = .765 + .015 = .78
    # κ = (.85 - .78)/(1 - .78) = .07/.22 = 0.318
    assert skewed.expected == pytest.approx(0.78, abs=TOL)
    assert skewed.kappa == pytest.approx(0.07 / 0.22, abs=TOL)
    # PABAK only sees p_o: 2·.85 - 1 = .7 for both
    assert balanced.pabak == pytest.approx(0.7, abs=TOL)
    assert skewed.pabak == pytest.approx(0.7, abs=TOL)


def test_kappa_paradox_high_agreement_low_kappa():
    # Screening-like: 100 records, 90 excluded by both, 5 include/exclude, 5 exclude/include.
    s = stats_of([[0, 5], [5, 90]], BINARY_CATEGORIES)
    # p_o = 90/100 = .9
    assert s.observed == pytest.approx(0.9, abs=TOL)
    # both raters include 5/100: p_e = .05·.05 + .95·.95 = .0025 + .9025 = .905
    assert s.expected == pytest.approx(0.905, abs=TOL)
    # κ = (.9 - .905)/(1 - .905) = -.005/.095 = -1/19: below chance despite 90% agreement
    assert s.kappa == pytest.approx(-1 / 19, abs=TOL)
    # PABAK = 2·.9 - 1 = .8
    assert s.pabak == pytest.approx(0.8, abs=TOL)
    # π_include = .05, π_exclude = .95: p_g = 2·.05·.95 = .095
    # AC1 = (.9 - .095)/(1 - .095) = .805/.905 = 161/181 = 0.8895
    assert s.expected_ac1 == pytest.approx(0.095, abs=TOL)
    assert s.ac1 == pytest.approx(161 / 181, abs=TOL)


def test_perfect_agreement():
    s = stats_of([[3, 0], [0, 7]], BINARY_CATEGORIES)
    # p_o = 1; p_e = .3² + .7² = .58; κ = (1 - .58)/(1 - .58) = 1
    assert s.observed == 1.0
    assert s.expected == pytest.approx(0.58, abs=TOL)
    assert s.kappa == 1.0
    # FCE: diagonal .3·(.42 - 0)² + .7·(.42)² = .42²; off-diagonal 0;
    # minus (.58 - 1.16 + 1)² = .42²: var = 0
    assert s.kappa_se == 0.0
    assert (s.kappa_ci_lb, s.kappa_ci_ub) == (1.0, 1.0)
    # PABAK = 2·1 - 1 = 1; p_g = 2·.3·.7 = .42, AC1 = (1 - .42)/(1 - .42) = 1
    assert s.pabak == 1.0
    assert s.ac1 == 1.0


def test_perfect_disagreement_balanced():
    s = stats_of([[0, 5], [5, 0]], BINARY_CATEGORIES)
    # p_o = 0; p_e = .5·.5 + .5·.5 = .5; κ = (0 - .5)/(1 - .5) = -1
    assert s.observed == 0.0
    assert s.kappa == -1.0
    # FCE: diagonal 0; off-diagonal (1 - 0)²·[.5·(.5 + .5)² + .5·(.5 + .5)²] = 1;
    # minus (p_o·p_e - 2p_e + p_o)² = (0 - 1 + 0)² = 1: var = (0 + 1 - 1)/(10·.5⁴) = 0
    assert s.kappa_se == 0.0
    # PABAK = (2·0 - 1)/1 = -1; π = .5, .5: p_g = .5, AC1 = (0 - .5)/(1 - .5) = -1
    assert s.pabak == -1.0
    assert s.ac1 == -1.0


def test_perfect_disagreement_unbalanced_kappa_above_minus_one():
    s = stats_of([[0, 8], [2, 0]], BINARY_CATEGORIES)
    # rows 8, 2; columns 2, 8: p_e = (8·2 + 2·8)/100 = .32; κ = -.32/.68 = -8/17
    assert s.expected == pytest.approx(0.32, abs=TOL)
    assert s.kappa == pytest.approx(-8 / 17, abs=TOL)
    # PABAK = -1; π_include = (8 + 2)/20 = .5: p_g = .5, AC1 = -1
    assert s.pabak == -1.0
    assert s.ac1 == -1.0


def test_both_always_exclude_kappa_undefined():
    # p_e = 1·1 = 1: κ = 0/0, undefined → None (never NaN)
    s = agreement(["exclude"] * 12, ["exclude"] * 12, categories=BINARY_CATEGORIES)
    assert s.observed == 1.0
    assert s.expected == 1.0
    assert s.kappa is None
    assert s.kappa_se is None
    assert s.kappa_ci_lb is None
    assert s.kappa_ci_ub is None
    # with the two screening categories: PABAK = 2·1 - 1 = 1;
    # π_include = 0, π_exclude = 1: p_g = 0, AC1 = (1 - 0)/(1 - 0) = 1
    assert s.pabak == 1.0
    assert s.expected_ac1 == 0.0
    assert s.ac1 == 1.0
    assert s.table == ((0, 0), (0, 12))


def test_single_category_leaves_pabak_and_ac1_undefined():
    # Categories default to the labels seen: k = 1, and PABAK and AC1 divide by k - 1 = 0.
    s = agreement(["exclude"] * 3, ["exclude"] * 3)
    assert s.categories == ("exclude",)
    assert (s.kappa, s.pabak, s.ac1, s.expected_ac1) == (None, None, None, None)
    assert s.observed == 1.0


def test_unused_category_counts_in_k():
    # The 2x2 worked example with a third category ("maybe") nobody used:
    a, b = expand([[20, 5], [10, 15]], ["yes", "no"])
    s = agreement(a, b, categories=["yes", "no", "maybe"])
    assert s.table == ((20, 5, 0), (10, 15, 0), (0, 0, 0))
    # κ is unchanged (an empty category adds 0 to p_o and p_e): 0.4
    assert s.kappa == pytest.approx(0.4, abs=TOL)
    # PABAK = (3·.7 - 1)/(3 - 1) = 1.1/2 = .55
    assert s.pabak == pytest.approx(0.55, abs=TOL)
    # p_g = .495/(3 - 1) = .2475; AC1 = (.7 - .2475)/(1 - .2475) = .4525/.7525
    assert s.ac1 == pytest.approx(0.4525 / 0.7525, abs=TOL)


def test_default_categories_are_sorted_and_table_oriented_rows_a():
    s = agreement(["b", "a", "a"], ["a", "a", "b"])
    assert s.categories == ("a", "b")
    # items: (b, a), (a, a), (a, b) → row a: [1, 1]; row b: [1, 0]
    assert s.table == ((1, 1), (1, 0))
    assert s.agreed == 1
    assert s.k == 2


def test_unsortable_categories_get_a_stable_order():
    s = agreement([1, "x", None], [1, "x", None])
    assert set(s.categories) == {1, "x", None}
    assert s.kappa == 1.0


@pytest.mark.parametrize(
    ("a", "b", "categories", "message"),
    [
        ([], [], None, "no paired labels"),
        (["include"], [], None, "different numbers"),
        (["include"], ["maybe"], BINARY_CATEGORIES, "not among the categories: 'maybe'"),
        (["x"], ["x"], ["x", "y", "x"], "more than once: 'x'"),
    ],
)
def test_invalid_input_raises(a, b, categories, message):
    with pytest.raises(ValueError, match=message):
        agreement(a, b, categories=categories)


def test_iterables_are_accepted():
    s = agreement(iter(["a", "b"]), (x for x in ["a", "b"]))
    assert s.n == 2
    assert s.kappa == 1.0


def test_stats_are_frozen():
    s = agreement(["a"], ["a"])
    with pytest.raises(AttributeError):
        s.kappa = 0.5  # type: ignore[misc]


def test_to_binary():
    assert [to_binary(v) for v in ("include", "exclude", "maybe")] == [
        "include",
        "exclude",
        "include",
    ]
    with pytest.raises(ValueError, match="not a screening verdict"):
        to_binary("Include")


def test_interval_is_clipped_to_kappa_range():
    # 9 agreements on include, 1 on exclude, 1 disagreement: κ high, SE large, n small.
    s = stats_of([[9, 1], [0, 1]], BINARY_CATEGORIES)
    # rows 10, 1; columns 9, 2; p_o = 10/11; p_e = (10·9 + 1·2)/121 = 92/121
    # κ = (110 - 92)/(121 - 92) = 18/29
    assert s.kappa == pytest.approx(18 / 29, abs=TOL)
    assert s.kappa + Z_95 * s.kappa_se > 1
    assert s.kappa_ci_ub == 1.0
    assert s.kappa_ci_lb == pytest.approx(18 / 29 - Z_95 * s.kappa_se, abs=TOL)
