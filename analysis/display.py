"""An analysis report as the page shows it: numbers formatted, on the natural scale where the
measure is a log ratio (or Fisher's z, or a logit), with the analysis scale beside it."""

from __future__ import annotations

import math

from analysis.report import CONVENTION_LABELS, Pooled, Report, transform_for

#: what each convention means for the numbers on the page (docs/engine.md has the full table)
CONVENTION_DESCRIPTIONS = {
    "metafor": "metafor's escalc study effects (0.5 added to every cell of a table with a zero "
    "cell; double-zero tables kept), inverse-variance common effect, normal-quantile prediction "
    "interval, I² from τ², trim and fill and Egger's test on the chosen model.",
    "meta": "meta's study effects (SMD with the exact variance; for risk ratios 0.5 added to the "
    "events and group sizes; double-zero tables left out), Mantel-Haenszel common effect for 2×2 "
    "tables, prediction interval on t(k − 1), I² from Q with the Higgins-Thompson CI, "
    "leave-one-out as metainf, trim and fill on the common-effect model, Egger's test (Harbord's "
    "for odds ratios) from 10 studies; proportions pooled by the GLMM (metaprop's default).",
    "revman": "RevMan Web's defaults: REML with the Hartung-Knapp CI on t(k − 1), prediction "
    "interval on t(k − 1), I² from Q, Mantel-Haenszel common effect for 2×2 tables, study "
    "effects and zero-cell rules as meta's.",
}


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}".replace("-", "−")


def fmt_p(p: float | None) -> str:
    if p is None or math.isnan(p):
        return "–"
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"


def interval(lb, ub, digits=2) -> str:
    return f"[{fmt(lb, digits)}, {fmt(ub, digits)}]"


def pooled_row(p: Pooled, f) -> dict:
    natural = (lambda x: None if x is None else float(f(x))) if f else (lambda x: x)
    return {
        "label": p.label,
        "method": p.method,
        "test": p.test,
        "k": p.k,
        "estimate": fmt(natural(p.estimate)),
        "ci": interval(natural(p.ci_lb), natural(p.ci_ub)),
        "pi": interval(natural(p.pi_lb), natural(p.pi_ub)) if p.pi_lb is not None else "–",
        "estimate_raw": fmt(p.estimate, 4),
        "ci_raw": interval(p.ci_lb, p.ci_ub, 4),
        "se": fmt(p.se, 4),
        "statistic": fmt(p.statistic, 2),
        "pval": fmt_p(p.pval),
        "tau2": fmt(p.tau2, 4),
        "tau": fmt(p.tau, 4),
        "i2": fmt(p.i2, 1),
        "i2_ci": interval(p.i2_lb, p.i2_ub, 1) if p.i2_lb is not None else "",
        "h2": fmt(p.h2, 2),
        "q": fmt(p.q, 2),
        "q_df": p.q_df,
        "q_pval": fmt_p(p.q_pval),
        "crosses_null": p.crosses_null,
    }


def report_view(report: Report, log_scale: bool = False, *, natural_scale: bool = True) -> dict:
    """The page's numbers: on the natural scale (r, OR, RR, proportions) unless
    `natural_scale` is False (the analysis scale: Fisher's z, log ratios, log odds)."""
    name, f = transform_for(report.measure, log_scale) if natural_scale else (None, None)
    natural = lambda x: None if x is None else float(f(x)) if f else x  # noqa: E731
    scale = {"exp": "natural scale (exp)", "tanh": "r (tanh of z)", "ilogit": "proportion"}.get(
        name
    )
    studies = []
    for label, y, v, w in zip(report.labels, report.yi, report.vi, report.weights, strict=True):
        half = 1.959963984540054 * math.sqrt(v)
        studies.append(
            {
                "label": label,
                "estimate": fmt(natural(y)),
                "ci": interval(natural(y - half), natural(y + half)),
                "yi": fmt(y, 4),
                "vi": fmt(v, 4),
                "weight": fmt(w, 1),
            }
        )
    loo = [
        {
            **r,
            "estimate": fmt(natural(r["estimate"])),
            "ci": interval(natural(r["ci_lb"]), natural(r["ci_ub"])),
            "pval": fmt_p(r["pval"]),
            "tau2": fmt(r["tau2"], 4),
            "i2": fmt(r["i2"], 1),
        }
        for r in report.leave_one_out
    ]
    subgroups = None
    if report.subgroups:
        sg = report.subgroups
        subgroups = {
            "rows": [
                {"level": level, "n": n, **pooled_row(Pooled(**sg["pooled"][level]), f)}
                for level, n in zip(sg["levels"], sg["n"], strict=True)
            ],
            "q": fmt(sg["q_between"], 2),
            "df": sg["df_between"],
            "p": fmt_p(sg["pval_between"]),
            "qm": fmt(sg["qm_mixed"], 2),
            "qm_p": fmt_p(sg["qm_mixed_pval"]),
        }
    metareg = None
    if report.metareg:
        m = report.metareg
        metareg = {
            "moderator": m["moderator"],
            "k": m["k"],
            "rows": [
                {
                    "name": name,
                    "b": fmt(m[key], 4),
                    "se": fmt(m["se"][i], 4),
                    "p": fmt_p(m["pval"][i]),
                    "ci": interval(m["ci_lb"][i], m["ci_ub"][i], 4),
                }
                for i, (name, key) in enumerate(
                    (("intercept", "intercept"), (m["moderator"], "slope"))
                )
            ],
            "tau2": fmt(m["tau2"], 4),
            "qm": fmt(m["qm"], 2),
            "qm_p": fmt_p(m["qm_pval"]),
            "r2": fmt(m["r2"], 1) if m["r2"] is not None else "–",
        }
    return {
        "scale": scale,
        "main": pooled_row(report.main, f),
        "robustness": [pooled_row(p, f) for p in report.robustness],
        "studies": studies,
        "loo": loo,
        "egger": report.egger
        and {
            "p": fmt_p(report.egger["pval"]),
            "statistic": fmt(report.egger["statistic"], 2),
            "test": report.egger.get("test", "Egger's regression test"),
            "symbol": report.egger.get("symbol", "t" if report.test == "knha" else "z"),
        },
        "convention": {
            "label": CONVENTION_LABELS[report.convention],
            "description": CONVENTION_DESCRIPTIONS[report.convention],
        },
        "trimfill": report.trimfill
        and {
            "k0": report.trimfill["k0"],
            "side": report.trimfill["side"],
            "estimate": fmt(natural(report.trimfill["estimate"])),
            "ci": interval(natural(report.trimfill["ci_lb"]), natural(report.trimfill["ci_ub"])),
        },
        "subgroups": subgroups,
        "metareg": metareg,
    }
