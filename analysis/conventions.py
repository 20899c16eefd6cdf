"""What metafor, meta and RevMan Web would print for the same data, side by side.

Two papers pooling the same studies often report different numbers because their software's
defaults differ (docs/engine.md, "meta and metafor defaults"). `compare` computes the random-
effects result under each convention, on the natural scale for ratios and correlations:

* **metafor** 3.8 defaults: `rma(escalc(...))`: REML, normal-quantile CI and prediction
  interval, I² from tau² with its Q-profile CI.
* **meta** 8.4 defaults: `metabin` (its zero-cell rules) / `metacont` (exact SMD variance) /
  `metacor` / `metagen`: REML, normal CI, prediction interval on t(k-1), I² from Q with the
  Higgins-Thompson CI.
* **RevMan Web** (Cochrane's 2023 defaults for random effects): REML, Hartung-Knapp CI on
  t(k-1) (not truncated), prediction interval on t(k-1), I² from Q; study effects as meta's.

Pure Python on the engine (no Django). For proportions meta's default is the GLMM (metaprop);
RevMan Web does not pool single-group proportions.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from analysis.engine import MetaAnalysisError, confint, predict, rma
from analysis.engine import meta_style as ms
from analysis.engine.proportions import metaprop
from analysis.report import _columns, effect_sizes, meta_fit

CONVENTIONS = ("metafor", "meta", "revman")
LABELS = {"metafor": "metafor (R) defaults", "meta": "meta (R) defaults",
          "revman": "RevMan Web defaults"}  # fmt: skip
#: how each measure is shown: (back-transform, name) on the natural scale
NATURAL = {"RR": (math.exp, "RR"), "OR": (math.exp, "OR"), "ZCOR": (math.tanh, "r"),
           "PLO": (lambda x: 1 / (1 + math.exp(-x)), "proportion")}


@dataclass(frozen=True)
class ConventionResult:
    convention: str
    label: str
    estimate: float | None = None  # natural scale where the measure has one
    ci_lb: float | None = None
    ci_ub: float | None = None
    pi_lb: float | None = None
    pi_ub: float | None = None
    tau2: float | None = None
    i2: float | None = None  # percent
    i2_lb: float | None = None
    i2_ub: float | None = None
    ci_method: str = ""
    pi_method: str = ""
    error: str = ""  # why this convention could not be computed

    def as_dict(self) -> dict:
        return asdict(self)


def _metafor(measure, rows, labels, level, back) -> ConventionResult:
    es = effect_sizes(measure, rows, labels)
    fit = rma(es, method="REML", test="z", level=level)
    pred = predict(fit)
    ci = confint(fit)
    return ConventionResult(
        "metafor", LABELS["metafor"], back(float(fit.b)), back(float(fit.ci_lb)),
        back(float(fit.ci_ub)), back(pred.pi_lb), back(pred.pi_ub), float(fit.tau2),
        float(fit.i2), float(ci.i2[1]), float(ci.i2[2]),
        "normal (z)", "normal (z)",
    )  # fmt: skip


def _from_metaprop(rows: list[dict], labels, level: float, back) -> ConventionResult:
    """meta's metaprop defaults for proportions: the GLMM (logit, ML, 7-point quadrature)."""
    c = _columns(rows, ("xi", "ni"))
    m = metaprop(c["xi"], c["ni"], labels, level=level / 100)
    r, p, h = m.random, m.prediction, m.heterogeneity
    pct = (lambda x: None if x is None or math.isnan(x) else 100 * x)  # noqa: E731
    return ConventionResult(
        "meta", LABELS["meta"], back(r["TE"]), back(r["lower"]), back(r["upper"]),
        back(p["lower.predict"]), back(p["upper.predict"]), h["tau2"], pct(h["I2"]),
        pct(h["lower.I2"]), pct(h["upper.I2"]), "normal (z), GLMM", "t(k − 1)",
    )  # fmt: skip


def _from_meta(convention: str, m, back, ci_method: str) -> ConventionResult:
    pct = (lambda x: None if x is None else 100 * x)  # noqa: E731  (meta stores proportions)
    return ConventionResult(
        convention, LABELS[convention], back(m.TE_random), back(m.lower_random),
        back(m.upper_random), back(m.lower_predict), back(m.upper_predict), m.tau2,
        pct(m.I2), pct(m.lower_I2), pct(m.upper_I2), ci_method, "t(k − 1)",
    )  # fmt: skip


def view_rows(results: list[ConventionResult]) -> list[dict]:
    """The panel's rows as the page shows them (numbers formatted, errors in their row)."""
    from analysis.display import fmt, interval

    rows = []
    for r in results:
        row = {"label": r.label, "convention": r.convention, "error": r.error}
        if not r.error:
            row |= {
                "estimate": fmt(r.estimate), "ci": interval(r.ci_lb, r.ci_ub),
                "pi": interval(r.pi_lb, r.pi_ub) if r.pi_lb is not None else "–",
                "tau2": fmt(r.tau2, 4), "i2": fmt(r.i2, 1),
                "i2_ci": interval(r.i2_lb, r.i2_ub, 1) if r.i2_lb is not None else "–",
                "ci_method": r.ci_method, "pi_method": r.pi_method,
            }  # fmt: skip
        rows.append(row)
    return rows


def compare(measure: str, rows: list[dict], labels: list[str], *, level: float = 95,
            log_scale: bool = False) -> list[ConventionResult]:
    """The random-effects result of `rows` (study inputs as `analysis.report.analyse` takes
    them) under each convention; a convention that cannot be computed carries its error."""
    f, _ = NATURAL.get(measure, (None, None))
    if measure == "GEN" and log_scale:
        f = math.exp

    def back(x):
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return None
        try:
            return float(f(x)) if f else float(x)
        except OverflowError:  # exp() of a huge bound: an interval without an upper end
            return math.inf

    def back_logit(x):  # meta's GLMM works on the logit, whatever the page's measure
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return None
        return 1 / (1 + math.exp(-x)) if -700 < x < 700 else float(x > 0)

    out = []
    try:
        out.append(_metafor(measure, rows, labels, level, back))
    except MetaAnalysisError as exc:
        out.append(ConventionResult("metafor", LABELS["metafor"], error=str(exc)))
    if measure in ("PLO", "PR"):
        try:
            out.append(_from_metaprop(rows, labels, level, back_logit))
        except MetaAnalysisError as exc:
            out.append(ConventionResult("meta", LABELS["meta"], error=str(exc)))
        out.append(ConventionResult("revman", LABELS["revman"],
                                    error="RevMan Web does not pool single-group proportions."))
        return out
    try:
        m = meta_fit(measure, rows, labels, level=level)
        out.append(_from_meta("meta", m, back, "normal (z)"))
        out.append(_from_meta("revman", ms.update(m, method_random_ci="HK"), back,
                              "Hartung-Knapp, t(k − 1)"))  # fmt: skip
    except MetaAnalysisError as exc:
        for name in ("meta", "revman"):
            out.append(ConventionResult(name, LABELS[name], error=str(exc)))
    return out
