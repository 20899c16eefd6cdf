"""Bubble plot of the dat.bcg meta-regression on absolute latitude."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.engine import predict, rma
from analysis.plots import bubble_from_fit
from tests.plots.svgtools import as_svg, count_marks, outside_figure, overlapping_texts

MINUS = "\u2212"


@pytest.fixture(scope="module")
def metareg(bcg, ablat):
    return rma(bcg.yi, bcg.vi, mods=ablat)


@pytest.fixture(scope="module")
def bubble(bcg, ablat, metareg):
    return bubble_from_fit(
        ablat, bcg.yi, bcg.vi, metareg, measure="RR", xlabel="Absolute latitude (degrees)"
    )


def line(fig, gid):
    return next(ln for ln in fig.axes[0].lines if ln.get_gid() == gid)


def test_the_line_has_the_engines_slope_and_intercept(bcg, metareg, bubble):
    ref = bcg.ref["metareg"]["ablat"]["REML"]
    np.testing.assert_allclose(metareg.b, ref["b"], rtol=1e-4)
    reg = line(bubble, "regression-line")
    x = np.asarray(reg.get_xdata())
    logy = np.log(np.asarray(reg.get_ydata()))  # the y axis shows exp()
    slope, intercept = np.polyfit(x, logy, 1)
    assert slope == pytest.approx(float(metareg.b[1]), rel=1e-10)
    assert intercept == pytest.approx(float(metareg.b[0]), rel=1e-10)
    assert slope == pytest.approx(ref["b"][1], rel=1e-4)
    assert x.min() == 13 and x.max() == 55  # the observed range of ablat


def test_confidence_band_from_the_coefficients_and_vcov(metareg, bubble):
    x = np.asarray(line(bubble, "regression-ci-lower").get_xdata())
    X = np.column_stack([np.ones_like(x), x])
    pred = X @ np.asarray(metareg.b)
    se = np.sqrt(np.einsum("ij,jk,ik->i", X, metareg.vb, X))
    z = 1.959963984540054
    np.testing.assert_allclose(
        line(bubble, "regression-ci-lower").get_ydata(), np.exp(pred - z * se), rtol=1e-10
    )
    np.testing.assert_allclose(
        line(bubble, "regression-ci-upper").get_ydata(), np.exp(pred + z * se), rtol=1e-10
    )
    p = predict(metareg, newmods=x[:, None], transf="exp")
    np.testing.assert_allclose(line(bubble, "regression-ci-upper").get_ydata(), p.ci_ub)


def test_bubbles_with_area_proportional_to_weight(bcg, ablat, metareg, bubble):
    svg = as_svg(bubble)
    assert count_marks(svg, "bubbles") == len(bcg.yi)
    coll = next(c for c in bubble.axes[0].collections if c.get_gid() == "bubbles")
    offsets = np.asarray(coll.get_offsets())
    order = np.lexsort((offsets[:, 1], offsets[:, 0]))
    expected = np.column_stack([ablat, np.exp(bcg.yi)])
    np.testing.assert_allclose(
        offsets[order], expected[np.lexsort((expected[:, 1], expected[:, 0]))]
    )
    w = np.asarray(metareg.weights)
    sizes = coll.get_sizes()
    heavy = np.sort(w)[::-1]
    np.testing.assert_allclose(sizes / heavy, sizes[0] / heavy[0], rtol=1e-12)
    ref = bcg.ref["metareg"]["ablat"]["REML"]["weights_percent"]
    np.testing.assert_allclose(np.sort(w), np.sort(ref), rtol=1e-4)


def test_log_y_axis_and_note(metareg, bubble):
    ax = bubble.axes[0]
    assert ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    np.testing.assert_allclose([float(s) for s in labels], ax.get_yticks())
    assert "1" in labels
    svg = as_svg(bubble).decode()
    b = float(metareg.b[1])
    assert f"Slope (log scale) = {MINUS}{abs(b):.3f}" in svg
    assert f"R² = {metareg.r2:.0f}%" in svg
    assert "Absolute latitude (degrees)" in svg
    assert overlapping_texts(bubble) == []
    assert outside_figure(bubble) == []


def test_prediction_band_and_refusals(bcg, ablat, metareg):
    fig = bubble_from_fit(ablat, None, None, metareg, measure="RR", prediction=True)
    lower = line(fig, "regression-pi-lower")
    p = predict(metareg, newmods=np.asarray(lower.get_xdata())[:, None], transf="exp")
    np.testing.assert_allclose(lower.get_ydata(), p.pi_lb)
    with pytest.raises(ValueError, match="one moderator"):
        bubble_from_fit(ablat, None, None, bcg.fit)
    with pytest.raises(ValueError, match="moderator the model"):
        bubble_from_fit(ablat + 1, None, None, metareg)
    assert math.isfinite(float(metareg.b[1]))
