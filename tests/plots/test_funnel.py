"""Funnel plots of dat.bcg and dat.molloy2014 with Egger's test and trim and fill, against
metafor's reference results."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from analysis.engine import regtest, rma, trimfill
from analysis.plots import funnel_from_fit, funnel_plot
from tests.plots.conftest import Z95
from tests.plots.svgtools import (
    as_svg,
    count_marks,
    outside_figure,
    overlapping_texts,
    svg_root,
)

MINUS = "\u2212"


def collection(fig, gid):
    return next((c for c in fig.axes[0].collections if c.get_gid() == gid), None)


def line(fig, gid):
    return next(ln for ln in fig.axes[0].lines if ln.get_gid() == gid)


def notes(svg: bytes) -> list[str]:
    ns = "{http://www.w3.org/2000/svg}"
    return [
        "".join(g.find(f"{ns}text").itertext())
        for g in svg_root(svg).iter(f"{ns}g")
        if g.get("id") == "funnel-note"
    ]


@pytest.fixture(scope="module")
def bcg_funnel(bcg):
    return funnel_from_fit(bcg.yi, bcg.vi, bcg.fit, measure="RR")


def test_trim_and_fill_studies_are_hollow_and_as_many_as_k0(bcg, bcg_funnel):
    ref = bcg.ref["trimfill"]["REML"]
    tf = trimfill(bcg.fit)
    assert tf.k0 == ref["k0"] == 1
    svg = as_svg(bcg_funnel)
    assert count_marks(svg, "funnel-filled") == ref["k0"]
    assert count_marks(svg, "funnel-observed") == len(bcg.yi)
    filled = collection(bcg_funnel, "funnel-filled")
    assert len(filled.get_offsets()) == ref["k0"]
    assert all(tuple(fc) == to_rgba("white") for fc in filled.get_facecolors())  # hollow
    observed = collection(bcg_funnel, "funnel-observed")
    assert all(tuple(fc) == to_rgba("black") for fc in observed.get_facecolors())
    x, y = np.asarray(filled.get_offsets())[0]
    assert x == pytest.approx(math.exp(ref["filled_yi"]), rel=1e-6)
    assert y == pytest.approx(math.sqrt(ref["filled_vi"]), rel=1e-9)
    # the filled-in estimate's line
    xs = line(bcg_funnel, "funnel-trimfill-estimate").get_xdata()
    np.testing.assert_allclose(xs, math.exp(ref["b"]), rtol=1e-5)
    assert (
        f"adjusted RR = {math.exp(ref['b']):.2f} [{math.exp(ref['ci.lb']):.2f}, "
        f"{math.exp(ref['ci.ub']):.2f}]" in " ".join(notes(svg))
    )


def test_observed_points_estimate_and_pseudo_limits(bcg, bcg_funnel):
    ax = bcg_funnel.axes[0]
    assert ax.get_xscale() == "log"
    top, bottom = ax.get_ylim()[1], ax.get_ylim()[0]
    assert top == 0.0 and bottom >= math.sqrt(bcg.vi.max())  # inverted: 0 at the top
    pts = np.asarray(collection(bcg_funnel, "funnel-observed").get_offsets())
    np.testing.assert_allclose(pts[:, 0], np.exp(bcg.yi))
    np.testing.assert_allclose(pts[:, 1], np.sqrt(bcg.vi))
    b = bcg.fit.b
    np.testing.assert_allclose(line(bcg_funnel, "funnel-estimate").get_xdata(), math.exp(b))
    lower = line(bcg_funnel, "funnel-limit-lower")
    upper = line(bcg_funnel, "funnel-limit-upper")
    se = np.asarray(lower.get_ydata())
    np.testing.assert_allclose(lower.get_xdata(), np.exp(b - Z95 * se))
    np.testing.assert_allclose(upper.get_xdata(), np.exp(b + Z95 * se))
    assert se[0] == 0.0 and se[-1] == bottom
    labels = [t.get_text() for t in ax.get_xticklabels()]
    np.testing.assert_allclose([float(s) for s in labels], ax.get_xticks())
    assert "1" in labels and "0.5" in labels


def test_eggers_test_text_is_the_engines_and_metafors(bcg, bcg_funnel):
    ref = bcg.ref["regtest"]["REML_rma_sei"]
    reg = regtest(bcg.fit)
    text = notes(as_svg(bcg_funnel))[0]
    assert text == f"Egger's regression test: z = {MINUS}0.80, p = {reg.pval:.3f}"
    assert (
        text == f"Egger's regression test: z = {MINUS}{abs(ref['zval']):.2f}, p = {ref['pval']:.3f}"
    )


def test_without_trim_and_fill(bcg):
    fig = funnel_from_fit(bcg.yi, bcg.vi, bcg.fit, measure="RR", trimfill=False)
    svg = as_svg(fig)
    assert count_marks(svg, "funnel-filled") == 0
    assert collection(fig, "funnel-filled") is None
    assert not any(ln.get_gid() == "funnel-trimfill-estimate" for ln in fig.axes[0].lines)
    assert len(notes(svg)) == 1


def test_molloy_fills_two_studies_on_the_left(molloy):
    ref = molloy.ref["trimfill"]["REML"]
    fig = funnel_from_fit(molloy.yi, molloy.vi, molloy.fit, measure="ZCOR")
    svg = as_svg(fig)
    assert count_marks(svg, "funnel-filled") == ref["k0"] == 2
    xs = np.sort(np.asarray(collection(fig, "funnel-filled").get_offsets())[:, 0])
    np.testing.assert_allclose(xs, np.sort(ref["filled_yi"]), rtol=1e-5)
    assert fig.axes[0].get_xscale() == "linear"
    assert any("imputed on the left" in n for n in notes(svg))


def test_no_overlapping_text(bcg_funnel, molloy):
    fig = funnel_from_fit(molloy.yi, molloy.vi, molloy.fit, measure="ZCOR")
    for f in (bcg_funnel, fig):
        assert overlapping_texts(f) == []
        assert outside_figure(f) == []


def test_k0_zero_and_plain_funnel(bcg):
    fit = rma(bcg.yi, bcg.vi, method="REML")
    tf = trimfill(fit, estimator="R0")
    assert tf.k0 == bcg.ref["trimfill"]["REML_R0"]["k0"] == 0
    fig = funnel_from_fit(bcg.yi, bcg.vi, fit, measure="RR", estimator="R0")
    svg = as_svg(fig)
    assert count_marks(svg, "funnel-filled") == 0
    assert any("k0 = 0" in n for n in notes(svg))
    plain = funnel_plot(bcg.yi, bcg.vi, estimate=float(fit.b), measure="RR", legend=False)
    assert count_marks(as_svg(plain), "funnel-observed") == len(bcg.yi)


def test_funnel_refuses_a_meta_regression(bcg):
    with pytest.raises(ValueError, match="moderators"):
        funnel_from_fit(None, None, rma(bcg.yi, bcg.vi, mods=bcg.vi))
