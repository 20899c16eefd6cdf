"""SMD variants of escalc(): Hedges' g with metafor's LS and UB variances (UB is R meta's
default, exact.smd = TRUE), Cohen's d and Glass's delta (meta's method.smd)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.special import gammaln

from analysis.engine import MetaAnalysisError, escalc
from analysis.engine.meta_style import metacont

DATA = Path(__file__).resolve().parent.parent / "data"
EXTRA = json.loads((DATA / "metafor" / "extra" / "smd_ub.json").read_text())
D = EXTRA["data"]
ARGS = {name: np.array(D[name], dtype=float)
        for name in ("n1i", "m1i", "sd1i", "n2i", "m2i", "sd2i")}


@pytest.mark.parametrize("vtype", ["LS", "UB"])
def test_hedges_matches_metafor_vtype(vtype):
    es = escalc("SMD", vtype=vtype, **ARGS)
    np.testing.assert_allclose(es.yi, EXTRA[vtype]["yi"], rtol=1e-12)
    np.testing.assert_allclose(es.vi, EXTRA[vtype]["vi"], rtol=1e-12)


def test_ub_is_meta_hedges_variance():
    ref = json.loads((DATA / "meta_pkg" / "results" / "normand1999_metacont_SMD.json").read_text())
    es = escalc("SMD", vtype="UB", **ARGS)
    np.testing.assert_allclose(es.yi, ref["meta"]["studies"]["TE"], rtol=1e-12)
    np.testing.assert_allclose(np.sqrt(es.vi), ref["meta"]["studies"]["seTE"], rtol=1e-12)


def _by_hand(n1, m1, s1, n2, m2, s2):
    m = n1 + n2 - 2
    sp = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / m)
    J = math.exp(gammaln(m / 2) - math.log(math.sqrt(m / 2)) - gammaln((m - 1) / 2))
    K = 1 - (m - 2) / (m * J * J)
    return sp, J, K


def test_cohen_by_hand():
    n1, m1, s1, n2, m2, s2 = 20, 10.0, 3.0, 25, 8.0, 4.0
    sp, J, K = _by_hand(n1, m1, s1, n2, m2, s2)
    d = (m1 - m2) / sp
    ls = escalc("SMD", smd="Cohen", n1i=[n1], m1i=[m1], sd1i=[s1], n2i=[n2], m2i=[m2],
                sd2i=[s2])
    assert ls.yi[0] == pytest.approx(d, rel=1e-12)
    # Borenstein et al. (2009) eq. 4.20
    assert ls.vi[0] == pytest.approx(1 / n1 + 1 / n2 + d * d / (2 * (n1 + n2)), rel=1e-12)
    ub = escalc("SMD", smd="Cohen", vtype="UB", n1i=[n1], m1i=[m1], sd1i=[s1], n2i=[n2],
                m2i=[m2], sd2i=[s2])
    g_ub = escalc("SMD", vtype="UB", n1i=[n1], m1i=[m1], sd1i=[s1], n2i=[n2], m2i=[m2],
                  sd2i=[s2])
    # meta's exact.smd = TRUE for Cohen's d: Hedges' exact variance at g = J d
    assert ub.vi[0] == pytest.approx(g_ub.vi[0], rel=1e-12)
    assert ub.vi[0] == pytest.approx(1 / n1 + 1 / n2 + (J * d) ** 2 * K, rel=1e-12)


def test_glass_by_hand():
    n1, m1, s1, n2, m2, s2 = 20, 10.0, 3.0, 25, 8.0, 4.0
    es = escalc("SMD", smd="Glass", n1i=[n1], m1i=[m1], sd1i=[s1], n2i=[n2], m2i=[m2],
                sd2i=[s2])
    delta = (10.0 - 8.0) / 4.0
    assert es.yi[0] == pytest.approx(delta, rel=1e-15)
    # Cooper & Hedges (1994), p. 238, as meta's metacont(method.smd = "Glass")
    assert es.vi[0] == pytest.approx(1 / 20 + 1 / 25 + delta**2 / (2 * (25 - 1)), rel=1e-12)


def test_metacont_method_smd_variants():
    m = metacont(*(ARGS[n] for n in ("n1i", "m1i", "sd1i", "n2i", "m2i", "sd2i")), sm="SMD",
                 method_smd="Glass")
    assert m.TE[0] == pytest.approx((55 - 75) / 64, rel=1e-15)
    assert m.settings.as_meta_dict()["method.smd"] == "Glass"


def test_smd_option_errors():
    with pytest.raises(MetaAnalysisError, match="Unknown SMD method"):
        escalc("SMD", smd="Hodges", **ARGS)
    with pytest.raises(MetaAnalysisError, match="vtype"):
        escalc("SMD", vtype="AV", **ARGS)
    with pytest.raises(MetaAnalysisError, match="only apply"):
        escalc("MD", smd="Cohen", **ARGS)
    bad = dict(ARGS, sd2i=np.where(np.arange(9) == 2, 0.0, ARGS["sd2i"]))
    with pytest.raises(MetaAnalysisError, match="study 3"):
        escalc("SMD", smd="Glass", **bad)
