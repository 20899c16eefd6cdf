"""analysis.report.analyse: an outcome's whole analysis against metafor 3.8-1 (dat.bcg, log RR
from the 2x2 counts; dat.molloy2014, Fisher z), the numbers the page and the exports show."""

import math

import numpy as np
import pytest

from analysis.engine import MetaAnalysisError
from analysis.report import analyse
from tests.analysis.reference import data, result

RTOL = 1e-6


def bcg_rows():
    d = data("bcg_RR")
    rows = []
    for tpos, tneg, cpos, cneg in zip(d["tpos"], d["tneg"], d["cpos"], d["cneg"], strict=True):
        tpos, tneg, cpos, cneg = (int(x) for x in (tpos, tneg, cpos, cneg))
        rows.append({"ai": tpos, "n1i": tpos + tneg, "ci": cpos, "n2i": cpos + cneg})
    labels = [f"{a} {y}" for a, y in zip(d["author"], d["year"], strict=True)]
    return labels, rows


def close(a, b, rtol=RTOL):
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-10)


@pytest.fixture(scope="module")
def bcg():
    labels, rows = bcg_rows()
    d = data("bcg_RR")
    return analyse(
        labels, rows, measure="RR", method="REML", test="z", level=95,
        groups=d["alloc"], covariate=[float(x) for x in d["ablat"]], covariate_name="ablat",
    )  # fmt: skip


def test_effect_sizes_are_escalcs(bcg):
    d = data("bcg_RR")
    assert np.allclose(bcg.yi, [float(x) for x in d["yi"]], rtol=1e-12)
    assert np.allclose(bcg.vi, [float(x) for x in d["vi"]], rtol=1e-12)


def test_main_model_matches_metafor(bcg):
    ref = result("bcg_RR")["random"]["REML"]["z"]
    m = bcg.main
    assert m.k == 13
    for ours, key in [
        (m.estimate, "b"), (m.se, "se"), (m.pval, "pval"), (m.ci_lb, "ci.lb"),
        (m.ci_ub, "ci.ub"), (m.tau2, "tau2"), (m.i2, "I2"), (m.h2, "H2"), (m.q, "QE"),
    ]:  # fmt: skip
        assert close(ours, ref[key]), key
    assert close(m.pi_lb, ref["predict"]["pi.lb"]) and close(m.pi_ub, ref["predict"]["pi.ub"])
    # natural scale: exp of the log risk ratio and its bounds
    assert close(m.natural["estimate"], math.exp(ref["b"]))
    assert close(m.natural["pi_ub"], math.exp(ref["predict"]["pi.ub"]))
    assert m.crosses_null is False
    assert np.isclose(sum(bcg.weights), 100)
    assert np.allclose(bcg.weights, ref["weights_percent"], rtol=RTOL)


def test_robustness_panel_is_dl_reml_pm_with_and_without_knha(bcg):
    ref = result("bcg_RR")["random"]
    assert [(p.method, p.test) for p in bcg.robustness] == [
        ("DL", "z"), ("DL", "knha"), ("REML", "z"), ("REML", "knha"), ("PM", "z"), ("PM", "knha"),
    ]  # fmt: skip
    for p in bcg.robustness:
        r = ref[p.method][p.test]
        assert close(p.estimate, r["b"]) and close(p.ci_lb, r["ci.lb"], 1e-4)
        assert close(p.ci_ub, r["ci.ub"], 1e-4) and close(p.tau2, r["tau2"], 1e-4)
    # on bcg every fit's CI excludes 1: no change of conclusion
    assert bcg.robustness_changes is False


def test_leave_one_out_egger_and_trim_and_fill(bcg):
    ref = result("bcg_RR")
    loo = ref["leave1out"]["REML"]
    assert [r["omitted"] for r in bcg.leave_one_out] == bcg.labels
    assert np.allclose([r["estimate"] for r in bcg.leave_one_out], loo["estimate"], rtol=1e-4)
    assert np.allclose([r["tau2"] for r in bcg.leave_one_out], loo["tau2"], rtol=1e-4)
    eg = ref["regtest"]["REML_rma_sei"]
    assert close(bcg.egger["pval"], eg["pval"], 1e-4)
    assert bcg.trimfill["k0"] == ref["trimfill"]["REML"]["k0"] == 1
    assert close(bcg.trimfill["estimate"], ref["trimfill"]["REML"]["b"], 1e-4)


def test_subgroups_and_meta_regression(bcg):
    ref = result("bcg_RR")
    sg = ref["subgroups"]["alloc"]["REML"]
    assert bcg.subgroups["levels"] == ["alternate", "random", "systematic"]
    assert bcg.subgroups["n"] == [2, 7, 4]
    for level in bcg.subgroups["levels"]:
        assert close(bcg.subgroups["pooled"][level]["estimate"], sg["separate"][level]["b"], 1e-4)
    assert close(bcg.subgroups["q_between"], sg["separate_Q_between"]["Q"], 1e-4)
    assert close(bcg.subgroups["qm_mixed"], sg["mixed_with_intercept"]["QM"], 1e-4)
    mr = ref["metareg"]["ablat"]["REML"]
    assert close(bcg.metareg["intercept"], mr["b"][0], 1e-4)
    assert close(bcg.metareg["slope"], mr["b"][1], 1e-4)
    assert close(bcg.metareg["pval"][1], mr["pval"][1], 1e-4)


def test_knha_and_level_are_applied():
    labels, rows = bcg_rows()
    out = analyse(labels, rows, measure="RR", method="DL", test="knha", level=90)
    ref = result("bcg_RR")["random"]["DL"]["knha"]
    assert close(out.main.estimate, ref["b"]) and close(out.main.se, ref["se"])
    # level 90 narrows the interval compared with metafor's 95% one
    assert out.main.ci_lb > ref["ci.lb"] and out.main.ci_ub < ref["ci.ub"]


def test_correlations_are_pooled_as_fisher_z_and_shown_as_r():
    d = data("molloy2014_ZCOR")
    rows = [{"ri": float(r), "ni": int(n)} for r, n in zip(d["ri"], d["ni"], strict=True)]
    labels = [f"{a} {y}" for a, y in zip(d["authors"], d["year"], strict=True)]
    out = analyse(labels, rows, measure="ZCOR")
    ref = result("molloy2014_ZCOR")["random"]["REML"]["z"]
    assert close(out.main.estimate, ref["b"])
    assert close(out.main.natural["estimate"], math.tanh(ref["b"]))
    assert out.main.natural["transform"] == "tanh"


def test_too_few_studies_is_a_clear_error():
    with pytest.raises(MetaAnalysisError, match="at least 2 studies"):
        analyse(["A"], [{"ri": 0.3, "ni": 40}], measure="ZCOR")


def curtis_rows():
    """dat.curtis1998 (k = 102), where metafor's Paule-Mandel fit of the raw mean difference
    fails ("Value of 'tau2.max' too low"): tests/data/metafor/extra/curtis1998_MD.csv."""
    import csv
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "data" / "metafor" / "extra"
    with (path / "curtis1998_MD.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    fields = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
    return [f"paper {r['paper']} ({r['id']})" for r in rows], [
        {f: float(r[f]) for f in fields} for r in rows
    ]


def test_a_robustness_fit_that_fails_is_reported_and_the_rest_still_computed():
    labels, rows = curtis_rows()
    report = analyse(labels, rows, measure="MD", method="REML")
    assert report.main.method == "REML" and report.main.tau2 == pytest.approx(35.097974794, 1e-6)
    assert [(p.method, p.test) for p in report.robustness] == [
        ("DL", "z"), ("DL", "knha"), ("REML", "z"), ("REML", "knha")
    ]
    assert [(f["method"], f["test"]) for f in report.robustness_failed] == [
        ("PM", "z"), ("PM", "knha")
    ]
    assert "tau2_max" in report.robustness_failed[0]["error"]
    assert report.robustness_failed[1]["label"] == "PM + Hartung-Knapp"
    assert any(n.startswith("Robustness: PM not fitted") for n in report.notes)
    assert report.leave_one_out and report.egger is not None
