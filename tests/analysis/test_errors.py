"""Errors are MetaAnalysisError (a ValueError) with messages naming the study."""

from __future__ import annotations

import math

import pytest

from analysis.engine import MetaAnalysisError, escalc, leave1out, rma, trimfill


def test_error_class_is_a_value_error():
    assert issubclass(MetaAnalysisError, ValueError)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rma([0.1], [0.01]),
         "A random-effects model (method='REML') needs at least 2 studies; got 1."),
        # metafor 3.8-1 stops the same way (vi = 0 and tau2 = 0); see test_zero_vi.py for fits
        (lambda: rma([0.1, 0.2], [0.01, 0.0], slab=["Aronson", "Ferguson"]),
         "Division by zero when computing the inverse variance weights."),
        (lambda: rma([0.1, 0.2, 0.3], [0.01, -0.5, 0.02]),
         "Sampling variance of study 2 is negative (vi = -0.5)."),
        (lambda: rma([0.1, math.nan], [0.01, 0.02]),
         "Missing or non-finite effect size (yi) for study 2."),
        (lambda: rma([0.1, 0.2], [0.01, None], slab=["A", "B"]),
         "Missing or non-finite sampling variance (vi) for study 'B'."),
        (lambda: rma([0.1, 0.2], [0.01, 0.02], method="XYZ"),
         "Unknown method 'XYZ'; use one of FE, EE, DL, REML, ML, PM, HE, SJ, EB, HS."),
        (lambda: escalc("SMD", m1i=[1], sd1i=[1], n1i=[10]),
         "Measure 'SMD' needs m1i, sd1i, n1i, m2i, sd2i, n2i; missing: m2i, sd2i, n2i."),
        (lambda: escalc("RR", ai=[3, 12], n1i=[10, 10], ci=[1, 1], n2i=[10, 10],
                        slab=["Jones 1999", "Smith 2001"]),
         "Events exceed the group size in study 'Smith 2001' (ai = 12 > n1i = 10)."),
        (lambda: escalc("ZCOR", ri=[0.5, 1.0], ni=[20, 30]),
         "Correlation must be strictly between -1 and 1 in study 2 (ri = 1)."),
        (lambda: escalc("COR", ri=[-1.2], ni=[20]),
         "Correlation must be strictly between -1 and 1 in study 1 (ri = -1.2)."),
        (lambda: escalc("PLO", xi=[11], ni=[10]),
         "Events exceed the sample size in study 1 (xi = 11 > ni = 10)."),
        (lambda: escalc("OR", ai=[1], bi=[-2], ci=[1], di=[1]),
         "Negative count in study 1 (bi = -2)."),
        (lambda: escalc("MD", m1i=[1, 2], sd1i=[1, None], n1i=[10, 10], m2i=[1, 1],
                        sd2i=[1, 1], n2i=[10, 10]),
         "Missing or non-finite value of 'sd1i' for study 2."),
        (lambda: escalc("GEN", yi=[0.1]),
         "Measure 'GEN' needs yi and vi (or sei); missing: vi."),
        (lambda: leave1out(rma([0.1, 0.2, 0.4], [0.01, 0.02, 0.03], mods=[1, 2, 4],
                               method="FE")),
         "leave1out() is only available for models without moderators."),
        (lambda: trimfill(rma([0.1, 0.2, 0.4], [0.01, 0.02, 0.03], mods=[1, 2, 4],
                              method="FE")),
         "Trim-and-fill method only applicable to models without moderators."),
    ],
    ids=lambda x: x if isinstance(x, str) and len(x) < 40 else None,
)
def test_error_messages(call, message):
    with pytest.raises(MetaAnalysisError) as info:
        call()
    assert str(info.value) == message


def test_common_effect_allows_one_study():
    res = rma([0.3], [0.04], method="FE")
    assert res.b == 0.3
    assert res.se == pytest.approx(0.2)
