"""The analysis page's conventions (analysis.report.analyse(convention=...)) against R meta
8.4-0 with its defaults (tests/data/meta_pkg): "meta" is what meta prints, "revman" is
meta's update(m, method.random.ci = "HK") (RevMan Web's Hartung-Knapp CI, prediction
interval on t(k - 1), I² from Q), both on meta's study effects and zero-cell rules."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from analysis.engine import MetaAnalysisError
from analysis.report import ZeroCellRules, analyse

DATA = Path(__file__).resolve().parent.parent / "data" / "meta_pkg"
#: the page's input fields from meta's argument names
FIELDS = {"event.e": "ai", "n.e": "n1i", "event.c": "ci", "n.c": "n2i", "mean.e": "m1i",
          "sd.e": "sd1i", "mean.c": "m2i", "sd.c": "sd2i", "cor": "ri", "n": "ni",
          "event": "xi"}  # fmt: skip
CASES = {  # case -> the page's measure
    "bcg_metabin_RR": "RR", "bcg_metabin_OR": "OR", "bcg_metabin_RD": "RD",
    "fleiss1993bin_metabin_RR": "RR", "fleiss1993bin_metabin_OR": "OR",
    "molloy2014_metacor": "ZCOR", "normand1999_metacont_SMD": "SMD",
    "normand1999_metacont_MD": "MD",
}  # fmt: skip
RTOL = 1e-6  # REML tau² (iterative) enters every random-effects value


def _case(name: str):
    ref = json.loads((DATA / "results" / f"{name}.json").read_text())
    with (DATA / "data" / f"{name}.csv").open(newline="") as fh:
        table = list(csv.DictReader(fh))
    # metaprop's columns are event and n; metacont's n.e is the group size
    args = ref["args"]
    rows = []
    for r in table:
        row = {}
        for meta_name, column in args.items():
            field = (
                FIELDS[meta_name]
                if ref["r_function"] != "metacont" or meta_name not in ("n.e", "n.c")
                else {"n.e": "n1i", "n.c": "n2i"}[meta_name]
            )
            row[field] = float(r[column])
        rows.append(row)
    return ref, [r["studlab"] for r in table], rows


def close(got, expected, rtol=RTOL, what=""):
    assert got == pytest.approx(expected, rel=rtol, abs=1e-12), what


@pytest.mark.parametrize("case", CASES)
def test_meta_convention_is_what_meta_prints(case):
    ref, labels, rows = _case(case)
    rep = analyse(labels, rows, measure=CASES[case], convention="meta")
    r, p, h = ref["meta"]["random"], ref["meta"]["prediction"], ref["meta"]["heterogeneity"]
    m = rep.main
    close(m.estimate, r["TE"]), close(m.se, r["seTE"])
    close(m.ci_lb, r["lower"]), close(m.ci_ub, r["upper"]), close(m.pval, r["pval"])
    close(m.pi_lb, p["lower.predict"]), close(m.pi_ub, p["upper.predict"])
    close(m.tau2, h["tau2"]), close(m.i2, h["I2_percent"], 1e-8), close(m.q, h["Q"], 1e-8)
    close(m.h2, h["H"] ** 2, 1e-8)
    close(m.i2_lb, h["lower.I2_percent"], 1e-8), close(m.i2_ub, h["upper.I2_percent"], 1e-8)
    st = ref["meta"]["studies"]
    assert rep.labels == [
        lab for lab, te in zip(st["studlab"], st["TE"], strict=True) if te is not None
    ]
    close(rep.yi, [x for x in st["TE"] if x is not None], 1e-10)
    close(
        rep.weights,
        [w for w, te in zip(st["w.random_percent"], st["TE"], strict=True) if te is not None],
    )
    assert rep.convention == "meta"


@pytest.mark.parametrize("case", CASES)
def test_meta_convention_common_effect_is_meta_s(case):
    """FE under meta: Mantel-Haenszel for 2x2 tables, inverse variance otherwise."""
    ref, labels, rows = _case(case)
    rep = analyse(labels, rows, measure=CASES[case], method="FE", convention="meta")
    c = ref["meta"]["common"]
    close(rep.main.estimate, c["TE"], 1e-8), close(rep.main.se, c["seTE"], 1e-8)
    close(rep.main.ci_lb, c["lower"], 1e-8), close(rep.main.ci_ub, c["upper"], 1e-8)
    assert rep.main.pi_lb is None and rep.main.tau2 == 0
    if CASES[case] in ("RR", "OR", "RD"):
        assert "Mantel-Haenszel" in rep.main.label


@pytest.mark.parametrize("case", CASES)
def test_revman_convention_is_meta_with_hartung_knapp(case):
    ref, labels, rows = _case(case)
    rep = analyse(
        labels, rows, measure=CASES[case], method="REML", test="knha", convention="revman"
    )
    r, p = ref["update_HK"]["random"], ref["update_HK"]["prediction"]
    close(rep.main.ci_lb, r["lower"]), close(rep.main.ci_ub, r["upper"])
    close(rep.main.se, r["seTE"]), close(rep.main.pval, r["pval"])
    close(rep.main.pi_lb, p["lower.predict"]), close(rep.main.pi_ub, p["upper.predict"])


@pytest.mark.parametrize("case", CASES)
def test_panels_are_meta_s_metainf_trimfill_and_metabias(case):
    ref, labels, rows = _case(case)
    rep = analyse(labels, rows, measure=CASES[case], convention="meta")
    inf = ref["metainf"]["random"]
    close([r["estimate"] for r in rep.leave_one_out], inf["TE"])
    close([r["ci_lb"] for r in rep.leave_one_out], inf["lower"])
    close([r["tau2"] for r in rep.leave_one_out], inf["tau2"], 1e-5)
    tf = ref["trimfill"]
    assert rep.trimfill["k0"] == tf["k0"]
    assert rep.trimfill["side"] == ("left" if tf["left"] else "right")
    close(rep.trimfill["estimate"], tf["random"]["TE"])
    close(rep.trimfill["ci_ub"], tf["random"]["upper"])
    bias = ref["metabias"]
    if bias.get("skipped"):
        assert rep.egger is None
        assert "fewer than 10 studies" in rep.panel_errors["egger"]
    else:
        close(rep.egger["statistic"], bias["statistic"], 1e-8)
        close(rep.egger["pval"], bias["pval"], 1e-8)
        assert rep.egger["test"].startswith(
            {"Harbord": "Harbord", "Egger": "Egger"}[bias["method.bias"]]
        )


def test_robustness_panel_reml_hk_row_is_update_hk():
    ref, labels, rows = _case("bcg_metabin_RR")
    rep = analyse(labels, rows, measure="RR", convention="meta")
    row = next(p for p in rep.robustness if p.method == "REML" and p.test == "knha")
    close(row.ci_lb, ref["update_HK"]["random"]["lower"])
    close(row.pi_ub, ref["update_HK"]["prediction"]["upper.predict"])


def test_proportions_under_meta_are_metaprop_s_glmm():
    ref, labels, rows = _case("pritz1997_metaprop_GLMM")
    rep = analyse(labels, rows, measure="PLO", convention="meta")
    r, p, h = ref["meta"]["random"], ref["meta"]["prediction"], ref["meta"]["heterogeneity"]
    close(rep.main.estimate, r["TE"], 1e-5), close(rep.main.ci_lb, r["lower"], 1e-5)
    close(rep.main.pi_ub, p["upper.predict"], 1e-5), close(rep.main.tau2, h["tau2"], 1e-5)
    close(rep.main.natural["estimate"], r["TE_backtransf"], 1e-5)
    assert math.isnan(rep.main.pval)  # metaprop tests no pooled effect
    assert "GLMM" in rep.main.label
    # meta's trimfill of a GLMM fit: inverse variance with tau² by ML
    tf = ref["trimfill"]
    assert rep.trimfill["k0"] == tf["k0"]
    close(rep.trimfill["estimate"], tf["random"]["TE"])
    close(rep.egger["statistic"], ref["metabias"]["statistic"], 1e-8)


def test_revman_does_not_pool_proportions():
    _, labels, rows = _case("pritz1997_metaprop_GLMM")
    with pytest.raises(MetaAnalysisError, match="RevMan Web does not pool"):
        analyse(labels, rows, measure="PLO", convention="revman")


def test_metafor_s_i2_interval_is_its_q_profile_one():
    from analysis.engine import confint, escalc, rma

    _, labels, rows = _case("molloy2014_metacor")
    rep = analyse(labels, rows, measure="ZCOR")
    es = escalc("ZCOR", ri=[r["ri"] for r in rows], ni=[r["ni"] for r in rows])
    ci = confint(rma(es))
    assert (rep.main.i2_lb, rep.main.i2_ub) == pytest.approx((ci.i2[1], ci.i2[2]), rel=1e-12)
    assert analyse(labels, rows, measure="ZCOR", method="FE").main.i2_lb is None


def test_the_conventions_differ_where_the_programs_do():
    """The same data, three conventions: metafor's I² (from tau²) and z prediction interval
    are not meta's; RevMan's CI is Hartung-Knapp."""
    _, labels, rows = _case("molloy2014_metacor")
    metafor = analyse(labels, rows, measure="ZCOR").main
    meta = analyse(labels, rows, measure="ZCOR", convention="meta").main
    revman = analyse(labels, rows, measure="ZCOR", test="knha", convention="revman").main
    assert metafor.estimate == pytest.approx(meta.estimate, rel=1e-9)
    assert meta.pi_ub - meta.pi_lb > metafor.pi_ub - metafor.pi_lb  # t(k-1) is wider
    assert metafor.i2 != pytest.approx(meta.i2, rel=1e-3)
    assert revman.ci_ub - revman.ci_lb != pytest.approx(meta.ci_ub - meta.ci_lb, rel=1e-3)


DOUBLE_ZERO = [  # study 3 has no events in either group
    {"ai": 4, "n1i": 50, "ci": 9, "n2i": 50},
    {"ai": 2, "n1i": 40, "ci": 0, "n2i": 41},
    {"ai": 0, "n1i": 30, "ci": 0, "n2i": 30},
    {"ai": 7, "n1i": 80, "ci": 12, "n2i": 79},
]
DZ_LABELS = ["A", "B", "C", "D"]


def test_double_zero_tables_follow_the_convention_unless_said():
    metafor = analyse(DZ_LABELS, DOUBLE_ZERO, measure="OR")
    meta = analyse(DZ_LABELS, DOUBLE_ZERO, measure="OR", convention="meta")
    assert metafor.labels == DZ_LABELS  # metafor's escalc keeps it (drop00 = FALSE)
    assert meta.labels == ["A", "B", "D"]  # meta: allstudies = FALSE
    assert any("Left out" in n and "C" in n for n in meta.notes)
    dropped = analyse(DZ_LABELS, DOUBLE_ZERO, measure="OR", zero_cells=ZeroCellRules(drop00=True))
    assert dropped.labels == ["A", "B", "D"]
    assert any("double-zero" in n for n in dropped.notes)
    kept = analyse(
        DZ_LABELS,
        DOUBLE_ZERO,
        measure="OR",
        convention="meta",
        zero_cells=ZeroCellRules(drop00=False),
    )
    assert kept.labels == DZ_LABELS


def test_the_correction_is_the_one_asked_for():
    from analysis.engine import escalc

    a = np.array([r["ai"] for r in DOUBLE_ZERO], dtype=float)
    n1 = np.array([r["n1i"] for r in DOUBLE_ZERO], dtype=float)
    c = np.array([r["ci"] for r in DOUBLE_ZERO], dtype=float)
    n2 = np.array([r["n2i"] for r in DOUBLE_ZERO], dtype=float)
    for add, to in ((0.5, "only0"), (0.25, "all"), (1.0, "if0all")):
        rep = analyse(
            DZ_LABELS, DOUBLE_ZERO, measure="OR", zero_cells=ZeroCellRules(add=add, to=to)
        )
        es = escalc("OR", ai=a, bi=n1 - a, ci=c, di=n2 - c, add=add, to=to)
        np.testing.assert_allclose(rep.yi, es.yi, rtol=1e-14)
        np.testing.assert_allclose(rep.vi, es.vi, rtol=1e-14)
    with pytest.raises(MetaAnalysisError, match="continuity correction"):
        analyse(DZ_LABELS, DOUBLE_ZERO, measure="OR", zero_cells=ZeroCellRules(add=-1))
    # no correction: the double-zero and zero-cell tables have no finite log odds ratio
    with pytest.raises(MetaAnalysisError, match="Cannot compute the effect size"):
        analyse(DZ_LABELS, DOUBLE_ZERO, measure="OR", zero_cells=ZeroCellRules(to="none"))


def test_meta_s_rr_correction_differs_from_metafor_s():
    """meta adds 0.5 to the events and the group sizes once (RR.Cochrane = FALSE); metafor's
    escalc to every cell (group sizes + 1)."""
    rows = DOUBLE_ZERO[:2] + DOUBLE_ZERO[3:]
    labels = ["A", "B", "D"]
    meta = analyse(labels, rows, measure="RR", convention="meta")
    metafor = analyse(labels, rows, measure="RR")
    expected = math.log((2.5 / 40.5) / (0.5 / 41.5))
    assert meta.yi[1] == pytest.approx(expected, rel=1e-12)
    assert metafor.yi[1] == pytest.approx(math.log((2.5 / 41) / (0.5 / 42)), rel=1e-12)
