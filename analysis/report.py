"""One outcome's meta-analysis from its study rows: every number the analysis page shows, the
export writes and the exported Python script recomputes.

Plain Python on the engine (numpy, scipy; no Django), so that the script shipped in an export
(`analysis/exports.py`) can call `analyse` on the exported CSV and get the page's numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from analysis.engine import (
    MetaAnalysisError,
    confint,
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


#: the conventions an analysis follows (docs/engine.md, "meta and metafor defaults")
CONVENTIONS = ("metafor", "meta", "revman")
CONVENTION_LABELS = {
    "metafor": "as metafor (R)",
    "meta": "as meta (R)",
    "revman": "as RevMan Web",
}
#: what choosing a convention sets on the page: the tau² estimator and the test
CONVENTION_DEFAULTS = {
    "metafor": {"method": "REML", "test": "z"},
    "meta": {"method": "REML", "test": "z"},
    "revman": {"method": "REML", "test": "knha"},
}
#: the engine's (metafor's) random-effects estimators that meta also offers
META_TAU_METHODS = ("REML", "DL", "PM", "ML", "HE", "SJ", "EB", "HS")


@dataclass(frozen=True)
class ZeroCellRules:
    """The continuity correction of 2x2 tables (and proportions): `add` to the cells of the
    tables `to` says (metafor's escalc add/to; meta's incr/method.incr), and whether tables
    without events (or with only events) in both groups are left out (`drop00`; None: as the
    convention does: metafor keeps them, meta and RevMan leave them out)."""

    add: float = 0.5
    to: str = "only0"
    drop00: bool | None = None

    def drops(self, convention: str) -> bool:
        return (convention != "metafor") if self.drop00 is None else bool(self.drop00)


def _checked_rules(rules: ZeroCellRules | None) -> ZeroCellRules:
    rules = rules or ZeroCellRules()
    if not (isinstance(rules.add, (int, float)) and 0 <= rules.add < 1e6):
        raise MetaAnalysisError(
            f"The continuity correction must be a number from 0 (got {rules.add!r}).")
    if rules.to not in ("only0", "if0all", "all", "none"):
        raise MetaAnalysisError(
            f"The correction goes to 'only0', 'if0all', 'all' or 'none' (got {rules.to!r}).")
    return rules


def effect_sizes(measure: str, rows: list[dict], labels: list[str],
                 rules: ZeroCellRules | None = None):
    """escalc on the study rows (each a dict of input fields, as extracted): yi and vi, with
    `rules`' continuity correction (metafor's escalc add/to/drop00)."""
    rules = _checked_rules(rules)
    if measure == "GEN":
        yi = [float(r["yi"]) for r in rows]
        sei = [float(r["sei"]) for r in rows]
        return escalc("GEN", yi=yi, sei=sei, slab=labels)
    args = {}
    for name in ESCALC_FIELDS[measure]:
        args[name] = [float(r[name]) for r in rows]
    if measure in ("RR", "OR", "RD"):
        ai, n1i, ci, n2i = (np.asarray(args[n]) for n in ("ai", "n1i", "ci", "n2i"))
        return escalc(measure, ai=ai, bi=n1i - ai, ci=ci, di=n2i - ci, slab=labels,
                      add=rules.add, to=rules.to, drop00=rules.drops("metafor"))  # fmt: skip
    if measure in ("PLO", "PR"):
        return escalc(measure, **args, slab=labels, add=rules.add, to=rules.to)
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
    model: str = ""  # how the estimate was pooled, when the method does not say it (MH, GLMM)
    # the CI of I² (percent): metafor's from the Q-profile tau² bounds, meta's Higgins-Thompson
    i2_lb: float | None = None
    i2_ub: float | None = None

    @property
    def label(self) -> str:
        if self.model:
            return self.model
        return f"{self.method}{' + Hartung-Knapp' if self.test == 'knha' else ''}"


def _natural(measure, log_scale, estimate, ci_lb, ci_ub, pi_lb, pi_ub) -> dict | None:
    """A pooled result's estimate and bounds back-transformed (`transform_for`), or None."""
    name, f = transform_for(measure, log_scale)
    if f is None:
        return None
    natural = {key: (None if x is None else float(f(x))) for key, x in (
        ("estimate", estimate), ("ci_lb", ci_lb), ("ci_ub", ci_ub), ("pi_lb", pi_lb),
        ("pi_ub", pi_ub))}  # fmt: skip
    natural["transform"] = name
    return natural


def pooled(fit, measure: str, log_scale: bool = False) -> Pooled:
    pred = predict(fit)
    natural = _natural(measure, log_scale, float(fit.b), float(fit.ci_lb), float(fit.ci_ub),
                       _opt(pred.pi_lb), _opt(pred.pi_ub))
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
    convention: str = "metafor"  # whose defaults (CONVENTIONS)
    zero_cells: dict = field(default_factory=dict)  # the continuity-correction rules used

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
    convention: str = "metafor",
    zero_cells: ZeroCellRules | None = None,
) -> Report:
    """The whole analysis of one outcome. `rows`: per study a dict of its input fields (see
    ESCALC_FIELDS); `groups`: a subgroup label per study (None: not in any); `covariate`: a
    number per study for the meta-regression (None: missing, that study left out of it).

    `convention` ("metafor", "meta", "revman") decides the study effects, the common effect,
    the prediction interval, I², leave-one-out, trim and fill and the small-study test (see
    `_metafor_core` and `_meta_core`); `method` and `test` stay the user's choice.
    `zero_cells`: the continuity correction of 2x2 tables and proportions."""
    if len(labels) != len(rows):
        raise MetaAnalysisError(f"{len(labels)} labels for {len(rows)} rows.")
    if len(rows) < 2:
        raise MetaAnalysisError(
            f"A meta-analysis needs at least 2 studies; this outcome has {len(rows)}."
        )
    if convention not in CONVENTIONS:
        raise MetaAnalysisError(
            f"Unknown convention {convention!r}; use one of {', '.join(CONVENTIONS)}.")
    rules = _checked_rules(zero_cells)
    notes: list[str] = []
    core = (_metafor_core if convention == "metafor" else _meta_core)(
        measure, rows, list(labels), method, test, level, log_scale, rules, convention, notes)
    slab, yi, vi = core["labels"], np.asarray(core["yi"]), np.asarray(core["vi"])
    kept = {lab: i for i, lab in enumerate(labels)}
    idx = [kept[lab] for lab in slab]  # the studies pooled (a convention may leave some out)
    if groups is not None:
        groups = [groups[i] for i in idx]
    if covariate is not None:
        covariate = [covariate[i] for i in idx]
    tau = method
    if convention != "metafor" and (groups is not None or covariate is not None):
        notes.append("Subgroups and meta-regression: metafor's models on these study "
                     "effects, as meta's subgroup analysis and metareg fit them.")
    report_subgroups = None
    if groups is not None:
        report_subgroups = _subgroups(yi, vi, slab, groups, tau, test, level, measure,
                                      log_scale, notes)  # fmt: skip
    report_metareg = None
    if covariate is not None:
        report_metareg = _metareg(yi, vi, slab, covariate, covariate_name, tau, test, level,
                                  notes)  # fmt: skip
    main = core["main"]
    return Report(
        measure=measure,
        method=method,
        test=test,
        level=level,
        labels=list(slab),
        yi=yi.tolist(),
        vi=vi.tolist(),
        weights=list(core["weights"]),
        main=main,
        robustness=core["panel"],
        robustness_changes=any(p.crosses_null != main.crosses_null for p in core["panel"]),
        leave_one_out=core["loo"],
        egger=core["egger"],
        trimfill=core["trimfill"],
        subgroups=report_subgroups,
        metareg=report_metareg,
        notes=notes,
        robustness_failed=core["failed"],
        panel_errors=core["panel_errors"],
        convention=convention,
        zero_cells={"add": rules.add, "to": rules.to, "drop00": rules.drops(convention)},
    )


def _metafor_core(measure, rows, labels, method, test, level, log_scale, rules, convention,
                  notes) -> dict:
    """metafor's defaults: escalc's study effects, rma, normal prediction interval, I² from
    tau², leave1out, regtest and trimfill of the fitted model."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # drop00: said in the notes below
        es = effect_sizes(measure, rows, labels, rules)
    if es.dropped:
        notes.append(
            f"Left out as double-zero tables (no events, or only events, in both groups): "
            f"{', '.join(es.dropped)}.")
    if len(es.yi) < 2:
        raise MetaAnalysisError(
            f"A meta-analysis needs at least 2 studies; {len(es.yi)} remain after leaving out "
            "the double-zero tables.")
    if es.corrected:
        where = {"only0": "every cell of", "all": "every cell of",
                 "if0all": "every cell of"}.get(rules.to, "")
        notes.append(
            f"{rules.add:g} added to {where} {len(es.corrected)} 2×2 table(s) or proportion(s) "
            f"({', '.join(es.corrected)}), as metafor's escalc does (to = \"{rules.to}\")."
        )
    fit = rma(es, method=method, test=test, level=level)
    main = pooled(fit, measure, log_scale)
    if method != "FE":
        try:
            ci = confint(fit)
            main = replace(main, i2_lb=_opt(ci.i2[1]), i2_ub=_opt(ci.i2[2]))
        except MetaAnalysisError as exc:
            notes.append(f"No confidence interval for I²: {exc}")
    panel, failed = [], []
    for m in ROBUSTNESS_METHODS:
        for t in ("z", "knha"):
            try:
                panel.append(pooled(rma(es, method=m, test=t, level=level), measure, log_scale))
            except MetaAnalysisError as exc:
                # metafor fails the same way (e.g. Paule-Mandel's "tau2.max too low" on
                # dat.curtis1998): the panel says so in that row; the rest is still computed.
                failed.append(_failed(m, t, exc))
    _failed_notes(failed, notes)

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
            egger = {"statistic": eg.zval, "pval": eg.pval, "dfs": eg.dfs, "limit": eg.est,
                     "test": "Egger's regression test",
                     "symbol": "t" if test == "knha" else "z"}  # fmt: skip
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
    return {"labels": list(es.slab or labels), "yi": es.yi, "vi": es.vi,
            "weights": (100 * np.asarray(fit.weights) / total).tolist(), "main": main,
            "panel": panel, "failed": failed, "loo": loo, "egger": egger, "trimfill": tf,
            "panel_errors": panel_errors}  # fmt: skip


def _failed(method: str, test: str, exc: Exception) -> dict:
    label = f"{method}{' + Hartung-Knapp' if test == 'knha' else ''}"
    return {"method": method, "test": test, "label": label, "error": str(exc)}


def _failed_notes(failed: list[dict], notes: list[str]) -> None:
    for m in dict.fromkeys(f["method"] for f in failed):
        error = next(f["error"] for f in failed if f["method"] == m)
        notes.append(f"Robustness: {m} not fitted: {error}")


def _columns(rows: list[dict], names) -> dict[str, np.ndarray]:
    return {n: np.array([float(r[n]) for r in rows]) for n in names}


def meta_fit(measure: str, rows: list[dict], labels, *, level: float = 95,
             method_tau: str = "REML", test: str = "z", rules: ZeroCellRules | None = None,
             drop00: bool = True):
    """R meta's fit of the study rows with its defaults (`metabin` with Mantel-Haenszel and
    meta's zero-cell rules, `metacont` with the exact SMD variance, `metacor`, `metagen`, for
    proportions `metagen` of escalc's logits or proportions): a `meta_style.MetaResult`."""
    from analysis.engine import meta_style as ms

    rules = _checked_rules(rules)
    lv = level / 100
    # no τ² interval is shown from these fits: the Q-profile one (a few ms) stands in for
    # Jackson's (meta's default with DL, seconds for large k)
    opts = {"level": lv, "level_ma": lv, "level_predict": lv, "level_hetstat": lv,
            "method_tau": method_tau, "method_tau_ci": "QP",
            "method_random_ci": "HK" if test == "knha" else "classic"}  # fmt: skip
    if measure in ("RR", "OR", "RD"):
        c = _columns(rows, ("ai", "n1i", "ci", "n2i"))
        incr = 0.0 if rules.to == "none" else rules.add
        how = "only0" if rules.to == "none" else rules.to
        return ms.metabin(c["ai"], c["n1i"], c["ci"], c["n2i"], sm=measure, studlab=labels,
                          incr=incr, method_incr=how, allstudies=not drop00,
                          **opts)  # fmt: skip
    if measure in ("SMD", "MD"):
        c = _columns(rows, ("n1i", "m1i", "sd1i", "n2i", "m2i", "sd2i"))
        return ms.metacont(c["n1i"], c["m1i"], c["sd1i"], c["n2i"], c["m2i"], c["sd2i"],
                           sm=measure, studlab=labels, **opts)  # fmt: skip
    if measure in ("ZCOR", "COR"):
        c = _columns(rows, ("ri", "ni"))
        return ms.metacor(c["ri"], c["ni"], sm=measure, studlab=labels, **opts)
    if measure == "GEN":
        c = _columns(rows, ("yi", "sei"))
        return ms.metagen(c["yi"], c["sei"], studlab=labels, **opts)
    if measure in ("PLO", "PR"):
        es = effect_sizes(measure, rows, labels, rules)
        # metaprop tests no pooled effect (null.effect = NA)
        return ms.metagen(es.yi, np.sqrt(es.vi), sm="PLOGIT" if measure == "PLO" else "",
                          studlab=labels, null_effect=None, **opts)  # fmt: skip
    raise MetaAnalysisError(f"meta's defaults for {measure} are not available here.")


def _nan(x) -> float:
    return math.nan if x is None else float(x)


def _meta_pooled(m, measure, log_scale, method, test, level, *, common: bool,
                 model: str = "") -> Pooled:
    """A Pooled from meta's quantities (I² from Q, prediction interval on t(k - 1))."""
    v = m._values
    s = "common" if common else "random"
    est, lo, hi = float(v[f"TE.{s}"]), float(v[f"lower.{s}"]), float(v[f"upper.{s}"])
    pi_lb = None if common else _opt(v["lower.predict"])
    pi_ub = None if common else _opt(v["upper.predict"])
    natural = _natural(measure, log_scale, est, lo, hi, pi_lb, pi_ub)
    h = _nan(v["H"])
    return Pooled(
        method=method, test=test, level=level, k=int(m.k), estimate=est,
        se=float(v[f"seTE.{s}"]), statistic=_nan(v[f"statistic.{s}"]),
        pval=_nan(v[f"pval.{s}"]), ci_lb=lo, ci_ub=hi, pi_lb=pi_lb, pi_ub=pi_ub,
        tau2=0.0 if common else float(v["tau2"]),
        tau=0.0 if common else float(v["tau"]), i2=100 * _nan(v["I2"]), h2=h * h,
        q=float(v["Q"]), q_df=int(v["df.Q"]), q_pval=_nan(v["pval.Q"]),
        natural=natural, crosses_null=bool(lo <= null_value(measure) <= hi), model=model,
        i2_lb=None if v["lower.I2"] is None else 100 * v["lower.I2"],
        i2_ub=None if v["upper.I2"] is None else 100 * v["upper.I2"],
    )  # fmt: skip


def _meta_core(measure, rows, labels, method, test, level, log_scale, rules, convention,
               notes) -> dict:
    """meta's (and RevMan Web's) conventions: meta's study effects and zero-cell rules, the
    common effect by Mantel-Haenszel for 2x2 tables, I² from Q with the Higgins-Thompson CI,
    the prediction interval on t(k - 1), leave-one-out by metainf, trim and fill on the
    common-effect model (meta's trimfill), Egger's or (odds ratios) Harbord's test with
    meta's k.min = 10; for proportions under meta, the random-intercept logistic GLMM
    (metaprop's default) for the pooled estimate."""
    from analysis.engine import meta_style as ms

    who = CONVENTION_LABELS[convention]
    if measure in ("PLO", "PR") and convention == "revman":
        raise MetaAnalysisError(
            "RevMan Web does not pool single-group proportions; choose the metafor or meta "
            "convention for this outcome.")
    fe = method == "FE"
    tau = "REML" if fe else method
    if tau not in META_TAU_METHODS:
        raise MetaAnalysisError(f"meta does not offer the {method} estimator.")
    drop = rules.drops(convention)
    m = meta_fit(measure, rows, labels, level=level, method_tau=tau, test=test, rules=rules,
                 drop00=drop)
    binary = measure in ("RR", "OR", "RD")
    model = ""
    if fe and binary:
        model = "Common effect (Mantel-Haenszel)"
    elif fe:
        model = "Common effect (inverse variance)"
    main = _meta_pooled(m, measure, log_scale, method, test, level, common=fe, model=model)
    weights = np.asarray(m._values["w.common" if fe else "w.random"], dtype=float)
    if binary:
        v = m._values
        if v["k.all"] > m.k:
            left = [lab for lab in labels if lab not in set(m.studlab)]
            notes.append(
                f"Left out, as {who.removeprefix('as ')} does: {', '.join(left)} (no events, or "
                "only events, in both groups).")
        corrected = [lab for lab, e in zip(m.studlab, v["incr.e"], strict=True) if e > 0]
        if corrected:
            what = ("to the events and the group sizes" if measure == "RR"
                    else "to every cell")  # fmt: skip
            notes.append(
                f"{rules.add:g} added {what} of {len(corrected)} table(s) with a zero cell "
                f"({', '.join(corrected)}), as meta's metabin does.")
    if measure == "PLO" and convention == "meta":
        main, weights = _glmm_main(rows, labels, m, method, test, level, log_scale, fe, notes)
    notes.extend(m.notes)

    panel, failed = [], []
    for tm in ROBUSTNESS_METHODS:
        for t in ("z", "knha"):
            try:
                u = ms.update(m, method_tau=tm, method_tau_ci="QP",
                              method_random_ci="HK" if t == "knha" else "classic")
                panel.append(_meta_pooled(u, measure, log_scale, tm, t, level, common=False))
            except MetaAnalysisError as exc:
                failed.append(_failed(tm, t, exc))
    _failed_notes(failed, notes)

    panel_errors: dict[str, str] = {}
    loo = []
    if m.k >= 3:
        try:
            inf = ms.metainf(m, pooled="common" if fe else "random")
            for i, lab in enumerate(m.studlab):
                r = inf.rows
                loo.append({"omitted": lab, "estimate": r["TE"][i], "ci_lb": r["lower"][i],
                            "ci_ub": r["upper"][i], "pval": _nan(r["pval"][i]),
                            "tau2": r["tau2"][i], "i2": 100 * _nan(r["I2"][i]),
                            "q": None})  # fmt: skip
        except MetaAnalysisError as exc:
            panel_errors["leave_one_out"] = str(exc)
            notes.append(f"Leave one out not computed: {exc}")
    egger = tf = None
    if m.k >= 3:
        try:
            b = ms.metabias(m)
            if b.skipped:
                raise MetaAnalysisError(
                    f"meta runs no test of funnel asymmetry with fewer than {b.k_min} studies "
                    f"(k = {b.k}; meta's k.min = {b.k_min}).")
            name = {"Harbord": "Harbord's test", "Egger": "Egger's regression test",
                    "Peters": "Peters' test"}[b.method_bias]  # fmt: skip
            egger = {"statistic": b.statistic, "pval": b.pval, "dfs": b.df,
                     "limit": b.intercept, "test": name, "symbol": "t"}  # fmt: skip
        except MetaAnalysisError as exc:
            panel_errors["egger"] = str(exc)
            notes.append(f"Small-study test not computed: {exc}")
        try:
            base = ms.update(m, method_tau="ML") if (
                measure == "PLO" and convention == "meta") else m
            t = ms.trimfill(base)
            s = "common" if fe else "random"
            tf = {"k0": t.k0, "side": "left" if t.left else "right",
                  "filled_yi": t.filled_TE.tolist(),
                  "filled_vi": (t.filled_seTE**2).tolist(),
                  "estimate": float(t.fit._values[f"TE.{s}"]),
                  "ci_lb": float(t.fit._values[f"lower.{s}"]),
                  "ci_ub": float(t.fit._values[f"upper.{s}"])}  # fmt: skip
        except MetaAnalysisError as exc:
            panel_errors["trimfill"] = str(exc)
            notes.append(f"Trim and fill not computed: {exc}")
    return {"labels": list(m.studlab), "yi": np.asarray(m.TE), "vi": np.asarray(m.seTE) ** 2,
            "weights": (100 * weights / weights.sum()).tolist(), "main": main,
            "panel": panel, "failed": failed, "loo": loo, "egger": egger, "trimfill": tf,
            "panel_errors": panel_errors}  # fmt: skip


def _glmm_main(rows, labels, m, method, test, level, log_scale, fe, notes):
    """metaprop's default for proportions: the binomial-normal GLMM (ML; common effect: its
    EE fit). The GLMM has no study weights: the forest plot sizes studies by their
    inverse-variance weights."""
    from analysis.engine.proportions import metaprop

    c = _columns(rows, ("xi", "ni"))
    if method not in ("REML", "ML", "FE"):
        notes.append(f"meta's GLMM estimates τ² by maximum likelihood; {method} applies to "
                     "the inverse-variance fits of the robustness panel.")
    g = metaprop(c["xi"], c["ni"], labels, level=level / 100,
                 method_random_ci="HK" if test == "knha" else "classic")
    s = g.common if fe else g.random
    est, lo, hi = float(s["TE"]), float(s["lower"]), float(s["upper"])
    pi_lb = None if fe else _opt(g.prediction["lower.predict"])
    pi_ub = None if fe else _opt(g.prediction["upper.predict"])
    natural = _natural("PLO", log_scale, est, lo, hi, pi_lb, pi_ub)
    h = g.heterogeneity
    q = h["Q"][0] if isinstance(h["Q"], (list, tuple)) else h["Q"]
    pq = h["pval.Q"][0] if isinstance(h["pval.Q"], (list, tuple)) else h["pval.Q"]
    hh = _nan(h["H"])
    main = Pooled(
        method=method, test=test, level=level, k=int(m.k), estimate=est, se=float(s["seTE"]),
        statistic=math.nan, pval=math.nan, ci_lb=lo, ci_ub=hi, pi_lb=pi_lb, pi_ub=pi_ub,
        tau2=0.0 if fe else float(h["tau2"]), tau=0.0 if fe else float(h["tau"]),
        i2=100 * _nan(h["I2"]), h2=hh * hh, q=float(q), q_df=int(h["df.Q"]),
        q_pval=_nan(pq), natural=natural, crosses_null=False,
        model="Common effect (GLMM)" if fe else "Random effects (GLMM, ML)",
        i2_lb=100 * _nan(h["lower.I2"]), i2_ub=100 * _nan(h["upper.I2"]),
    )  # fmt: skip
    notes.append("Pooled by the random-intercept logistic model (GLMM), metaprop's default; "
                 "Q is its Wald test for heterogeneity. The study weights shown, the "
                 "robustness panel, leave one out and trim and fill are the inverse-variance "
                 "model's on the study logits (as meta's trimfill and metabias; meta's "
                 "metainf refits the GLMM, k fits: meta_style.metainf of a metaprop fit).")
    w = np.asarray(m._values["w.common" if fe else "w.random"], dtype=float)
    return main, w


def _subgroups(yi, vi, labels, groups, method, test, level, measure, log_scale, notes):
    keep = np.array([g not in (None, "") for g in groups])
    if keep.sum() < 2:
        notes.append("Subgroups: fewer than 2 studies have a subgroup label.")
        return None
    if not keep.all():
        left = [lab for lab, k in zip(labels, keep, strict=True) if not k]
        notes.append(f"Subgroups: left out for want of a label: {', '.join(left)}.")
    y, v = yi[keep], vi[keep]
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


def _metareg(yi, vi, labels, covariate, name, method, test, level, notes):
    x = np.array([np.nan if c in (None, "") else float(c) for c in covariate])
    keep = ~np.isnan(x)
    if keep.sum() < 3:
        notes.append(f"Meta-regression on {name}: fewer than 3 studies have a value.")
        return None
    if not keep.all():
        left = [lab for lab, k in zip(labels, keep, strict=True) if not k]
        notes.append(f"Meta-regression on {name}: left out for want of a value: {', '.join(left)}.")
    try:
        fit = rma(yi[keep], vi[keep], mods=x[keep], method=method, test=test, level=level)
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
