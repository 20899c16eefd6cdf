"""Proportion transforms (PFT, PAS, PLN), their back-transforms and Clopper-Pearson intervals,
against metafor 3.8-1's escalc()/transf.* (tests/data/metafor/extra/glmm_prop.json) and by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from analysis.engine import MetaAnalysisError, escalc, rma
from analysis.engine.proportions import (
    clopper_pearson,
    escalc_proportion,
    harmonic_mean,
    transf_iarcsin,
    transf_ipft,
    transf_ipft_hm,
    transf_pft,
)

REF = json.loads(
    (Path(__file__).resolve().parent.parent / "data" / "metafor" / "extra" / "glmm_prop.json")
    .read_text()
)
SETS = ("pritz1997", "debruin2009", "hasselblad1998")
RTOL = 1e-8


def _f(v):
    return np.array([float(x) for x in v]) if isinstance(v, list) else float(v)


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("measure", ["PFT", "PAS", "PLN"])
def test_escalc_matches_metafor(name, measure):
    d = REF[name]
    es = escalc(measure, xi=d["xi"], ni=d["ni"])
    assert es.yi == pytest.approx(_f(d[measure]["yi"]), rel=RTOL, abs=1e-15)
    assert es.vi == pytest.approx(_f(d[measure]["vi"]), rel=RTOL)
    assert es.measure == measure


@pytest.mark.parametrize("name", SETS)
def test_back_transforms_match_metafor(name):
    d = REF[name]
    pft = escalc_proportion("PFT", xi=d["xi"], ni=d["ni"])
    assert transf_ipft(pft.yi, d["ni"]) == pytest.approx(_f(d["PFT_ipft"]), rel=RTOL, abs=1e-12)
    pas = escalc_proportion("PAS", xi=d["xi"], ni=d["ni"])
    assert transf_iarcsin(pas.yi) == pytest.approx(_f(d["PAS"]["back"]), rel=RTOL, abs=1e-15)
    res = rma(pft)
    assert res.b == pytest.approx(_f(d["PFT_rma_b"]), rel=1e-6)
    pooled = transf_ipft_hm([res.b, res.ci_lb, res.ci_ub], d["ni"])
    assert pooled == pytest.approx(_f(d["PFT_ipft_hm"]), rel=1e-6)


def test_pft_by_hand():
    # x = 3, n = 10: (asin(sqrt(3/11)) + asin(sqrt(4/11))) / 2, v = 1/42
    es = escalc_proportion("PFT", xi=[3], ni=[10])
    want = (math.asin(math.sqrt(3 / 11)) + math.asin(math.sqrt(4 / 11))) / 2
    assert es.yi[0] == pytest.approx(want, rel=1e-14)
    assert es.vi[0] == pytest.approx(1 / 42, rel=1e-14)
    assert transf_pft(0.3, 10) == pytest.approx(want, rel=1e-14)
    assert transf_ipft(want, 10) == pytest.approx(0.3, rel=1e-12)
    assert transf_ipft(transf_pft(0.0, 10), 10) == 0.0
    assert transf_ipft(transf_pft(1.0, 10), 10) == 1.0


def test_pas_pln_by_hand():
    es = escalc_proportion("PAS", xi=[3, 0], ni=[10, 8])
    assert es.yi == pytest.approx([math.asin(math.sqrt(0.3)), 0.0], abs=1e-15)
    assert es.vi == pytest.approx([1 / 40, 1 / 32], rel=1e-14)
    es = escalc_proportion("PLN", xi=[3, 0], ni=[10, 10])
    assert es.yi == pytest.approx([math.log(0.3), math.log(0.5 / 11)], rel=1e-14)
    assert es.vi == pytest.approx([1 / 3 - 1 / 10, 1 / 0.5 - 1 / 11], rel=1e-14)
    assert es.corrected == ("2",)


def test_harmonic_mean():
    assert harmonic_mean([10, 20, 40]) == pytest.approx(3 / (1 / 10 + 1 / 20 + 1 / 40))


def test_clopper_pearson_by_hand():
    # x = 0: lower 0, upper 1 - (alpha/2)^(1/n); x = n: upper 1, lower (alpha/2)^(1/n)
    lo, hi = clopper_pearson([0, 10, 16], [10, 10, 17])
    assert lo[0] == 0.0 and hi[1] == 1.0
    assert hi[0] == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-12)
    assert lo[1] == pytest.approx(0.025 ** (1 / 10), rel=1e-12)
    # binom.test(16, 17)$conf.int in R: 0.7131106033327793 0.9985118256087334
    assert lo[2] == pytest.approx(0.7131106033327793, rel=1e-12)
    assert hi[2] == pytest.approx(0.9985118256087334, rel=1e-12)
    lo90, hi90 = clopper_pearson([16], [17], level=90)
    assert lo90[0] > lo[2] and hi90[0] < hi[2]


@pytest.mark.parametrize(
    ("xi", "ni", "message"),
    [
        ([1, -2], [10, 10], "study 2"),
        ([1, 12], [10, 10], "study 2"),
        ([1, 2], [10, 0], "study 2"),
        ([1, float("nan")], [10, 10], "study 2"),
    ],
)
@pytest.mark.parametrize("measure", ["PFT", "PAS", "PLN"])
def test_bad_counts_name_the_study(measure, xi, ni, message):
    with pytest.raises(MetaAnalysisError, match=message):
        escalc(measure, xi=xi, ni=ni)


def test_bad_inputs_of_helpers():
    with pytest.raises(MetaAnalysisError, match="level"):
        clopper_pearson([1], [10], level=100)
    with pytest.raises(MetaAnalysisError, match="positive"):
        harmonic_mean([10, 0])
    with pytest.raises(MetaAnalysisError, match="measure"):
        escalc_proportion("XYZ", xi=[1], ni=[2])
