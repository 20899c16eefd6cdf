"""analysis.conventions.compare: what metafor, meta and RevMan Web print for dat.bcg (log RR),
against metafor 3.8-1 (tests/data/metafor) and meta 8.4-0 (tests/data/meta_pkg: the meta
block for meta's defaults, update_HK for RevMan's Hartung-Knapp CI)."""

import json
import math
from pathlib import Path

import pytest

from analysis.conventions import compare
from tests.analysis.reference import result
from tests.analysis.test_report import bcg_rows

META = json.loads(
    (Path(__file__).resolve().parent.parent / "data" / "meta_pkg" / "results"
     / "bcg_metabin_RR.json").read_text()
)  # fmt: skip


@pytest.fixture(scope="module")
def rows():
    labels, rows = bcg_rows()
    return {r.convention: r for r in compare("RR", rows, labels)}


def test_metafor_as_metafor_prints_it(rows):
    ref = result("bcg_RR")["random"]["REML"]["z"]
    ci = result("bcg_RR")["confint"]["REML"]["QP"]
    r = rows["metafor"]
    assert r.estimate == pytest.approx(math.exp(ref["b"]), rel=1e-6)
    assert r.ci_lb == pytest.approx(math.exp(ref["ci.lb"]), rel=1e-6)
    assert r.pi_ub == pytest.approx(math.exp(ref["predict"]["pi.ub"]), rel=1e-6)
    assert r.tau2 == pytest.approx(ref["tau2"], rel=1e-6)
    assert r.i2 == pytest.approx(ref["I2"], rel=1e-6)
    assert (r.i2_lb, r.i2_ub) == (pytest.approx(ci["I2"][1], rel=1e-4),
                                  pytest.approx(ci["I2"][2], rel=1e-4))  # fmt: skip


def test_meta_and_revman_as_meta_prints_them(rows):
    meta, hk = META["meta"], META["update_HK"]
    r = rows["meta"]
    assert r.estimate == pytest.approx(meta["random"]["TE_backtransf"], rel=1e-6)
    assert r.ci_lb == pytest.approx(meta["random"]["lower_backtransf"], rel=1e-6)
    assert r.pi_lb == pytest.approx(meta["prediction"]["lower_backtransf"], rel=1e-6)
    assert r.i2 == pytest.approx(meta["heterogeneity"]["I2_percent"], rel=1e-8)
    assert r.i2_ub == pytest.approx(meta["heterogeneity"]["upper.I2_percent"], rel=1e-8)
    rev = rows["revman"]
    assert rev.ci_lb == pytest.approx(hk["random"]["lower_backtransf"], rel=1e-6)
    assert rev.ci_ub == pytest.approx(hk["random"]["upper_backtransf"], rel=1e-6)
    assert rev.estimate == pytest.approx(r.estimate, rel=1e-12)
    # the point of the panel: the three differ where their defaults differ
    assert rev.ci_lb != pytest.approx(r.ci_lb, rel=1e-3)
    assert r.pi_lb != pytest.approx(rows["metafor"].pi_lb, rel=1e-3)
    assert r.i2 != pytest.approx(rows["metafor"].i2, rel=1e-3)


def test_proportions_under_meta_are_its_glmm_and_revman_says_why_not():
    ref = json.loads(
        (Path(__file__).resolve().parent.parent / "data" / "meta_pkg" / "results"
         / "pritz1997_metaprop_GLMM.json").read_text()
    )  # fmt: skip
    import csv

    path = Path(__file__).resolve().parent.parent / "data" / "meta_pkg" / "data"
    with (path / "pritz1997_metaprop_GLMM.csv").open(newline="") as fh:
        data = list(csv.DictReader(fh))
    args = ref["args"]
    rows = [{"xi": float(r[args["event"]]), "ni": float(r[args["n"]])} for r in data]
    out = {r.convention: r for r in compare("PLO", rows, [r["studlab"] for r in data])}
    meta = out["meta"]
    assert meta.estimate == pytest.approx(ref["meta"]["random"]["TE_backtransf"], rel=1e-5)
    assert meta.pi_lb == pytest.approx(ref["meta"]["prediction"]["lower_backtransf"], rel=1e-4)
    assert meta.tau2 == pytest.approx(ref["meta"]["heterogeneity"]["tau2"], rel=1e-4)
    assert out["metafor"].error == "" and out["metafor"].estimate != pytest.approx(
        meta.estimate, rel=1e-3)  # inverse variance on logits vs the GLMM
    assert "single-group proportions" in out["revman"].error
