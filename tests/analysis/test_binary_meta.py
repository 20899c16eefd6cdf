"""metabin_common() against R's meta 8.4-0 defaults (tests/data/meta_pkg, see its README).

bcg with sm = RR, OR, RD (Mantel-Haenszel) and OR with method = "Peto"; Fleiss1993bin with
RR and OR: the study effects (TE, seTE, with meta's zero-cell rules), the MH weights, the
common block, Q (inverse variance), Q.CMH, k and k.MH; closed form, 1e-8 relative. The
random-effects block of metabin() is the REML fit of rma() on these study effects
(metafor's default convergence, as meta calls it). The meta_pkg sets have no zero cell, so
meta's zero-cell rules are checked by hand and against metafor's rma.mh with the matching
options (tests/data/metafor/extra/binary_mh.json).
"""

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from analysis.engine import MetaAnalysisError, rma
from analysis.engine.binary import metabin_common

DATA = Path(__file__).resolve().parent.parent / "data"
CASES = ("bcg_metabin_RR", "bcg_metabin_OR", "bcg_metabin_RD", "bcg_metabin_OR_Peto",
         "fleiss1993bin_metabin_RR", "fleiss1993bin_metabin_OR")
RTOL = 1e-8
# meta calls metafor's rma.uni(method="REML") with its default control (threshold 1e-5); the
# engine follows the same iterations, so the agreement is far tighter than the 1e-4 allowed
# for default-convergence entries (tests/analysis/reference.py RTOL_DEFAULT).
RTOL_REML = 1e-6
MH = json.loads((DATA / "metafor" / "extra" / "binary_mh.json").read_text())


def _case(case):
    result = json.loads((DATA / "meta_pkg" / "results" / f"{case}.json").read_text())
    with (DATA / "meta_pkg" / "data" / f"{case}.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    cols = {key: [row[key] for row in rows] for key in rows[0]}
    args = result["args"]  # meta argument -> CSV column
    counts = [np.array(cols[args[c]], dtype=float) for c in ("event.e", "n.e", "event.c", "n.c")]
    return result, counts, cols["studlab"]


def _fit(case):
    result, (ee, ne, ec, nc), studlab = _case(case)
    settings = result["meta"]["settings"]  # what meta resolved (Fleiss1993bin: default sm)
    return result, metabin_common(ee, ne, ec, nc, sm=settings["sm"],
                                  method=settings["method"], studlab=studlab)


@pytest.mark.parametrize("case", CASES)
def test_study_effects_and_common_effect_as_meta(case):
    result, m = _fit(case)
    meta = result["meta"]
    studies = meta["studies"]
    np.testing.assert_allclose(m.te, studies["TE"], rtol=RTOL, err_msg="TE")
    np.testing.assert_allclose(m.se_te, studies["seTE"], rtol=RTOL, err_msg="seTE")
    np.testing.assert_allclose(m.lower, studies["lower"], rtol=RTOL, err_msg="lower")
    np.testing.assert_allclose(m.upper, studies["upper"], rtol=RTOL, err_msg="upper")
    np.testing.assert_allclose(m.w_common, studies["w.common"], rtol=RTOL, err_msg="w.common")
    np.testing.assert_allclose(m.incr_e, studies["incr.e"], err_msg="incr.e")
    np.testing.assert_allclose(m.incr_c, studies["incr.c"], err_msg="incr.c")
    common = m.as_dict()["common"]
    for key in ("TE", "seTE", "lower", "upper", "statistic", "pval"):
        assert common[key] == pytest.approx(meta["common"][key], rel=RTOL), key
    het = meta["heterogeneity"]
    for key in ("Q", "pval.Q", "Q.CMH", "pval.Q.CMH"):
        assert m.as_dict()[key] == pytest.approx(het[key], rel=RTOL), key
    assert m.df_q == het["df.Q"]
    assert m.k == meta["counts"]["k"]
    assert m.k_all == meta["counts"]["k.all"]
    if meta["settings"]["method"] == "MH":
        assert m.k_mh == meta["counts"]["k.MH"]


@pytest.mark.parametrize("case", CASES)
def test_random_block_is_rma_reml_on_meta_study_effects(case):
    result, m = _fit(case)
    meta = result["meta"]
    fit = rma(m.te, m.se_te**2, method="REML")
    random = meta["random"]
    assert fit.b == pytest.approx(random["TE"], rel=RTOL_REML)
    assert fit.se == pytest.approx(random["seTE"], rel=RTOL_REML)
    assert fit.ci_lb == pytest.approx(random["lower"], rel=RTOL_REML)
    assert fit.ci_ub == pytest.approx(random["upper"], rel=RTOL_REML)
    assert fit.zval == pytest.approx(random["statistic"], rel=RTOL_REML)
    assert fit.pval == pytest.approx(random["pval"], rel=RTOL_REML)
    assert fit.tau2 == pytest.approx(meta["heterogeneity"]["tau2"], rel=RTOL_REML)
    np.testing.assert_allclose(fit.weights, meta["studies"]["w.random_percent"], rtol=RTOL_REML)
    # meta's Q is the inverse-variance Q of its study effects, as rma() computes it
    assert fit.qe == pytest.approx(meta["heterogeneity"]["Q"], rel=RTOL)
    same = m.random()
    assert same.b == fit.b and same.tau2 == fit.tau2 and same.slab == tuple(m.studlab)


def _yusuf9():
    d = MH["yusuf1985_9"]["data"]
    a, b, c, dd = (np.array(d[x], dtype=float) for x in ("ai", "bi", "ci", "di"))
    return a, a + b, c, c + dd, d["study"]


@pytest.mark.parametrize("sm", ["OR", "RR"])
def test_zero_cells_mh_equals_metafor_with_half_added_to_the_mh_tables(sm):
    # meta (MH.exact = FALSE) adds 1/2 to the four cells of zero-cell tables and drops
    # double-zero tables (OR also double-all tables; none here): metafor's rma.mh with
    # add = c(1/2, 1/2), to = c("only0", "only0"), drop00 = c(TRUE, TRUE).
    ee, ne, ec, nc, labels = _yusuf9()
    m = metabin_common(ee, ne, ec, nc, sm=sm, studlab=labels)
    ref = MH["yusuf1985_9"][f"mh_{sm}_both"]
    assert m.te_common == pytest.approx(ref["b"], rel=RTOL)
    assert m.se_te_common == pytest.approx(ref["se"], rel=RTOL)
    assert m.k == 20 and m.k_all == 26 and m.k_mh == 20
    dropped = [i for i in range(26) if ee[i] == 0 and ec[i] == 0]
    assert all(math.isnan(m.te[i]) and m.w_common[i] == 0 for i in dropped)
    assert m.excluded == tuple(labels[i] for i in dropped)
    assert m.random().k == 20  # the random-effects fit uses the pooled studies only


def test_zero_cell_study_effects_by_hand():
    # Study 1: 0/10 vs 3/12 (zero cell); study 2: 0/8 vs 0/9 (double zero); study 3: 4/10 vs
    # 2/10; study 4: 5/5 vs 6/6 (all events in both groups).
    ee, ne, ec, nc = [0, 0, 4, 5], [10, 8, 10, 5], [3, 0, 2, 6], [12, 9, 10, 6]
    rr = metabin_common(ee, ne, ec, nc, sm="RR")
    # RR.Cochrane = FALSE: 1/2 added to events and once to the group sizes
    assert rr.te[0] == pytest.approx(math.log((0.5 / 10.5) / (3.5 / 12.5)), rel=1e-14)
    assert rr.se_te[0] == pytest.approx(math.sqrt(1 / 0.5 - 1 / 10.5 + 1 / 3.5 - 1 / 12.5))
    assert math.isnan(rr.te[1]) and rr.w_common[1] == 0
    assert rr.te[2] == pytest.approx(math.log(0.4 / 0.2), rel=1e-14)
    # RR keeps a study with all events in both groups; its variance has no 1/2 on the events
    assert rr.te[3] == pytest.approx(math.log((5.5 / 5.5) / (6.5 / 6.5)), abs=1e-15)
    assert rr.se_te[3] == pytest.approx(math.sqrt(1 / 5 - 1 / 5.5 + 1 / 6 - 1 / 6.5))
    assert rr.k == 3 and rr.k_all == 4
    odds = metabin_common(ee, ne, ec, nc, sm="OR")
    assert odds.te[0] == pytest.approx(math.log(0.5 * 9.5 / (10.5 * 3.5)), rel=1e-14)
    assert math.isnan(odds.te[3]) and odds.k == 2  # OR drops double-all studies too
    rd = metabin_common(ee, ne, ec, nc, sm="RD")
    assert rd.te[0] == pytest.approx(0 / 10 - 3 / 12, rel=1e-14)  # uncorrected TE
    assert rd.se_te[0] == pytest.approx(
        math.sqrt(0.5 * 10.5 / 11**3 + 3.5 * 9.5 / 13**3), rel=1e-14)  # corrected seTE
    assert rd.te[1] == 0 and rd.k == 4  # RD keeps double-zero studies
    # RD common effect: MH weights from the corrected tables, uncorrected study TE
    n1 = np.array([11, 9, 10, 6.0])
    n2 = np.array([13, 10, 10, 7.0])
    w = n1 * n2 / (n1 + n2)
    te = np.array([-0.25, 0, 0.2, 0])
    assert rd.te_common == pytest.approx(float(w @ te / w.sum()), rel=1e-14)


def test_mh_exact_and_cochrane_options():
    ee, ne, ec, nc, labels = _yusuf9()
    exact = metabin_common(ee, ne, ec, nc, sm="OR", mh_exact=True, studlab=labels)
    ref = MH["yusuf1985_9"]["mh_OR_default"]  # metafor: no correction in the MH sums
    assert exact.te_common == pytest.approx(ref["b"], rel=RTOL)
    assert exact.se_te_common == pytest.approx(ref["se"], rel=RTOL)
    coch = metabin_common([0, 4], [10, 10], [3, 2], [12, 10], sm="RR", rr_cochrane=True)
    assert coch.te[0] == pytest.approx(math.log((0.5 / 11) / (3.5 / 13)), rel=1e-14)


def test_metabin_common_refuses_bad_input_by_name():
    with pytest.raises(MetaAnalysisError, match=r"exceed.*study 'B'"):
        metabin_common([1, 5], [10, 4], [1, 1], [10, 10], studlab=["A", "B"])
    with pytest.raises(MetaAnalysisError, match="Peto"):
        metabin_common([1, 5], [10, 10], [1, 1], [10, 10], sm="RR", method="Peto")
    with pytest.raises(MetaAnalysisError, match="sm"):
        metabin_common([1], [10], [1], [10], sm="SMD")
    with pytest.raises(MetaAnalysisError, match="no study"):
        metabin_common([0, 0], [10, 10], [0, 0], [10, 10])
    with pytest.raises(MetaAnalysisError, match="level"):
        metabin_common([1], [10], [1], [10], level=95)
