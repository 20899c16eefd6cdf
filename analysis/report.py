"""One outcome's meta-analysis from its study rows: every number the analysis page shows, the
export writes and the exported Python script recomputes.

Plain Python on the engine (numpy, scipy; no Django), so that the script shipped in an export
(`analysis/exports.py`) can call `analyse` on the exported CSV and get the page's numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from analysis.engine import (
    MetaAnalysisError,
    escalc,
    leave1out,
    predict,
    regtest,
    rma,
    subgroup,
    trimfill,
)
from analysis.engine.intervals import resolve_transf

#: the measures whose effects are log ratios: shown back-transformed (exp) on the natural scale
RATIO_MEASURES = {"RR", "OR"}
#: tau² estimators offered (all of the engine's random-effects ones, then the common effect)
METHODS = ("REML", "DL", "PM", "ML", "HE", "SJ", "EB", "HS", "FE")
#: the robustness panel: these estimators, each with and without Hartung-Knapp
ROBUSTNESS_METHODS = ("DL", "REML", "PM")

#: escalc's arguments for each measure, from the input fields of a study row
ESCALC_FIELDS = {
    "RR": ("ai", "n1i", "ci", "n2i"),
    "OR": ("ai", "n1i", "ci", "n2i"),
    "RD": ("ai", "n1i", "ci", "n2i"),
    "SMD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "MD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "ZCOR": ("ri", "ni"),
    "COR": ("ri", "ni"),
    "PLO": ("xi", "ni"),
    "PR": ("xi", "ni"),
    "GEN": ("yi", "sei"),
}


def transform_for(measure: str, log_scale: bool = False):
    """(name, function) taking the analysis scale to the natural one (the engine's `predict`
    transforms), or (None, None)."""
    if measure in RATIO_MEASURES or (measure == "GEN" and log_scale):
        name = "exp"
    else:
        name = {"ZCOR": "tanh", "PLO": "ilogit"}.get(measure)
    return name, resolve_transf(name)


def null_value(measure: str) -> float:
    """The effect of no difference on the analysis scale (0: log ratios, differences, z)."""
    return 0.0


def effect_sizes(measure: str, rows: list[dict], labels: list[str]):
    """escalc on the study rows (each a dict of input fields, as extracted): yi and vi."""
    if measure == "GEN":
        yi = [float(r["yi"]) for r in rows]
        sei = [float(r["sei"]) for r in rows]
        return escalc("GEN", yi=yi, sei=sei, slab=labels)
    args = {}
    for name in ESCALC_FIELDS[measure]:
        args[name] = [float(r[name]) for r in rows]
    if measure in ("RR", "OR", "RD"):
        ai, n1i, ci, n2i = (np.asarray(args[n]) for n in ("ai", "n1i", "ci", "n2i"))
        return escalc(measure, ai=ai, bi=n1i - ai, ci=ci, di=n2i - ci, slab=labels)
    return escalc(measure, **args, slab=labels)


@dataclass(frozen=True)
class Pooled:
    """A random-effects (or common-effect) summary, on the analysis scale and the natural one."""

    method: str
    test: str
    level: float
    k: int
    estimate: float
    se: float
    statistic: float
    pval: float
    ci_lb: float
    ci_ub: float
    pi_lb: float | None
    pi_ub: float | None
    tau2: float
    tau: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_pval: float
    natural: dict | None = None  # estimate, ci_lb, ci_ub, pi_lb, pi_ub back-transformed
    crosses_null: bool = False  # the CI contains the null value

    @property
    def label(self) -> str:
        return f"{self.method}{' + Hartung-Knapp' if self.test == 'knha' else ''}"


def pooled(fit, measure: str, log_scale: bool = False) -> Pooled:
    pred = predict(fit)
    name, f = transform_for(measure, log_scale)
    natural = None
    if f is not None:
        natural = {
            key: (float(f(value)) if value is not None else None)
            for key, value in (
                ("estimate", float(fit.b)),
                ("ci_lb", float(fit.ci_lb)),
                ("ci_ub", float(fit.ci_ub)),
                ("pi_lb", _opt(pred.pi_lb)),
                ("pi_ub", _opt(pred.pi_ub)),
            )
        }
        natural["transform"] = name
    null = null_value(measure)
    return Pooled(
        method=fit.method,
        test=fit.test,
        level=fit.level,
        k=fit.k,
        estimate=float(fit.b),
        se=float(fit.se),
        statistic=float(fit.zval),
        pval=float(fit.pval),
        ci_lb=float(fit.ci_lb),
        ci_ub=float(fit.ci_ub),
        pi_lb=_opt(pred.pi_lb),
        pi_ub=_opt(pred.pi_ub),
        tau2=float(fit.tau2),
        tau=math.sqrt(max(float(fit.tau2), 0.0)),
        i2=float(fit.i2),
        h2=float(fit.h2),
        q=float(fit.qe),
        q_df=int(fit.qe_df),
        q_pval=float(fit.qep),
        natural=natural,
        crosses_null=bool(fit.ci_lb <= null <= fit.ci_ub),
    )


def _opt(value) -> float | None:
    if value is None:
        return None
    value = float(np.asarray(value).ravel()[0])
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class Report:
    measure: str
    method: str
    test: str
    level: float
    labels: list[str]
    yi: list[float]
    vi: list[float]
    weights: list[float]  # percent, the main model's
    main: Pooled
    robustness: list[Pooled]
    robustness_changes: bool  # some fit in the panel differs from the main on crossing the null
    leave_one_out: list[dict]
    egger: dict | None
    trimfill: dict | None
    subgroups: dict | None = None
    metareg: dict | None = None
    notes: list[str] = field(default_factory=list)
    # Panel fits that failed (as they fail in metafor): method, test, label, error.
    robustness_failed: list[dict] = field(default_factory=list)
    # Optional panels that could not be computed, by panel ("leave_one_out", "egger",
    # "trimfill"): the reason, shown in the panel's place while the rest renders.
    panel_errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def analyse(
    labels: list[str],
    rows: list[dict],
    *,
    measure: str,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    log_scale: bool = False,
    groups: list[str | None] | None = None,
    covariate: list[float | None] | None = None,
    covariate_name: str = "moderator",
) -> Report:
    """The whole analysis of one outcome. `rows`: per study a dict of its input fields (see
    ESCALC_FIELDS); `groups`: a subgroup label per study (None: not in any); `covariate`: a
    number per study for the meta-regression (None: missing, that study left out of it)."""
    if len(labels) != len(rows):
        raise MetaAnalysisError(f"{len(labels)} labels for {len(rows)} rows.")
    if len(rows) < 2:
        raise MetaAnalysisError(
            f"A meta-analysis needs at least 2 studies; this outcome has {len(rows)}."
        )
    es = effect_sizes(measure, rows, labels)
    notes = []
    if es.corrected:
        notes.append(
            f"0.5 added to every cell of {len(es.corrected)} 2×2 table(s) with a zero cell "
            f"({', '.join(es.corrected)}), as metafor's escalc does."
        )
    fit = rma(es, method=method, test=test, level=level)
    main = pooled(fit, measure, log_scale)
    panel, failed = [], []
    for m in ROBUSTNESS_METHODS:
        for t in ("z", "knha"):
            try:
                panel.append(pooled(rma(es, method=m, test=t, level=level), measure, log_scale))
            except MetaAnalysisError as exc:
                # metafor fails the same way (e.g. Paule-Mandel's "tau2.max too low" on
                # dat.curtis1998): the panel says so in that row; the rest is still computed.
                label = f"{m}{' + Hartung-Knapp' if t == 'knha' else ''}"
                failed.append({"method": m, "test": t, "label": label, "error": str(exc)})
    for m in dict.fromkeys(f["method"] for f in failed):
        error = next(f["error"] for f in failed if f["method"] == m)
        notes.append(f"Robustness: {m} not fitted: {error}")
    changes = any(p.crosses_null != main.crosses_null for p in panel)

    loo = []
    panel_errors: dict[str, str] = {}
    try:
        l1o = leave1out(fit) if fit.k >= 3 else None
    except MetaAnalysisError as exc:
        l1o = None
        panel_errors["leave_one_out"] = str(exc)
        notes.append(f"Leave one out not computed: {exc}")
    if l1o is not None:
        for i, lab in enumerate(l1o.slab):
            loo.append(
                {
                    "omitted": lab,
                    "estimate": float(l1o.estimate[i]),
                    "ci_lb": float(l1o.ci_lb[i]),
                    "ci_ub": float(l1o.ci_ub[i]),
                    "pval": float(l1o.pval[i]),
                    "tau2": float(l1o.tau2[i]),
                    "i2": float(l1o.i2[i]),
                    "q": float(l1o.q[i]),
                }
            )
    egger = tf = None
    if fit.k >= 3:
        try:
            eg = regtest(fit)
            egger = {"statistic": eg.zval, "pval": eg.pval, "dfs": eg.dfs, "limit": eg.est}
        except MetaAnalysisError as exc:
            panel_errors["egger"] = str(exc)
            notes.append(f"Egger's test not computed: {exc}")
        try:
            t = trimfill(fit)
            tf = {
                "k0": t.k0,
                "side": t.side,
                "filled_yi": t.filled_yi.tolist(),
                "filled_vi": t.filled_vi.tolist(),
                "estimate": float(t.fit.b),
                "ci_lb": float(t.fit.ci_lb),
                "ci_ub": float(t.fit.ci_ub),
            }
        except MetaAnalysisError as exc:
            panel_errors["trimfill"] = str(exc)
            notes.append(f"Trim and fill not computed: {exc}")

    total = float(np.sum(fit.weights))
    report_subgroups = None
    if groups is not None:
        report_subgroups = _subgroups(
            es, labels, groups, method, test, level, measure, log_scale, notes
        )
    report_metareg = None
    if covariate is not None:
        report_metareg = _metareg(es, labels, covariate, covariate_name, method, test, level, notes)
    return Report(
        measure=measure,
        method=method,
        test=test,
        level=level,
        labels=list(labels),
        yi=es.yi.tolist(),
        vi=es.vi.tolist(),
        weights=(100 * np.asarray(fit.weights) / total).tolist(),
        main=main,
        robustness=panel,
        robustness_changes=changes,
        leave_one_out=loo,
        egger=egger,
        trimfill=tf,
        subgroups=report_subgroups,
        metareg=report_metareg,
        notes=notes,
        robustness_failed=failed,
        panel_errors=panel_errors,
    )


def _subgroups(es, labels, groups, method, test, level, measure, log_scale, notes):
    keep = np.array([g not in (None, "") for g in groups])
    if keep.sum() < 2:
        notes.append("Subgroups: fewer than 2 studies have a subgroup label.")
        return None
    if not keep.all():
        left = [lab for lab, k in zip(labels, keep, strict=True) if not k]
        notes.append(f"Subgroups: left out for want of a label: {', '.join(left)}.")
    y, v = es.yi[keep], es.vi[keep]
    slab = [lab for lab, k in zip(labels, keep, strict=True) if k]
    g = [str(x) for x, k in zip(groups, keep, strict=True) if k]
    try:
        fit = rma(y, v, method=method, test=test, level=level, slab=slab)
        sg = subgroup(fit, g)
    except MetaAnalysisError as exc:
        notes.append(f"Subgroups not computed: {exc}")
        return None
    return {
        "levels": list(sg.levels),
        "n": list(sg.n_per_level),
        "members": {
            lev: [s for s, x in zip(slab, g, strict=True) if x == lev] for lev in sg.levels
        },
        "pooled": {lev: asdict(pooled(sg.separate[lev], measure, log_scale)) for lev in sg.levels},
        "q_between": sg.q_between,
        "df_between": sg.df_between,
        "pval_between": sg.pval_between,
        "qm_mixed": float(sg.mixed.qm),
        "qm_mixed_pval": float(sg.mixed.qmp),
    }


def _metareg(es, labels, covariate, name, method, test, level, notes):
    x = np.array([np.nan if c in (None, "") else float(c) for c in covariate])
    keep = ~np.isnan(x)
    if keep.sum() < 3:
        notes.append(f"Meta-regression on {name}: fewer than 3 studies have a value.")
        return None
    if not keep.all():
        left = [lab for lab, k in zip(labels, keep, strict=True) if not k]
        notes.append(f"Meta-regression on {name}: left out for want of a value: {', '.join(left)}.")
    try:
        fit = rma(es.yi[keep], es.vi[keep], mods=x[keep], method=method, test=test, level=level)
    except MetaAnalysisError as exc:
        notes.append(f"Meta-regression not computed: {exc}")
        return None
    b, se = np.atleast_1d(fit.b), np.atleast_1d(fit.se)
    return {
        "moderator": name,
        "k": fit.k,
        "labels": [lab for lab, k in zip(labels, keep, strict=True) if k],
        "x": x[keep].tolist(),
        "intercept": float(b[0]),
        "slope": float(b[1]),
        "se": [float(s) for s in se],
        "pval": [float(p) for p in np.atleast_1d(fit.pval)],
        "ci_lb": [float(c) for c in np.atleast_1d(fit.ci_lb)],
        "ci_ub": [float(c) for c in np.atleast_1d(fit.ci_ub)],
        "tau2": float(fit.tau2),
        "qm": float(fit.qm),
        "qm_pval": float(fit.qmp),
        "r2": None if fit.r2 is None else float(fit.r2),
    }


#: the columns of results.csv in an export (and of what its R and Python scripts write)
RESULT_COLUMNS = (
    "outcome",
    "model",
    "k",
    "estimate",
    "se",
    "ci_lb",
    "ci_ub",
    "pval",
    "tau2",
    "i2",
    "h2",
    "q",
    "q_pval",
    "pi_lb",
    "pi_ub",
)


def _pooled_row(outcome: str, model: str, p: Pooled | dict) -> dict:
    p = asdict(p) if isinstance(p, Pooled) else p
    return {
        "outcome": outcome,
        "model": model,
        "k": p["k"],
        "estimate": p["estimate"],
        "se": p["se"],
        "ci_lb": p["ci_lb"],
        "ci_ub": p["ci_ub"],
        "pval": p["pval"],
        "tau2": p["tau2"],
        "i2": p["i2"],
        "h2": p["h2"],
        "q": p["q"],
        "q_pval": p["q_pval"],
        "pi_lb": p["pi_lb"],
        "pi_ub": p["pi_ub"],
    }


def result_rows(outcome: str, report: Report) -> list[dict]:
    """Every pooled number of a report as rows of RESULT_COLUMNS (analysis scale): the main
    model, the robustness panel (model "DL/z", "REML/knha", …), each subgroup
    ("subgroup:<level>") and the meta-regression coefficients ("metareg:intrcpt",
    "metareg:<moderator>")."""
    rows = [_pooled_row(outcome, "main", report.main)]
    rows += [_pooled_row(outcome, f"{p.method}/{p.test}", p) for p in report.robustness]
    if report.subgroups:
        for level in report.subgroups["levels"]:
            rows.append(
                _pooled_row(outcome, f"subgroup:{level}", report.subgroups["pooled"][level])
            )
    if report.metareg:
        m = report.metareg
        for i, name in enumerate(("intrcpt", m["moderator"])):
            rows.append(
                {
                    "outcome": outcome,
                    "model": f"metareg:{name}",
                    "k": m["k"],
                    "estimate": m["intercept"] if i == 0 else m["slope"],
                    "se": m["se"][i],
                    "ci_lb": m["ci_lb"][i],
                    "ci_ub": m["ci_ub"][i],
                    "pval": m["pval"][i],
                    "tau2": m["tau2"],
                    "i2": None,
                    "h2": None,
                    "q": None,
                    "q_pval": None,
                    "pi_lb": None,
                    "pi_ub": None,
                }
            )
    return rows
