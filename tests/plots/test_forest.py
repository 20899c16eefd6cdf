"""Forest plots of dat.bcg (log RR) and dat.molloy2014 (Fisher's z) against numbers computed
independently here and metafor's reference results."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from analysis.engine import predict, rma, subgroup
from analysis.plots import (
    ForestRow,
    PooledEstimate,
    forest_from_fit,
    forest_plot,
    heterogeneity_text,
)
from tests.plots.conftest import Z95
from tests.plots.svgtools import (
    as_svg,
    count_marks,
    ids,
    outside_figure,
    overlapping_texts,
    text_boxes,
    texts_by_id,
)

MINUS = "\u2212"


def fmt(x: float, digits: int = 2) -> str:
    text = f"{x:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", MINUS)


def ci_text(est, lb, ub, digits=2) -> str:
    return f"{fmt(est, digits)} [{fmt(lb, digits)}, {fmt(ub, digits)}]"


def squares(fig: Figure) -> PathCollection:
    return next(c for c in fig.axes[0].collections if c.get_gid() == "study-squares")


# made-up risk-of-bias judgements: test data only, never shipped
DOMAINS = {
    "D1": "Randomisation process",
    "D2": "Deviations from intended interventions",
    "D3": "Missing outcome data",
    "D4": "Measurement of the outcome",
    "D5": "Selection of the reported result",
    "Overall": "Overall risk of bias",
}
CYCLE = ["low", "some concerns", "high", "low", "Low risk"]


def made_up_rob(k: int) -> list[dict[str, str]]:
    return [{d: CYCLE[(i + j) % len(CYCLE)] for j, d in enumerate(DOMAINS)} for i in range(k)]


@pytest.fixture(scope="module")
def bcg_forest(bcg):
    return forest_from_fit(
        bcg.labels,
        bcg.yi,
        bcg.vi,
        bcg.fit,
        measure="RR",
        favours=("Favours vaccine", "Favours control"),
    )


@pytest.fixture(scope="module")
def bcg_svg(bcg_forest):
    return as_svg(bcg_forest)


@pytest.fixture(scope="module")
def bcg_groups(bcg):
    return forest_from_fit(
        bcg.labels,
        bcg.yi,
        bcg.vi,
        bcg.fit,
        measure="RR",
        groups=bcg.columns["alloc"],
        rob=made_up_rob(len(bcg.yi)),
        rob_domains=DOMAINS,
        title="BCG vaccine",
    )


# --------------------------------------------------------------------------- study rows


def test_every_study_label_and_its_estimate_text(bcg, bcg_svg):
    texts = texts_by_id(bcg_svg)
    for i, label in enumerate(bcg.labels):
        assert texts[f"label-study-{i}"] == label
        half = Z95 * math.sqrt(bcg.vi[i])
        expected = ci_text(
            math.exp(bcg.yi[i]), math.exp(bcg.yi[i] - half), math.exp(bcg.yi[i] + half)
        )
        assert texts[f"estimate-study-{i}"] == expected
    # spot check by hand: Aronson 1948, RR 0.41 [0.13, 1.26]
    assert texts["estimate-study-0"] == "0.41 [0.13, 1.26]"
    assert texts["estimate-study-7"] == "1.01 [0.89, 1.14]"


def test_the_pooled_text_is_the_engines_and_metafors(bcg, bcg_svg):
    texts = texts_by_id(bcg_svg)
    fit = bcg.fit
    pooled = texts["estimate-pooled-1"]
    assert pooled == ci_text(math.exp(fit.b), math.exp(fit.ci_lb), math.exp(fit.ci_ub))
    ref = bcg.ref["random"]["REML"]["z"]["predict_transf"]
    assert pooled == ci_text(ref["pred"], ref["ci.lb"], ref["ci.ub"]) == "0.49 [0.34, 0.70]"
    assert texts["label-pooled-1"] == "Random-effects model (REML)"
    pred = predict(fit)
    assert texts["estimate-pi-1"] == f"[{fmt(math.exp(pred.pi_lb))}, {fmt(math.exp(pred.pi_ub))}]"
    assert texts["estimate-pi-1"] == f"[{fmt(ref['pi.lb'])}, {fmt(ref['pi.ub'])}]"


def test_heterogeneity_line_as_metafor_reports_it(bcg, bcg_svg):
    texts = texts_by_id(bcg_svg)
    assert texts["heterogeneity-1"] == (
        "Heterogeneity: τ² = 0.31, I² = 92%, Q(12) = 152.23, p < 0.001"
    )
    ref = bcg.ref["random"]["REML"]["z"]
    assert f"τ² = {ref['tau2']:.2f}" in texts["heterogeneity-1"]
    assert f"Q(12) = {ref['QE']:.2f}" in texts["heterogeneity-1"]


def test_weight_texts_are_metafors_weights_and_sum_to_100(bcg, bcg_svg):
    texts = texts_by_id(bcg_svg)
    shown = [texts[f"weight-study-{i}"] for i in range(len(bcg.yi))]
    assert all(t.endswith("%") for t in shown)
    values = [float(t[:-1]) for t in shown]
    assert sum(values) == pytest.approx(100.0, abs=0.05 * len(values))
    ref = bcg.ref["random"]["REML"]["z"]["weights_percent"]
    assert shown == [f"{w:.1f}%" for w in ref]
    assert texts["weight-pooled-1"] == "100.0%"


def test_one_square_per_study_with_area_proportional_to_weight(bcg, bcg_forest, bcg_svg):
    k = len(bcg.yi)
    assert count_marks(bcg_svg, "study-squares") == k
    coll = squares(bcg_forest)
    assert len(coll.get_offsets()) == k
    np.testing.assert_allclose(np.asarray(coll.get_offsets())[:, 0], np.exp(bcg.yi))
    ratio = coll.get_sizes() / np.asarray(bcg.fit.weights)
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)


def test_one_diamond_and_a_prediction_interval(bcg, bcg_forest, bcg_svg):
    assert ids(bcg_svg, "diamond-") == ["diamond-overall-1"]
    assert ids(bcg_svg, "prediction-interval-") == ["prediction-interval-1"]
    ax = bcg_forest.axes[0]
    diamond = next(p for p in ax.patches if p.get_gid() == "diamond-overall-1")
    xs = sorted(diamond.get_xy()[:4, 0])
    fit = bcg.fit
    np.testing.assert_allclose([xs[0], xs[-1]], np.exp([fit.ci_lb, fit.ci_ub]))
    np.testing.assert_allclose(xs[1:3], math.exp(fit.b))


def test_log_axis_with_natural_scale_tick_labels(bcg, bcg_forest, bcg_svg):
    ax = bcg_forest.axes[0]
    assert ax.get_xscale() == "log"
    locs = ax.get_xticks()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10"]
    np.testing.assert_allclose([float(s) for s in labels], locs)
    # the axis covers every interval, and the labels are in the SVG as text
    lo = np.exp(bcg.yi - Z95 * np.sqrt(bcg.vi))
    hi = np.exp(bcg.yi + Z95 * np.sqrt(bcg.vi))
    assert locs[0] <= lo.min() and locs[-1] >= hi.max()
    svg = bcg_svg.decode()
    for s in labels:
        assert f">{s}</text>" in svg
    assert texts_by_id(bcg_svg)["xlabel"] == "Risk Ratio (log scale)"
    refline = next(c for c in ax.collections if c.get_gid() == "refline")
    assert all(np.allclose(seg[:, 0], 1.0) for seg in refline.get_segments())


def test_texts_do_not_overlap_and_columns_are_aligned(bcg_forest, bcg_groups):
    for fig in (bcg_forest, bcg_groups):
        assert overlapping_texts(fig) == []
        assert outside_figure(fig) == []
    boxes = text_boxes(bcg_forest)
    # right-aligned numeric columns end at the same x
    est_right = {
        round(b[2], 1)
        for s, b in boxes
        if "[" in s and "]" in s and "," in s and not s.startswith("[") and "CI" not in s
    }
    assert len(est_right) == 1
    weight_right = {round(b[2], 1) for s, b in boxes if s.endswith("%") and "I²" not in s}
    assert len(weight_right) == 1


def test_heights_grow_with_rows_by_a_constant_row_height(bcg):
    def height(k):
        y, v = bcg.yi[:k], bcg.vi[:k]
        return forest_from_fit(
            bcg.labels[:k], y, v, rma(y, v), measure="RR", xlim=(0.05, 10)
        ).get_size_inches()[1]

    h3, h8, h13 = height(3), height(8), height(13)
    assert h3 < h8 < h13
    assert h13 - h8 == pytest.approx(h8 - h3, rel=1e-9)
    many = [
        ForestRow(f"Study {i}", 0.01 * (i % 7) - 0.02, 0.04, weight=100 / 150) for i in range(150)
    ]
    fig = forest_plot(many, measure="OR")
    row = (h13 - h8) / 5
    assert fig.get_size_inches()[1] > 140 * row
    assert overlapping_texts(fig) == []


def test_clipped_intervals_end_in_arrows(bcg):
    fig = forest_from_fit(bcg.labels, bcg.yi, bcg.vi, bcg.fit, measure="RR", xlim=(0.2, 2))
    ax = fig.axes[0]
    lo = np.exp(bcg.yi - Z95 * np.sqrt(bcg.vi))
    hi = np.exp(bcg.yi + Z95 * np.sqrt(bcg.vi))
    left = next(c for c in ax.collections if c.get_gid() == "ci-arrows-left")
    right = next(c for c in ax.collections if c.get_gid() == "ci-arrows-right")
    assert len(left.get_offsets()) == int((lo < 0.2).sum())
    assert len(right.get_offsets()) == int((hi > 2).sum())
    np.testing.assert_allclose(np.asarray(left.get_offsets())[:, 0], 0.2)
    cis = next(c for c in ax.collections if c.get_gid() == "study-cis")
    xs = np.concatenate([seg[:, 0] for seg in cis.get_segments()])
    assert xs.min() >= 0.2 and xs.max() <= 2.0
    # squares outside the axis are not drawn (Vandiviere 1973: RR 0.198)
    est = np.exp(bcg.yi)
    assert len(squares(fig).get_offsets()) == int(((est >= 0.2) & (est <= 2)).sum())
    # the printed numbers are not clipped
    assert texts_by_id(as_svg(fig))["estimate-study-6"] == "0.20 [0.08, 0.50]"


# --------------------------------------------------------------------------- subgroups


def test_subgroup_blocks_by_allocation(bcg, bcg_groups):
    svg = as_svg(bcg_groups)
    texts = texts_by_id(svg)
    sg = subgroup(bcg.fit, bcg.columns["alloc"])
    assert sg.levels == ("alternate", "random", "systematic")
    assert [texts[f"heading-{n}"] for n in (1, 2, 3)] == list(sg.levels)
    assert ids(svg, "diamond-") == [
        "diamond-subgroup-1",
        "diamond-subgroup-2",
        "diamond-subgroup-3",
        "diamond-overall-4",
    ]
    ref = bcg.ref["subgroups"]["alloc"]["REML"]
    weights = np.asarray(bcg.fit.weights)
    alloc = np.array(bcg.columns["alloc"])
    for n, g in enumerate(sg.levels, start=1):
        f = sg.separate[g]
        shown = texts[f"estimate-pooled-{n}"]
        assert shown == ci_text(math.exp(f.b), math.exp(f.ci_lb), math.exp(f.ci_ub))
        r = ref["separate"][g]
        assert shown == ci_text(math.exp(r["b"]), math.exp(r["ci.lb"]), math.exp(r["ci.ub"]))
        assert texts[f"heterogeneity-{n}"] == heterogeneity_text(f)
        assert texts[f"weight-pooled-{n}"] == f"{weights[alloc == g].sum():.1f}%"
    assert texts["estimate-pooled-4"] == "0.49 [0.34, 0.70]"
    assert texts["label-pooled-4"] == "Overall: random-effects model (REML)"
    # the test for subgroup differences: the mixed model's Q_M, df and p
    mixed = ref["mixed_with_intercept"]
    expected = (
        f"Test for subgroup differences: Qₘ = {mixed['QM']:.2f}, df = 2, p = {mixed['QMp']:.3f}"
    )
    assert (
        texts["subgroup-test"]
        == expected
        == (
            f"Test for subgroup differences: Qₘ = {sg.mixed.qm:.2f}, df = {sg.mixed.qm_df[0]}, "
            f"p = {sg.mixed.qmp:.3f}"
        )
    )
    assert "p = 0.413" in expected
    # every study once, under its group's heading
    for label in bcg.labels:
        assert label in texts.values()
    assert count_marks(svg, "study-squares") == len(bcg.yi)


def test_separate_subgroup_test(bcg):
    fig = forest_from_fit(
        bcg.labels,
        bcg.yi,
        bcg.vi,
        bcg.fit,
        measure="RR",
        groups=bcg.columns["alloc"],
        subgroup_test="separate",
    )
    q = bcg.ref["subgroups"]["alloc"]["REML"]["separate_Q_between"]
    assert texts_by_id(as_svg(fig))["subgroup-test"] == (
        f"Test for subgroup differences: Q = {q['Q']:.2f}, df = 2, p = {q['pval']:.3f}"
    )


def test_a_one_study_group_gets_a_heading_but_no_diamond(bcg):
    groups = ["solo"] + ["rest"] * (len(bcg.yi) - 1)
    svg = as_svg(forest_from_fit(bcg.labels, bcg.yi, bcg.vi, bcg.fit, measure="RR", groups=groups))
    texts = texts_by_id(svg)
    assert {texts["heading-1"], texts["heading-2"]} == {"rest", "solo"}
    assert len(ids(svg, "diamond-subgroup-")) == 1
    dummies = np.array([[g == "solo"] for g in groups], dtype=float)
    mixed = rma(bcg.yi, bcg.vi, mods=dummies)
    assert texts["subgroup-test"].endswith(f"p = {mixed.qmp:.3f}")


# --------------------------------------------------------------------------- risk of bias


def test_risk_of_bias_dots_and_legend(bcg, bcg_groups):
    svg = as_svg(bcg_groups)
    rob = made_up_rob(len(bcg.yi))
    counts = {"low": 0, "some concerns": 0, "high": 0}
    for r in rob:
        for j in r.values():
            counts["low" if j.lower().startswith("low") else j] += 1
    assert count_marks(svg, "rob-low") == counts["low"]
    assert count_marks(svg, "rob-some-concerns") == counts["some concerns"]
    assert count_marks(svg, "rob-high") == counts["high"]
    assert count_marks(svg, "rob-no-information") == 0
    texts = [t for t in texts_by_id(svg).values()]
    all_text = svg.decode()
    for d in DOMAINS:
        assert f">{d}</text>" in all_text
    for symbol in ("+", MINUS, "\u00d7"):  # robvis' symbols, for colour-blind readers
        assert f">{symbol}</text>" in all_text
    assert ids(svg, "rob-legend-") == [
        "rob-legend-low",
        "rob-legend-some-concerns",
        "rob-legend-high",
    ]
    assert "Low risk" in all_text and "Some concerns" in all_text and "High risk" in all_text
    assert "D1: Randomisation process" in all_text
    assert texts  # ids present


def test_unknown_judgement_is_refused(bcg):
    rob = [{"D1": "low"}] * (len(bcg.yi) - 1) + [{"D1": "perhaps"}]
    with pytest.raises(ValueError, match="perhaps"):
        forest_from_fit(bcg.labels, bcg.yi, bcg.vi, bcg.fit, measure="RR", rob=rob)


def test_rob_given_per_domain(bcg):
    k = len(bcg.yi)
    fig = forest_from_fit(
        bcg.labels, bcg.yi, bcg.vi, bcg.fit, measure="RR", rob={"Overall": ["high"] * k}
    )
    svg = as_svg(fig)
    assert count_marks(svg, "rob-high") == k
    assert count_marks(svg, "rob-low") == 0


# --------------------------------------------------------------------------- other measures


def test_fisher_z_back_transformed_to_r(molloy):
    fig = forest_from_fit(
        molloy.labels, molloy.yi, molloy.vi, molloy.fit, measure="ZCOR", transf="tanh"
    )
    svg = as_svg(fig)
    texts = texts_by_id(svg)
    for i in range(len(molloy.yi)):
        half = Z95 * math.sqrt(molloy.vi[i])
        assert texts[f"estimate-study-{i}"] == ci_text(
            math.tanh(molloy.yi[i]), math.tanh(molloy.yi[i] - half), math.tanh(molloy.yi[i] + half)
        )
    ref = molloy.ref["random"]["REML"]["z"]["predict_transf"]
    assert texts["estimate-pooled-1"] == ci_text(ref["pred"], ref["ci.lb"], ref["ci.ub"])
    assert texts["estimate-pooled-1"] == ci_text(
        math.tanh(molloy.fit.b), math.tanh(molloy.fit.ci_lb), math.tanh(molloy.fit.ci_ub)
    )
    assert "r [95% CI]" in svg.decode()
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear"
    assert "Moran et al., 1997" in texts.values()
    assert texts["estimate-study-10"].startswith(MINUS)  # r = -0.09
    refline = next(c for c in ax.collections if c.get_gid() == "refline")
    assert np.allclose(refline.get_segments()[0][:, 0], 0.0)
    assert overlapping_texts(fig) == []


def test_digits_and_level(bcg):
    fig = forest_from_fit(bcg.labels, bcg.yi, bcg.vi, bcg.fit, measure="RR", digits=3, level=90)
    texts = texts_by_id(as_svg(fig))
    z90 = 1.6448536269514722
    half = z90 * math.sqrt(bcg.vi[0])
    assert texts["estimate-study-0"] == ci_text(
        math.exp(bcg.yi[0]), math.exp(bcg.yi[0] - half), math.exp(bcg.yi[0] + half), 3
    )
    pred = predict(bcg.fit, level=90, transf="exp")
    assert texts["estimate-pooled-1"] == ci_text(pred.pred, pred.ci_lb, pred.ci_ub, 3)


def test_forest_plot_from_dataclasses_with_given_intervals():
    rows = [
        ForestRow("A", 0.5, ci_lb=0.1, ci_ub=0.9, weight=60.0),
        ForestRow("B", -0.2, ci_lb=-0.8, ci_ub=0.4, weight=40.0),
    ]
    pooled = PooledEstimate("Pooled", 0.2, -0.1, 0.5, heterogeneity_text="made up")
    svg = as_svg(forest_plot(rows, pooled, measure="MD", digits=1))
    texts = texts_by_id(svg)
    assert texts["estimate-study-0"] == "0.5 [0.1, 0.9]"
    assert texts["estimate-study-1"] == f"{MINUS}0.2 [{MINUS}0.8, 0.4]"
    assert texts["heterogeneity-1"] == "made up"
    assert ids(svg, "prediction-interval-") == []
    assert "MD [95% CI]" in svg.decode()


def test_bad_input_is_refused(bcg):
    with pytest.raises(ValueError):
        forest_plot([])
    with pytest.raises(ValueError, match="vi"):
        forest_plot([ForestRow("A", 0.1)])
    with pytest.raises(ValueError, match="not the data"):
        forest_from_fit(bcg.labels, bcg.yi + 0.1, bcg.vi, bcg.fit, measure="RR")
    with pytest.raises(ValueError, match="moderators"):
        forest_from_fit(bcg.labels, bcg.yi, bcg.vi, rma(bcg.yi, bcg.vi, mods=bcg.vi), measure="RR")
