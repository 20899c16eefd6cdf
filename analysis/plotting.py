"""The forest, funnel and bubble plots of an outcome's analysis, drawn by the pure
`analysis.plots` package from the same numbers as the page (`analysis.report.Report`)."""

from __future__ import annotations

import re

import numpy as np

from analysis import extraction
from analysis.engine import rma
from analysis.models import ROB2_DOMAINS
from analysis.plots import (
    ForestRow,
    PooledEstimate,
    bubble_from_fit,
    forest_from_fit,
    forest_plot,
    funnel_from_fit,
    render,
)
from analysis.plots._style import format_number, format_p
from analysis.report import CONVENTION_LABELS, Pooled, Report

KINDS = ("forest", "funnel", "bubble")
#: the back-transform to the scale papers print, for measures not shown on a log axis
NATURAL_TRANSF = {"ZCOR": "tanh", "PLO": "ilogit"}
ROB_COLUMNS = {name: f"D{i}" for i, (name, _) in enumerate(ROB2_DOMAINS, start=1)} | {
    "overall": "Overall"
}


def _fit(report: Report):
    return rma(
        np.asarray(report.yi),
        np.asarray(report.vi),
        method=report.method,
        test=report.test,
        level=report.level,
        slab=report.labels,
    )


def _rob(outcome, report: Report):
    """One mapping (RoB 2 domain column → judgement) per study, or None when nobody judged."""
    rows = extraction.outcome_rows(outcome)
    by_label = dict(zip(rows.labels, rows.rob, strict=True))
    judged = [by_label.get(label) for label in report.labels]
    if not any(judged):
        return None
    return [{ROB_COLUMNS[k]: v for k, v in (j or {}).items() if v} if j else {} for j in judged]


def _groups(report: Report):
    if not report.subgroups:
        return None
    member_of = {
        label: level for level, labels in report.subgroups["members"].items() for label in labels
    }
    if len(member_of) != len(report.labels):
        return None  # some studies have no subgroup: the forest plot stays ungrouped
    return [member_of[label] for label in report.labels]


def figure(kind: str, outcome, settings: dict, report: Report):
    """The matplotlib Figure of `kind` for an outcome's report (the page's settings)."""
    measure = report.measure
    log_scale = True if outcome.log_scale and measure == "GEN" else None
    if kind == "forest":
        # The natural scale by default (r from Fisher's z, proportions from log odds; ratios
        # on a log axis), as the table shows them; the analysis scale on request.
        transf = None
        if settings.get("scale") == "analysis":
            log_scale = False
        else:
            transf = NATURAL_TRANSF.get(measure)
        if report.convention != "metafor":
            return _forest_of_report(outcome, report, measure, log_scale, transf)
        return forest_from_fit(
            report.labels,
            report.yi,
            report.vi,
            _fit(report),
            measure=measure,
            level=report.level,
            groups=_groups(report),
            rob=_rob(outcome, report),
            log_scale=log_scale,
            transf=transf,
        )
    if kind == "funnel":
        if report.main.k < 3:
            raise ValueError("A funnel plot needs at least 3 studies.")
        return funnel_from_fit(
            report.yi, report.vi, _fit(report), measure=measure, level=report.level
        )
    if kind == "bubble":
        m = report.metareg
        if not m:
            raise ValueError("No meta-regression: choose a numeric moderator.")
        keep = [report.labels.index(label) for label in m["labels"]]
        yi, vi = np.asarray(report.yi)[keep], np.asarray(report.vi)[keep]
        x = np.asarray(m["x"], dtype=float)
        fit = rma(yi, vi, mods=x, method=report.method, test=report.test, level=report.level)
        return bubble_from_fit(x, yi, vi, fit, measure=measure, xlabel=m["moderator"])
    raise ValueError(f"No plot of kind {kind!r}.")


def _heterogeneity(p: Pooled | dict, fixed: bool) -> str:
    p = p if isinstance(p, dict) else p.__dict__
    parts = [] if fixed else [f"τ² = {format_number(p['tau2'], 2)}"]
    parts += [f"I² = {format_number(p['i2'], 0)}%", f"Q({p['q_df']}) = {format_number(p['q'], 2)}",
              format_p(p["q_pval"])]  # fmt: skip
    return "Heterogeneity: " + ", ".join(parts)


def _diamond(p: Pooled | dict, label: str, weight: float | None, fixed: bool) -> PooledEstimate:
    d = p if isinstance(p, dict) else p.__dict__
    return PooledEstimate(label=label, est=d["estimate"], ci_lb=d["ci_lb"], ci_ub=d["ci_ub"],
                          pi_lb=d["pi_lb"], pi_ub=d["pi_ub"],
                          heterogeneity_text=_heterogeneity(d, fixed), weight=weight)  # fmt: skip


def _forest_of_report(outcome, report: Report, measure, log_scale, transf):
    """The forest plot of an analysis under meta's or RevMan's conventions: the study rows,
    weights, diamond, prediction interval and heterogeneity line are the report's (meta's
    study effects, I² from Q, prediction interval on t(k - 1)), not a refit with metafor."""
    groups = _groups(report)
    rob = _rob(outcome, report)
    rows = [
        ForestRow(label=lab, yi=y, vi=v, weight=w, group=None if groups is None else groups[i],
                  rob=None if rob is None else rob[i])
        for i, (lab, y, v, w) in enumerate(
            zip(report.labels, report.yi, report.vi, report.weights, strict=True))
    ]  # fmt: skip
    fixed = report.method == "FE"
    label = (report.main.model or (
        "Common-effect model" if fixed else f"Random-effects model ({report.method}"
        f"{', Hartung–Knapp' if report.test == 'knha' else ''})"))
    label += f", {CONVENTION_LABELS[report.convention]}"
    subgroups = test_text = None
    if groups is not None:
        sg = report.subgroups
        subgroups = {}
        for lev in sg["levels"]:
            share = sum(w for w, g in zip(report.weights, groups, strict=True) if g == lev)
            subgroups[lev] = _diamond(sg["pooled"][lev], f"{lev}", share, fixed)
        qm = format_number(sg["qm_mixed"], 2)
        test_text = (f"Test for subgroup differences: Q\u2098 = {qm}, "
                     f"df = {sg['df_between']}, {format_p(sg['qm_mixed_pval'])}")  # fmt: skip
        label = "Overall: " + label[0].lower() + label[1:]
    return forest_plot(rows, _diamond(report.main, label, 100.0, fixed), measure=measure,
                       subgroups=subgroups, subgroup_test_text=test_text, level=report.level,
                       transf=transf, log_scale=log_scale,
                       rob_domains=None)  # fmt: skip


def plot_bytes(kind: str, fmt: str, outcome, settings: dict, report: Report) -> bytes:
    return render(figure(kind, outcome, settings, report), fmt)


_STYLE_ELEMENT = re.compile(r"<defs>\s*<style[^>]*>(.*?)</style>\s*</defs>", re.S)


def _inline(kind, outcome, settings, report) -> str:
    """The SVG for the page: without the XML declaration and DOCTYPE, and without matplotlib's
    <style> element (the Content-Security-Policy blocks <style> in the page): its one rule,
    round line joins and butt caps, becomes inherited attributes of the <svg> element."""
    svg = plot_bytes(kind, "svg", outcome, settings, report).decode("utf-8")
    svg = _STYLE_ELEMENT.sub("", svg[svg.index("<svg") :], count=1)
    return svg.replace("<svg ", '<svg stroke-linejoin="round" stroke-linecap="butt" ', 1)


def forest_svg(outcome, settings, report) -> str:
    return _inline("forest", outcome, settings, report)


def funnel_svg(outcome, settings, report) -> str:
    return _inline("funnel", outcome, settings, report)


def bubble_svg(outcome, settings, report) -> str:
    return _inline("bubble", outcome, settings, report)
