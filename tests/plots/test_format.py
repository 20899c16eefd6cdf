"""Number formatting, scales and ticks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.engine import rma
from analysis.plots import format_ci, format_number, format_p, heterogeneity_text, model_label
from analysis.plots._scale import log_ticks, resolve_scale
from analysis.plots._style import format_tick, wrap_text

MINUS = "\u2212"


def test_numbers_round_like_r_and_use_a_typographic_minus():
    assert format_number(0.125, 2) == "0.12"  # binary 0.125 is exact: half to even, as sprintf
    assert format_number(2.675, 2) == "2.67"  # 2.67499999... in binary, as R's formatC
    assert format_number(-0.004, 2) == "0.00"  # no "-0.00"
    assert format_number(-1.5, 1) == f"{MINUS}1.5"
    assert format_number(float("nan")) == "NA"
    assert format_ci(0.4889, 0.3441, 0.6961) == "0.49 [0.34, 0.70]"


def test_p_values_like_metafor():
    assert format_p(1.99e-26) == "p < 0.001"
    assert format_p(0.000999) == "p < 0.001"
    assert format_p(0.001) == "p = 0.001"
    assert format_p(0.41322769394331) == "p = 0.413"
    assert format_p(0.04, digits=4) == "p = 0.0400"


def test_heterogeneity_and_labels(bcg):
    assert heterogeneity_text(bcg.fit) == (
        "Heterogeneity: τ² = 0.31, I² = 92%, Q(12) = 152.23, p < 0.001"
    )
    fe = rma(bcg.yi, bcg.vi, method="FE")
    assert heterogeneity_text(fe) == "Heterogeneity: I² = 92%, Q(12) = 152.23, p < 0.001"
    assert model_label(fe) == "Common-effect model"
    assert model_label(rma(bcg.yi, bcg.vi, method="DL", test="knha")) == (
        "Random-effects model (DL, Knapp–Hartung)"
    )
    small = rma(bcg.yi, bcg.vi, tau2=0.001)
    assert "τ² < 0.01" in heterogeneity_text(small)


@pytest.mark.parametrize(
    ("measure", "transf", "log", "name", "abbrev", "refline"),
    [
        ("RR", None, True, "Risk Ratio", "RR", 1.0),
        ("OR", None, True, "Odds Ratio", "OR", 1.0),
        ("HR", None, True, "Hazard Ratio", "HR", 1.0),
        ("SMD", None, False, "Standardised Mean Difference", "SMD", 0.0),
        ("ZCOR", None, False, "Fisher's z", "z", 0.0),
        ("ZCOR", "tanh", False, "Correlation r (back-transformed from Fisher's z)", "r", 0.0),
        ("PLO", "ilogit", False, "Proportion (back-transformed from log odds)", "Proportion",
         None),
        ("GEN", "exp", True, "Ratio", "Ratio", 1.0),
    ],
)
def test_scales(measure, transf, log, name, abbrev, refline):
    s = resolve_scale(measure, transf=transf)
    assert (s.log, s.name, s.abbrev, s.refline) == (log, name, abbrev, refline)
    if log:
        assert s.show(math.log(2.0)) == pytest.approx(2.0)
        assert s.axis_label == f"{name} (log scale)"


def test_a_ratio_on_its_analysis_scale_is_named_as_a_log_ratio():
    s = resolve_scale("OR", log_scale=False)
    assert (s.log, s.name, s.abbrev, s.refline) == (False, "Log Odds Ratio", "log OR", 0.0)


def test_scale_refusals():
    with pytest.raises(ValueError, match="transf"):
        resolve_scale("RR", transf="sqrt")
    with pytest.raises(ValueError, match="log axis"):
        resolve_scale("RR", transf="tanh")


def test_log_ticks_are_natural_numbers_covering_the_data():
    assert log_ticks(0.078, 6.6) == [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10]
    assert log_ticks(0.5, 2.0) == [0.5, 1.0, 1.5, 2.0]
    assert log_ticks(0.01, 1000) == [0.01, 0.1, 1, 10, 100, 1000]
    assert log_ticks(0.18, 1.7, 7, within=True) == [0.2, 0.3, 0.5, 1]
    for lo, hi in [(0.3, 0.9), (0.07, 14.0), (1e-4, 3.0), (1.01, 1.3)]:
        ticks = log_ticks(lo, hi)
        assert ticks[0] <= lo and ticks[-1] >= hi and len(ticks) <= 9
        assert all(float(format_tick(t)) == pytest.approx(t) for t in ticks)
    assert format_tick(0.25) == "0.25" and format_tick(4.0) == "4"
    assert format_tick(-0.5) == f"{MINUS}0.5"


def test_wrapping_keeps_numbers_together():
    text = "Trim and fill (L0): 1 study imputed on the right; adjusted RR = 0.52 [0.37, 0.74]"
    lines = wrap_text(text, 200, 8)
    assert len(lines) > 1
    assert " ".join(lines) == text
    assert any(line.endswith("0.52 [0.37, 0.74]") for line in lines)
    assert np.all([not line.endswith("<") for line in lines])
