"""Entry points that think like R's meta package (meta 8.4-0 defaults).

``metagen``, ``metacont`` and ``metacor`` return a :class:`MetaResult` carrying meta's
quantities under meta's names: as attributes with underscores (``m.TE_common``,
``m.lower_I2``, ``m.df_Q``) and with meta's dotted names from ``m.as_meta_dict()``
(``"TE.common"``, ``"lower.I2"``); ``m.as_meta_json()`` gives the nested layout of the
reference files in tests/data/meta_pkg. ``metabias``, ``trimfill``, ``metainf`` and
``update`` follow meta's functions of the same names.

meta's defaults, all applied here (see docs/engine.md, "meta and metafor defaults"):
inverse-variance common effect; tau^2 by REML (metafor's ``rma.uni``, default control);
Q-profile tau^2 CI; I^2 and H from Q with Higgins-Thompson CIs; classic (normal) CI of the
random effect, or Hartung-Knapp with ``method_random_ci="HK"`` (ad hoc ``adhoc_hakn_ci``
"se"/"ci"/"IQWiG6"); prediction interval with t(k-1) (``method_predict="V"``; "HTS": t(k-2); "S":
normal; "HK"); levels 0.95; Egger's test with k.min = 10; trim and fill L0 on the
common-effect model, adjusted fit by REML on k + k0 studies; leave-one-out of the common
effect. meta's option names are accepted with underscores (``method_random_ci``) or, through
``**{"method.random.ci": "HK"}``, with dots.

Adding ``metabin``/``metaprop`` means: compute the study ``TE``/``seTE`` (their own escalc),
optionally a common effect other than inverse variance (Mantel-Haenszel, Peto, GLMM), and
call :func:`_build` with ``common=CommonFit(...)``, ``settings`` extras and the measure's
back-transformation in ``BACKTRANSF`` (or ``backtransf=f(x, study)`` when it depends on
more than x, as PFT's harmonic mean); ``metabias`` takes new tests in ``BIAS_TESTS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from analysis.engine import bias as _bias
from analysis.engine._core import pnorm_two_sided, pt_two_sided, qnorm_upper
from analysis.engine.effect_sizes import escalc
from analysis.engine.errors import MetaAnalysisError, study_name
from analysis.engine.heterogeneity import hetstat_q, kenward_roger_se, rb_ci
from analysis.engine.intervals import confint, prediction_interval, random_ci
from analysis.engine.model import MAGNITUDE, METHODS, rma

__all__ = [
    "BACKTRANSF",
    "BIAS_TESTS",
    "CommonFit",
    "MetaBiasResult",
    "MetaInfResult",
    "MetaResult",
    "MetaSettings",
    "MetaTrimfillResult",
    "metabias",
    "metacont",
    "metacor",
    "metagen",
    "metainf",
    "trimfill",
    "update",
]

# meta's back-transformations of pooled and study values (``backtransf = TRUE``)
BACKTRANSF: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "RR": np.exp, "OR": np.exp, "HR": np.exp, "ROM": np.exp, "IRR": np.exp,
    "ZCOR": np.tanh,
    "PLOGIT": lambda x: 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float))),
    "PLN": np.exp,
}


def _level(value, name: str) -> float:
    try:
        lvl = float(value)
    except (TypeError, ValueError):
        raise MetaAnalysisError(f"{name} must be a number in (0, 1); got {value!r}.") from None
    if lvl > 1:
        lvl /= 100.0
    if not 0 < lvl < 1:
        raise MetaAnalysisError(f"{name} must be in (0, 1) (or a percentage); got {value!r}.")
    return lvl


@dataclass(frozen=True)
class MetaSettings:
    """meta's options for a fit (meta's names with underscores). ``extra`` holds the
    function's own settings (``method.smd``, ``exact.smd``, ...) reported under
    ``settings``."""

    sm: str = ""
    method: str = "Inverse"
    method_tau: str = "REML"
    method_tau_ci: str | None = None  # None: meta's default, "J" for DL, "QP" otherwise
    method_I2: str = "Q"
    method_common_ci: str = "classic"
    method_random_ci: str = "classic"
    adhoc_hakn_ci: str = ""
    method_predict: str = "V"
    level: float = 0.95
    level_ma: float = 0.95
    level_predict: float = 0.95
    level_hetstat: float = 0.95
    method_bias: str = "Egger"
    backtransf: bool = True
    null_effect: float | None = 0.0
    control: dict | None = None
    extra: dict = field(default_factory=dict)

    def checked(self) -> MetaSettings:
        tau = str(self.method_tau).upper()
        if tau not in METHODS or tau in ("FE", "EE"):
            raise MetaAnalysisError(
                f"Unknown method_tau {self.method_tau!r}; use one of REML, DL, ML, PM, HE, "
                "SJ, EB, HS.")
        tau_ci = self.method_tau_ci or ("J" if tau == "DL" else "QP")
        if tau_ci not in ("QP", "J"):
            raise MetaAnalysisError(
                f"method_tau_ci {self.method_tau_ci!r} is not implemented; use 'QP' "
                "(Q-profile) or 'J' (Jackson's generalised Q, weights 1/seTE).")
        if self.method_I2 != "Q":
            raise MetaAnalysisError("Only method_I2 = 'Q' (meta's default) is implemented.")
        if self.method_random_ci not in ("classic", "HK"):
            raise MetaAnalysisError(
                f"Unknown method_random_ci {self.method_random_ci!r}; use 'classic' or 'HK'.")
        if self.adhoc_hakn_ci not in ("", "se", "ci", "IQWiG6"):
            raise MetaAnalysisError(
                f"Unknown adhoc_hakn_ci {self.adhoc_hakn_ci!r}; use '', 'se', 'ci' or "
                "'IQWiG6'.")
        pred = {"V": "V", "HTS": "HTS", "S": "S", "HK": "HK"}.get(str(self.method_predict))
        if pred is None:
            raise MetaAnalysisError(
                f"Unknown method_predict {self.method_predict!r}; use 'V', 'HTS', 'S' or 'HK'.")
        if self.method_bias not in BIAS_TESTS:
            raise MetaAnalysisError(
                f"Unknown method_bias {self.method_bias!r}; use one of "
                f"{', '.join(BIAS_TESTS)}.")
        if self.null_effect is not None and not (
                isinstance(self.null_effect, (int, float)) and math.isfinite(self.null_effect)):
            raise MetaAnalysisError(
                "null_effect must be a finite number, or None for no test (meta's NA).")
        return replace(
            self, method_tau=tau, method_tau_ci=tau_ci, level=_level(self.level, "level"),
            level_ma=_level(self.level_ma, "level_ma"),
            level_predict=_level(self.level_predict, "level_predict"),
            level_hetstat=_level(self.level_hetstat, "level_hetstat"),
        )

    def as_meta_dict(self) -> dict:
        out = {
            "sm": self.sm, "method": self.method, "method.random": "Inverse",
            "method.tau": self.method_tau, "method.tau.ci": self.method_tau_ci,
            "method.I2": self.method_I2, "method.common.ci": self.method_common_ci,
            "method.random.ci": self.method_random_ci, "adhoc.hakn.ci": self.adhoc_hakn_ci,
            "method.predict": self.method_predict, "adhoc.hakn.pi": "",
            "level": self.level, "level.ma": self.level_ma,
            "level.predict": self.level_predict, "level.hetstat": self.level_hetstat,
            "method.bias": self.method_bias, "backtransf": self.backtransf,
            "null.effect": self.null_effect, "three.level": False,
        }
        out.update(self.extra)
        return out


_OPTION_NAMES = {
    "method_tau", "method_tau_ci", "method_I2", "method_random_ci", "adhoc_hakn_ci",
    "method_predict", "level", "level_ma", "level_predict", "level_hetstat", "method_bias",
    "backtransf", "null_effect", "control",
}


def _options(opts: dict) -> dict:
    """meta's option names with dots or underscores -> MetaSettings fields."""
    out = {}
    for key, value in opts.items():
        name = key.replace(".", "_")
        if name == "hakn":  # meta's old argument: hakn = TRUE
            name, value = "method_random_ci", "HK" if value else "classic"
        if name not in _OPTION_NAMES:
            raise MetaAnalysisError(f"Unknown option {key!r}.")
        out[name] = value
    return out


@dataclass(frozen=True)
class CommonFit:
    """A common-effect estimate other than inverse variance (Mantel-Haenszel, Peto, GLMM),
    given by the entry point that computes it: ``TE``, ``seTE`` and the study weights ``w``."""

    TE: float
    seTE: float
    w: np.ndarray


class MetaResult:
    """A meta-analysis as R's meta reports it. Every quantity is an attribute with meta's
    name, dots as underscores (``TE_common``, ``seTE_random``, ``lower_predict``, ``tau2``,
    ``lower_I2``, ``df_Q``, ``w_common``, ``seTE_hakn_ci``, ...); ``as_meta_dict()`` gives
    them under meta's dotted names, ``as_meta_json()`` in meta's nested reference layout.
    I^2 and its bounds are proportions (0-1) as meta stores them. None stands for meta's NA
    (e.g. ``df_random`` of a classic CI, meaning the normal quantile)."""

    def __init__(self, values: dict, settings: MetaSettings, inputs: dict, notes: list[str]):
        self._values = values
        self.settings = settings
        self._inputs = inputs
        self.notes = tuple(notes)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        values = self.__dict__.get("_values", {})
        key = name.replace("_", ".")
        if key in values:
            return values[key]
        raise AttributeError(f"MetaResult has no {name!r} (meta's {key!r}).")

    def __dir__(self):
        return sorted(set(super().__dir__()) | {k.replace(".", "_") for k in self._values})

    def __repr__(self) -> str:
        v = self._values
        return (f"MetaResult(sm={self.settings.sm!r}, k={v['k']}, TE.common={v['TE.common']:.6g}, "
                f"TE.random={v['TE.random']:.6g}, tau2={v['tau2']:.6g}, I2={v['I2']})")

    @property
    def k(self) -> int:
        return self._values["k"]

    def _has_backtransf(self) -> bool:
        return self.settings.backtransf and (
            self._inputs.get("backtransf") is not None or self.settings.sm in BACKTRANSF)

    def backtransf(self, x, *, study: bool = False):
        """meta's back-transformation for ``sm`` (exp for RR/OR, tanh for ZCOR, ...); the
        identity for measures meta does not back-transform. An entry point may give its own
        (``_build(backtransf=f)``, called as ``f(x, study)``: e.g. the Freeman-Tukey inverse
        with each study's n for study values and the harmonic mean of n for pooled ones)."""
        if x is None or not self._has_backtransf():
            return x
        custom = self._inputs.get("backtransf")
        if custom is not None:
            return custom(x, study)
        out = BACKTRANSF[self.settings.sm](np.asarray(x, dtype=float))
        return float(out) if np.ndim(out) == 0 else out

    def as_meta_dict(self) -> dict:
        """meta's quantities under meta's dotted names (arrays as lists)."""
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                for k, v in self._values.items()}

    def as_meta_json(self, *, studies: bool = True) -> dict:
        """The nested layout of tests/data/meta_pkg's ``meta`` block."""
        v = self.as_meta_dict()
        bt = self._has_backtransf()

        def with_bt(block: dict, names: dict[str, str], study: bool = False) -> dict:
            if bt:
                for out, src in names.items():
                    value = self.backtransf(v[src], study=study)
                    block[out] = value.tolist() if isinstance(value, np.ndarray) else value
            return block

        out: dict = {
            "counts": {"k": v["k"], "k.all": v["k.all"], "k.study": v["k.study"],
                       "k.TE": v["k.TE"]},
            "settings": self.settings.as_meta_dict(),
        }
        if "k.MH" in v:
            out["counts"]["k.MH"] = v["k.MH"]
        if studies:
            st = {"studlab": v["studlab"]}
            for name in ("incr.e", "incr.c"):
                if name in v:
                    st[name] = v[name]
            for name in ("TE", "seTE", "lower", "upper", "statistic", "pval", "w.common",
                         "w.random"):
                st[name] = v[name]
            for name in ("w.common", "w.random"):
                w = np.asarray(v[name], dtype=float)
                st[f"{name}_percent"] = (100 * w / w.sum()).tolist()
            out["studies"] = with_bt(st, {"TE_backtransf": "TE", "lower_backtransf": "lower",
                                          "upper_backtransf": "upper"}, study=True)
        common = {n: v[f"{n}.common"] for n in ("TE", "seTE", "lower", "upper", "statistic",
                                                  "pval")}
        common["method.common.ci"] = self.settings.method_common_ci
        out["common"] = with_bt(common, {"TE_backtransf": "TE.common",
                                         "lower_backtransf": "lower.common",
                                         "upper_backtransf": "upper.common"})
        random = {n: v[f"{n}.random"] for n in ("TE", "seTE", "lower", "upper", "statistic",
                                                  "pval")}
        for name in ("df.random", "seTE.classic", "seTE.hakn.ci", "df.hakn.ci",
                     "seTE.hakn.adhoc.ci", "seTE.kero", "df.kero"):
            random[name] = v[name]
        random["method.random.ci"] = self.settings.method_random_ci
        random["adhoc.hakn.ci"] = self.settings.adhoc_hakn_ci
        out["random"] = with_bt(random, {"TE_backtransf": "TE.random",
                                         "lower_backtransf": "lower.random",
                                         "upper_backtransf": "upper.random"})
        pred = {n: v[n] for n in ("lower.predict", "upper.predict", "seTE.predict",
                                  "df.predict", "seTE.hakn.pi", "df.hakn.pi")}
        pred.update({"method.predict": self.settings.method_predict, "adhoc.hakn.pi": "",
                     "level.predict": self.settings.level_predict})
        out["prediction"] = with_bt(pred, {"lower_backtransf": "lower.predict",
                                           "upper_backtransf": "upper.predict"})
        het = {n: v[n] for n in (
            "tau2", "se.tau2", "lower.tau2", "upper.tau2", "tau", "lower.tau", "upper.tau",
            "sign.lower.tau", "sign.upper.tau", "I2", "lower.I2", "upper.I2", "H", "lower.H",
            "upper.H", "Rb", "lower.Rb", "upper.Rb", "Q", "df.Q", "pval.Q")}
        het.update({"method.tau": self.settings.method_tau,
                    "method.tau.ci": self.settings.method_tau_ci,
                    "method.I2": self.settings.method_I2})
        for name in ("I2", "lower.I2", "upper.I2"):
            het[f"{name}_percent"] = None if v[name] is None else 100 * v[name]
        for name in ("Q.CMH", "df.Q.CMH", "pval.Q.CMH"):
            if name in v:
                het[name] = v[name]
        out["heterogeneity"] = het
        return out


def _finite_array(x, name: str, k: int | None, slab) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise MetaAnalysisError(f"{name} must be numbers.") from None
    if k is not None and a.shape[0] != k:
        raise MetaAnalysisError(f"{name} has {a.shape[0]} values, expected {k}.")
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        i = int(bad[0])
        raise MetaAnalysisError(f"{name} is missing or not finite in {study_name(i, slab)}.")
    return a


def _build(TE, seTE, studlab, settings: MetaSettings, *, common: CommonFit | None = None,
           fn: str = "metagen", backtransf: Callable | None = None) -> MetaResult:
    """Pool study effects TE (analysis scale) with standard errors seTE as meta does."""
    settings = settings.checked()
    slab = None if studlab is None else tuple(str(s) for s in studlab)
    y = _finite_array(TE, "TE", None, slab)
    k = int(y.shape[0])
    if k == 0:
        raise MetaAnalysisError("No studies to pool.")
    if k == 1:
        who = study_name(0, slab)
        raise MetaAnalysisError(
            f"Only one study ({who}): a meta-analysis needs at least 2 studies.")
    if slab is not None and len(slab) != k:
        raise MetaAnalysisError(f"studlab has {len(slab)} labels for {k} studies.")
    se = _finite_array(seTE, "seTE", k, slab)
    bad = np.flatnonzero(se <= 0)
    if bad.size:
        i = int(bad[0])
        raise MetaAnalysisError(
            f"seTE must be > 0 in {study_name(i, slab)} (seTE = {se[i]:g}): an inverse-variance "
            "weight needs a positive standard error.")
    labels = slab if slab is not None else tuple(str(i + 1) for i in range(k))
    notes: list[str] = []
    v = se**2
    big = (np.abs(y) > MAGNITUDE) | (v > MAGNITUDE) | (v < 1 / MAGNITUDE)
    if big.any():  # as rma(): squares and weights would overflow double precision
        i = int(np.flatnonzero(big)[0])
        raise MetaAnalysisError(
            f"The numbers of {study_name(i, slab)} (TE = {y[i]:g}, seTE = {se[i]:g}) are too "
            f"large or too small to compute with: effects up to {MAGNITUDE:g} in absolute value "
            f"and variances between {1 / MAGNITUDE:g} and {MAGNITUDE:g}; change the unit.")
    z_study = qnorm_upper((1 - settings.level) / 2)
    z_ma = qnorm_upper((1 - settings.level_ma) / 2)
    null = settings.null_effect  # None: no test (metaprop's null.effect = NA)
    stat_s = None if null is None else (y - null) / se

    vals: dict = {"studlab": list(labels), "TE": y, "seTE": se,
                  "lower": y - z_study * se, "upper": y + z_study * se,
                  "statistic": [None] * k if null is None else stat_s,
                  "pval": [None] * k if null is None else pnorm_two_sided(stat_s),
                  "k": k, "k.all": k, "k.study": k, "k.TE": k, "sm": settings.sm}

    # common effect: inverse variance unless the entry point gives another estimator
    w_iv = 1.0 / v
    te_iv = float(np.sum(w_iv * y) / np.sum(w_iv))
    if common is None:
        common = CommonFit(te_iv, float(1.0 / math.sqrt(np.sum(w_iv))), w_iv)
    stat_c = None if null is None else (common.TE - null) / common.seTE
    vals.update({
        "TE.common": common.TE, "seTE.common": common.seTE,
        "lower.common": common.TE - z_ma * common.seTE,
        "upper.common": common.TE + z_ma * common.seTE,
        "statistic.common": stat_c,
        "pval.common": None if stat_c is None else float(pnorm_two_sided(stat_c)),
        "w.common": np.asarray(common.w, dtype=float),
    })

    # Q around the inverse-variance common estimate; I2 and H from Q
    Q = float(np.sum(w_iv * (y - te_iv) ** 2))
    het = hetstat_q(Q, k, level=settings.level_hetstat)
    vals.update(het.as_meta_dict())

    # random effects: tau2 by metafor's rma.uni (meta calls it), QP CI
    fit = rma(y, v, method=settings.method_tau, control=settings.control)
    tau2 = float(fit.tau2)
    te_r, se_r = float(fit.b), float(fit.se)
    lower_tau2 = upper_tau2 = None
    sign_l = sign_u = ""
    if settings.method_tau_ci == "J":  # meta's default for DL: Jackson (2013), weights 1/seTE
        ci = confint(fit, level=100 * settings.level_hetstat, type="GENQ", weights=1.0 / se)
    else:
        ci = confint(fit, level=100 * settings.level_hetstat)
    lower_tau2, upper_tau2 = ci.tau2[1], ci.tau2[2]
    sign_l, sign_u = ci.lb_sign, ci.ub_sign
    rci = random_ci(te_r, se_r, y, v, tau2, method=settings.method_random_ci,
                    adhoc=settings.adhoc_hakn_ci, level=settings.level_ma, null_effect=null)
    if rci.note:
        notes.append(rci.note)
    hk = settings.method_random_ci == "HK"
    vals.update({
        "TE.random": te_r, "seTE.random": rci.se, "lower.random": rci.lower,
        "upper.random": rci.upper, "statistic.random": rci.statistic,
        "pval.random": rci.pval, "df.random": rci.df,
        "seTE.classic": se_r, "seTE.hakn.ci": rci.se_hakn,
        "df.hakn.ci": (k - 1) if hk else None,
        "seTE.hakn.adhoc.ci": rci.se_hakn_adhoc if hk else None,
        "seTE.kero": kenward_roger_se(v, tau2), "df.kero": None,
        "w.random": 1.0 / (v + tau2),
        "tau2": tau2, "se.tau2": fit.se_tau2, "lower.tau2": lower_tau2,
        "upper.tau2": upper_tau2, "tau": math.sqrt(tau2),
        "lower.tau": None if lower_tau2 is None else math.sqrt(max(lower_tau2, 0.0)),
        "upper.tau": None if upper_tau2 is None else math.sqrt(max(upper_tau2, 0.0)),
        "sign.lower.tau": sign_l, "sign.upper.tau": sign_u,
    })
    vals["Rb"], vals["lower.Rb"], vals["upper.Rb"] = rb_ci(tau2, v, Q, level=settings.level_hetstat)
    method_pi = {"S": "z"}.get(settings.method_predict, settings.method_predict)
    pi = prediction_interval(te_r, se_r, tau2, k, method=method_pi,
                             level=settings.level_predict, se_hakn=rci.se_hakn)
    if pi.note:
        notes.append(pi.note)
    vals.update({"lower.predict": pi.lower, "upper.predict": pi.upper,
                 "seTE.predict": pi.se, "df.predict": pi.df,
                 "seTE.hakn.pi": rci.se_hakn, "df.hakn.pi": None})
    inputs = {"TE": y, "seTE": se, "studlab": slab, "common": common if common.w is not w_iv
              else None, "fn": fn, "backtransf": backtransf}
    return MetaResult(vals, settings, inputs, notes)


def metagen(TE, seTE, *, sm: str = "", studlab=None, **opts) -> MetaResult:
    """Generic inverse-variance meta-analysis: R meta's ``metagen(TE, seTE, studlab, sm,
    method.tau = "REML", method.random.ci = "classic", adhoc.hakn.ci = "",
    method.predict = "V", level = 0.95, level.ma, level.predict, level.hetstat,
    null.effect = 0, method.bias = "Egger", backtransf = TRUE)`` with meta 8.4-0's
    defaults. Options are meta's names with underscores (or dots via ``**{...}``).
    ``sm`` selects the back-transformation (RR, OR, HR: exp; ZCOR: tanh; PLOGIT: plogis)."""
    settings = MetaSettings(sm=str(sm), **_options(opts))
    return _build(TE, seTE, studlab, settings, fn="metagen")


def metacont(n1, m1, sd1, n2, m2, sd2, *, sm: str = "MD", method_smd: str = "Hedges",
             exact_smd: bool = True, studlab=None, **opts) -> MetaResult:
    """Continuous outcomes: R meta's ``metacont(n.e, mean.e, sd.e, n.c, mean.c, sd.c, sm =
    "MD", method.smd = "Hedges", exact.smd = TRUE, ...)`` (group 1 = experimental, "e").

    ``sm="MD"``: ``TE = m1 - m2``, ``seTE^2 = sd1^2/n1 + sd2^2/n2`` (``pooledvar = FALSE``).
    ``sm="SMD"``: ``method_smd="Hedges"`` (g with the exact J and, with ``exact_smd``,
    meta's exact variance ``1/n1 + 1/n2 + g^2 K(m)``), ``"Cohen"`` (``exact_smd``: variance
    ``1/n1 + 1/n2 + (J d)^2 K(m)``, else ``1/n1 + 1/n2 + d^2/(2N)``) or ``"Glass"`` (control
    SD, ``sd.glass = "control"``; variance ``1/n1 + 1/n2 + delta^2/(2(n2 - 1))``); see
    ``escalc(smd=..., vtype=...)``."""
    sm = str(sm).upper()
    if sm not in ("MD", "SMD"):
        raise MetaAnalysisError(f"metacont: sm must be 'MD' or 'SMD' (got {sm!r}).")
    extra = {"method.ci": "z"}
    kwargs = {}
    if sm == "SMD":
        if method_smd not in ("Hedges", "Cohen", "Glass"):
            raise MetaAnalysisError(
                f"Unknown method_smd {method_smd!r}; use 'Hedges', 'Cohen' or 'Glass'.")
        kwargs = {"smd": method_smd, "vtype": "UB" if exact_smd else "LS"}
        extra.update({"method.smd": method_smd,
                      "exact.smd": None if method_smd == "Glass" else bool(exact_smd),
                      "sd.glass": "control" if method_smd == "Glass" else "",
                      "pooledvar": None})
        if method_smd == "Hedges" and not exact_smd:
            raise MetaAnalysisError(
                "exact_smd=False for Hedges' g (meta's approximate J and K) is not "
                "implemented; use exact_smd=True (meta's default).")
    else:
        extra.update({"method.smd": "", "exact.smd": None, "pooledvar": False})
    es = escalc(sm, n1i=n1, m1i=m1, sd1i=sd1, n2i=n2, m2i=m2, sd2i=sd2, slab=studlab,
                **kwargs)
    bad = np.flatnonzero(es.vi <= 0)
    if bad.size:
        i = int(bad[0])
        raise MetaAnalysisError(
            f"metacont: the standard error is 0 in {study_name(i, es.slab)} (both SDs 0?).")
    settings = MetaSettings(sm=sm, extra=extra, **_options(opts))
    return _build(es.yi, np.sqrt(es.vi), es.slab, settings, fn="metacont")


def metacor(cor, n, *, sm: str = "ZCOR", studlab=None, **opts) -> MetaResult:
    """Correlations: R meta's ``metacor(cor, n, sm = "ZCOR", ...)``: ``TE = atanh(r)``,
    ``seTE = 1/sqrt(n - 3)``, pooled values back-transformed with tanh; ``sm="COR"``:
    raw correlations with ``seTE^2 = (1 - r^2)^2 / (n - 1)``."""
    sm = str(sm).upper()
    if sm not in ("ZCOR", "COR"):
        raise MetaAnalysisError(f"metacor: sm must be 'ZCOR' or 'COR' (got {sm!r}).")
    es = escalc(sm, ri=cor, ni=n, slab=studlab)
    settings = MetaSettings(sm=sm, **_options(opts))
    return _build(es.yi, np.sqrt(es.vi), es.slab, settings, fn="metacor")


#: what metabin adds to the quantities of an inverse-variance fit
METABIN_KEYS = ("k.all", "k.MH", "Q.CMH", "df.Q.CMH", "pval.Q.CMH", "incr.e", "incr.c")


def metabin(event_e, n_e, event_c, n_c, *, sm: str = "RR", method: str = "MH",
            incr: float = 0.5, method_incr: str = "only0", allstudies: bool = False,
            MH_exact: bool = False, RR_Cochrane: bool = False, studlab=None,
            **opts) -> MetaResult:
    """Binary outcomes: R meta's ``metabin(event.e, n.e, event.c, n.c, sm = "RR", method =
    "MH", incr = 0.5, method.incr = "only0", allstudies = FALSE, MH.exact = FALSE,
    RR.Cochrane = FALSE, ...)``. The study effects and the common effect (Mantel-Haenszel,
    Peto or inverse variance) are those of :func:`analysis.engine.binary.metabin_common`
    (meta's zero-cell rules); the random effects, Q, I2 and H are meta's inverse-variance ones
    on the studies it pools (a study without events, or with only events, in both groups is
    left out, and counted in ``k.all`` only). ``metabias`` of the result is Harbord's test for
    OR (also Peto), Egger's otherwise, as meta's."""
    from analysis.engine.binary import metabin_common

    level = opts.get("level", 0.95)
    mb = metabin_common(event_e, n_e, event_c, n_c, sm=sm, method=method, incr=incr,
                        method_incr=method_incr, allstudies=allstudies, mh_exact=MH_exact,
                        rr_cochrane=RR_Cochrane, level=level, studlab=studlab)  # fmt: skip
    keep = mb.included
    labels = [str(x) for x in (mb.studlab or [str(i + 1) for i in range(mb.k_all)])]
    labels = [lab for lab, kept in zip(labels, keep, strict=True) if kept]
    common = None
    if method != "Inverse":
        common = CommonFit(float(mb.te_common), float(mb.se_te_common),
                           np.asarray(mb.w_common, dtype=float)[keep])  # fmt: skip
    peto = method == "Peto"  # meta: Peto's study effects for the random effects, no increment
    extra = {"method.random": "Peto" if peto else "Inverse", "incr": 0 if peto else incr,
             "method.incr": method_incr,
             "allstudies": allstudies, "MH.exact": MH_exact, "RR.Cochrane": RR_Cochrane,
             "method.bias": "Harbord" if mb.sm == "OR" else "Egger"}
    settings = MetaSettings(sm=mb.sm, method=method, extra=extra, **_options(opts))
    res = _build(mb.te[keep], mb.se_te[keep], labels, settings, common=common, fn="metabin")
    res._values.update({"k.all": mb.k_all, "k.MH": mb.k_mh, "Q.CMH": mb.q_cmh,
                        "df.Q.CMH": None if mb.q_cmh is None else 1,
                        "pval.Q.CMH": mb.pval_q_cmh,
                        "incr.e": np.asarray(mb.incr_e)[keep],
                        "incr.c": np.asarray(mb.incr_c)[keep]})  # fmt: skip
    res._inputs["metabin"] = mb
    # for metainf's refits: the counts and options of this call
    res._inputs["metabin_call"] = (
        (event_e, n_e, event_c, n_c),
        {"sm": sm, "method": method, "incr": incr, "method_incr": method_incr,
         "allstudies": allstudies, "MH_exact": MH_exact, "RR_Cochrane": RR_Cochrane,
         "studlab": None if studlab is None else [str(x) for x in studlab], **opts})
    return res


def update(m: MetaResult, **opts) -> MetaResult:
    """R meta's ``update(m, ...)`` for the pooling options: e.g.
    ``update(m, method_random_ci="HK")`` (Hartung-Knapp), ``method_predict="HTS"``,
    ``adhoc_hakn_ci="se"``, ``method_tau="DL"``, ``level_ma=0.9``. The study effects are
    kept; a non-IV common effect (MH, Peto) is kept too."""
    from analysis.engine.proportions import MetapropResult

    if isinstance(m, MetapropResult):  # metaprop: the same call with the new options
        allowed = {"method_random_ci", "method_predict", "level", "level_ma"}
        new = {key.replace(".", "_"): value for key, value in opts.items()}
        unknown = sorted(set(new) - allowed)
        if unknown:
            raise MetaAnalysisError(
                f"update() of a metaprop fit takes {', '.join(sorted(allowed))}; not "
                f"{', '.join(unknown)}.")
        from analysis.engine.proportions import metaprop

        call = m.call
        return metaprop(call["event"], call["n"], call["studlab"], **{**call["options"], **new})
    if not isinstance(m, MetaResult):
        raise MetaAnalysisError("update() needs a MetaResult from metagen/metacont/metacor.")
    new = _options(opts)
    if "method_tau" in new and "method_tau_ci" not in new:
        new["method_tau_ci"] = None  # the new estimator's default (DL: Jackson's, else QP)
    settings = replace(m.settings, **new)
    inp = m._inputs
    out = _build(inp["TE"], inp["seTE"], inp["studlab"], settings, common=inp["common"],
                 fn=inp["fn"], backtransf=inp["backtransf"])
    for key in METABIN_KEYS:  # metabin's own
        if key in m._values:
            out._values[key] = m._values[key]
    for key in ("metabin", "metabin_call"):
        if key in inp:
            out._inputs[key] = inp[key]
    if "metabin_call" in inp:  # metainf refits with the updated options
        counts, kwargs = inp["metabin_call"]
        out._inputs["metabin_call"] = (counts, {**kwargs, **opts})
    return out


# --------------------------------------------------------------------------- metabias


@dataclass(frozen=True)
class MetaBiasResult:
    """R meta's ``metabias(m)``: the test's ``statistic`` (t), ``df``, ``pval``, ``estimate``
    (bias and its SE), ``intercept`` (the slope, an effect estimate) with its SE and the
    residual SE ``tau``; ``skipped`` when k < k.min (meta runs no test)."""

    method_bias: str
    k: int
    k_min: int
    skipped: bool
    statistic: float | None = None
    df: int | None = None
    pval: float | None = None
    bias: float | None = None
    se_bias: float | None = None
    intercept: float | None = None
    se_intercept: float | None = None
    tau: float | None = None
    method: str = ""

    def as_meta_json(self) -> dict:
        if self.skipped:
            return {"skipped": True, "k": self.k, "k.min": self.k_min}
        return {
            "method.bias": self.method_bias, "method": self.method, "statistic_name": "t",
            "statistic": self.statistic, "df": self.df, "pval": self.pval,
            "estimate_names": ["bias", "se.bias"], "estimate": [self.bias, self.se_bias],
            "intercept": self.intercept, "se.intercept": self.se_intercept,
            "tau": self.tau, "var.model": "multiplicative",
        }


def _egger(TE: np.ndarray, seTE: np.ndarray) -> dict:
    """Egger's regression test: ``lm(TE/seTE ~ I(1/seTE))``, t-test of the intercept on
    k - 2 df (meta's ``method.bias = "Egger"``, metafor's ``regtest(model = "lm")``)."""
    k = TE.shape[0]
    yy = TE / seTE
    X = np.column_stack([np.ones(k), 1.0 / seTE])
    xtx_inv = np.linalg.inv(X.T @ X)
    coef = xtx_inv @ X.T @ yy
    resid = yy - X @ coef
    df = k - 2
    s2 = float(resid @ resid) / df
    se = np.sqrt(np.diag(xtx_inv) * s2)
    stat = float(coef[0] / se[0])
    return {"statistic": stat, "df": df, "pval": float(pt_two_sided(stat, df)),
            "bias": float(coef[0]), "se_bias": float(se[0]), "intercept": float(coef[1]),
            "se_intercept": float(se[1]), "tau": math.sqrt(s2),
            "method": "Linear regression test of funnel plot asymmetry"}


# test name -> function(TE, seTE) returning the MetaBiasResult fields
BIAS_TESTS: dict[str, Callable[[np.ndarray, np.ndarray], dict]] = {"Egger": _egger}


def _from_metaprop(m) -> MetaResult:
    """A metaprop fit as meta's metabias and trimfill see it: the study TE/seTE pooled by
    inverse variance (tau² by ML for a GLMM fit, REML otherwise), no test of the effect."""
    from analysis.engine.proportions import MetapropResult

    if not isinstance(m, MetapropResult):
        return m
    st = m.studies
    level = m.settings["level"]
    return metagen(np.asarray(st["TE"]), np.asarray(st["seTE"]),
                   sm="PLOGIT" if m.settings["sm"] == "PLOGIT" else "",
                   studlab=st["studlab"], null_effect=None,
                   method_tau="ML" if m.settings["method"] == "GLMM" else "REML",
                   level=level, level_ma=m.settings["level.ma"], level_predict=level,
                   level_hetstat=level)  # fmt: skip


def metabias(m: MetaResult, *, method_bias: str | None = None, k_min: int = 10):
    """Test of funnel plot asymmetry: R meta's ``metabias(m, method.bias = m$method.bias,
    k.min = 10)``. Default Egger's test. With fewer than ``k_min`` studies meta runs no test:
    the result has ``skipped=True`` (no numbers). ``m`` may be a metaprop result (Egger's
    test on its study TE/seTE, as meta)."""
    m = _from_metaprop(m)
    if not isinstance(m, MetaResult):
        raise MetaAnalysisError("metabias() needs a MetaResult.")
    if "metabin" in m._inputs:
        # metabin: Harbord for OR (also Peto), Egger otherwise; Peters on request
        from analysis.engine.bias import metabias_metabin

        return metabias_metabin(m._inputs["metabin"], method_bias=method_bias, k_min=k_min)
    name = method_bias or m.settings.method_bias
    if name not in BIAS_TESTS:
        raise MetaAnalysisError(
            f"Unknown method_bias {name!r}; use one of {', '.join(BIAS_TESTS)}.")
    k = m.k
    if k_min < 3:
        raise MetaAnalysisError("k_min must be at least 3 (the test needs k - 2 > 0 df).")
    if k < k_min:
        return MetaBiasResult(name, k, int(k_min), True)
    out = BIAS_TESTS[name](np.asarray(m._inputs["TE"]), np.asarray(m._inputs["seTE"]))
    return MetaBiasResult(name, k, int(k_min), False, **out)


# --------------------------------------------------------------------------- trimfill


@dataclass(frozen=True)
class MetaTrimfillResult:
    """R meta's ``trimfill(m)``: ``k0`` studies filled on the ``left`` (or right), the
    adjusted meta-analysis ``fit`` (a :class:`MetaResult` on the k + k0 studies), the filled
    effects and ``n_iter``."""

    k0: int
    left: bool
    ma_common: bool
    type: str
    n_iter: int
    fit: MetaResult
    filled_TE: np.ndarray
    filled_seTE: np.ndarray
    filled_studlab: tuple[str, ...]

    def as_meta_json(self) -> dict:
        out = {"k0": self.k0, "left": self.left, "ma.common": self.ma_common,
               "type": self.type, "n.iter": self.n_iter, "k": self.fit.k}
        out.update(self.fit.as_meta_json(studies=False))
        k = self.fit.k
        out["filled"] = {"TE": self.filled_TE.tolist(), "seTE": self.filled_seTE.tolist(),
                         "studlab": list(self.filled_studlab)}
        out["all_TE"] = self.fit.TE.tolist()
        out["all_seTE"] = self.fit.seTE.tolist()
        out["is_filled"] = [i >= k - self.k0 for i in range(k)]
        return out


def trimfill(m: MetaResult, *, left: bool | None = None, ma_common: bool = True,
             type: str = "L", n_iter_max: int = 50) -> MetaTrimfillResult:
    """Trim and fill: R meta's ``trimfill(m, left = NULL, ma.common = TRUE, type = "L",
    n.iter.max = 50)``.

    k0 is estimated (``type`` "L": L0, "R": R0) on the common-effect inverse-variance model
    (``ma_common=True``; False: on the random-effects model with ``m``'s tau^2 method), the
    side from the sign of Egger's bias when ``left`` is None (positive: studies missing on
    the left); the adjusted meta-analysis (common and random effects, heterogeneity,
    prediction interval) is ``m``'s analysis of the k + k0 studies. Uses
    :func:`analysis.engine.bias.trimfill` (metafor's algorithm) for k0. ``m`` may be a
    metaprop result: meta fills its study TE/seTE by inverse variance (tau² by ML for a
    GLMM fit).
    """
    m = _from_metaprop(m)
    if not isinstance(m, MetaResult):
        raise MetaAnalysisError("trimfill() needs a MetaResult.")
    if type not in ("L", "R"):
        raise MetaAnalysisError("type must be 'L' (L0 estimator) or 'R' (R0).")
    k = m.k
    if k < 3:
        raise MetaAnalysisError(f"Trim and fill needs at least 3 studies (k = {k}).")
    TE = np.asarray(m._inputs["TE"])
    seTE = np.asarray(m._inputs["seTE"])
    if left is None:
        left = _egger(TE, seTE)["bias"] > 0
    method = "EE" if ma_common else m.settings.method_tau
    base = rma(TE, seTE**2, method=method, control=m.settings.control)
    tf = _bias.trimfill(base, side="left" if left else "right",
                        estimator="L0" if type == "L" else "R0", maxiter=n_iter_max)
    slab = m._inputs["studlab"]
    labels = slab if slab is not None else tuple(str(i + 1) for i in range(k))
    filled_lab = tuple(f"Filled: {labels[int(i)]}" for i in tf.filled_index)
    filled_se = np.sqrt(tf.filled_vi)
    if tf.k0 > 0:
        fit = _build(np.concatenate([TE, tf.filled_yi]), np.concatenate([seTE, filled_se]),
                     (*labels, *filled_lab), m.settings, fn=m._inputs["fn"],
                     backtransf=m._inputs["backtransf"])
    else:
        fit = _build(TE, seTE, slab, m.settings, fn=m._inputs["fn"],
                     backtransf=m._inputs["backtransf"])
    return MetaTrimfillResult(tf.k0, bool(left), ma_common, type, tf.iterations, fit,
                              tf.filled_yi, filled_se, filled_lab)


# --------------------------------------------------------------------------- metainf

_INF_FIELDS = ("TE", "seTE", "lower", "upper", "statistic", "pval", "df.random",
               "lower.predict", "upper.predict", "df.predict", "w", "tau2", "se.tau2",
               "lower.tau2", "upper.tau2", "tau", "lower.tau", "upper.tau", "I2", "lower.I2",
               "upper.I2", "Rb", "k")


@dataclass(frozen=True)
class MetaInfResult:
    """R meta's ``metainf(m, pooled)``: one entry per omitted study (``omitted``) in
    ``rows`` (a dict of lists under meta's names) and the full-data row ``all_studies``."""

    pooled: str
    omitted: tuple[str, ...]
    rows: dict
    all_studies: dict
    sm: str
    backtransf: Callable
    has_backtransf: bool = False

    def as_meta_json(self) -> dict:
        out: dict = {"pooled": self.pooled, "omitted": list(self.omitted)}
        out.update(self.rows)
        out["n.harmonic.mean"] = [None] * len(self.omitted)
        if self.has_backtransf:
            for name in ("TE", "lower", "upper"):
                out[f"{name}_backtransf"] = [self.backtransf(x) for x in self.rows[name]]
        out["all_studies"] = dict(self.all_studies)
        return out


def _pooled_row(fit: MetaResult, pooled: str) -> dict:
    s = pooled
    row = {
        "TE": fit._values[f"TE.{s}"], "seTE": fit._values[f"seTE.{s}"],
        "lower": fit._values[f"lower.{s}"], "upper": fit._values[f"upper.{s}"],
        "statistic": fit._values[f"statistic.{s}"], "pval": fit._values[f"pval.{s}"],
        "df.random": fit._values["df.random"] if s == "random" else None,
        "lower.predict": fit._values["lower.predict"] if s == "random" else None,
        "upper.predict": fit._values["upper.predict"] if s == "random" else None,
        "df.predict": fit._values["df.predict"] if s == "random" else None,
        "w": float(np.sum(fit._values[f"w.{s}"])),
        "k": fit.k,
    }
    for name in ("tau2", "se.tau2", "lower.tau2", "upper.tau2", "tau", "lower.tau",
                 "upper.tau", "I2", "lower.I2", "upper.I2", "Rb"):
        row[name] = fit._values[name]
    return row


def metainf(m: MetaResult, *, pooled: str | None = None) -> MetaInfResult:
    """Leave-one-out meta-analysis: R meta's ``metainf(m, pooled)``. meta's default pools the
    **common** effect (``pooled = "common"`` when the common effect is shown); ``"random"``
    pools the random effect. Each omission is a full refit with ``m``'s settings (a
    metaprop result: a metaprop refit, the GLMM for a GLMM fit)."""
    from analysis.engine.proportions import MetapropResult

    if isinstance(m, MetapropResult):
        return _metainf_metaprop(m, "common" if pooled is None else str(pooled))
    if not isinstance(m, MetaResult):
        raise MetaAnalysisError("metainf() needs a MetaResult.")
    pooled = "common" if pooled is None else str(pooled)
    if pooled not in ("common", "random"):
        raise MetaAnalysisError("pooled must be 'common' or 'random'.")
    k = m.k
    if k < 3:
        raise MetaAnalysisError(
            f"Leave-one-out analysis needs at least 3 studies (k = {k}): each omission "
            "must leave a meta-analysis of 2 or more.")
    TE = np.asarray(m._inputs["TE"])
    seTE = np.asarray(m._inputs["seTE"])
    slab = m._inputs["studlab"]
    labels = slab if slab is not None else tuple(str(i + 1) for i in range(k))
    call = m._inputs.get("metabin_call")
    if m._inputs["common"] is not None and call is None:
        raise MetaAnalysisError(
            "metainf() of a non-inverse-variance common effect needs its entry point's own "
            "refit; not available for this analysis.")
    rows: dict = {name: [] for name in _INF_FIELDS}
    if call is not None:  # metabin: each omission refitted from the counts (MH, Peto, ...)
        counts = [np.asarray(x, dtype=float) for x in call[0]]
        all_labels = call[1]["studlab"] or [str(i + 1) for i in range(len(counts[0]))]
        pooled_idx = [list(map(str, all_labels)).index(lab) for lab in labels]
    for i in range(k):
        keep = np.arange(k) != i
        if call is not None:
            keep_all = np.ones(len(counts[0]), dtype=bool)
            keep_all[pooled_idx[i]] = False
            opts = {key: v for key, v in call[1].items() if key != "studlab"}
            sub = metabin(*(x[keep_all] for x in counts),
                          studlab=[lab for lab, kept in zip(all_labels, keep_all, strict=True)
                                   if kept], **opts)
            row = _pooled_row(sub, pooled)
            for name in _INF_FIELDS:
                rows[name].append(row[name])
            continue
        sub = _build(TE[keep], seTE[keep], None if slab is None else
                     tuple(np.asarray(slab, dtype=object)[keep]), m.settings,
                     fn=m._inputs["fn"], backtransf=m._inputs["backtransf"])
        row = _pooled_row(sub, pooled)
        for name in _INF_FIELDS:
            rows[name].append(row[name])
    full = _pooled_row(m, pooled)
    all_studies = {f"{n}.pooled": full[n] for n in ("TE", "seTE", "lower", "upper",
                                                      "statistic", "pval", "tau2")}
    all_studies["I2.pooled"] = full["I2"]
    all_studies["k.pooled"] = k
    return MetaInfResult(pooled, tuple(f"Omitting {lab}" for lab in labels), rows,
                         all_studies, m.settings.sm, m.backtransf, m._has_backtransf())


def _metainf_metaprop(m, pooled: str) -> MetaInfResult:
    """metainf() of a metaprop fit: each omission refitted by metaprop with the same call."""
    from analysis.engine.proportions import metaprop

    if pooled not in ("common", "random"):
        raise MetaAnalysisError("pooled must be 'common' or 'random'.")
    call = m.call
    if call is None:
        raise MetaAnalysisError("metainf() needs a metaprop result from metaprop().")
    x, n = np.asarray(call["event"]), np.asarray(call["n"])
    k = x.shape[0]
    if k < 3:
        raise MetaAnalysisError(
            f"Leave-one-out analysis needs at least 3 studies (k = {k}): each omission "
            "must leave a meta-analysis of 2 or more.")
    labels = m.studies["studlab"]
    rows: dict = {name: [] for name in ("TE", "seTE", "lower", "upper", "statistic", "pval",
                                        "lower.predict", "upper.predict", "df.predict",
                                        "tau2", "tau", "I2", "lower.I2", "upper.I2", "k")}
    for i in range(k):
        keep = np.arange(k) != i
        sub = metaprop(x[keep], n[keep], [lab for j, lab in enumerate(labels) if j != i],
                       **call["options"])
        block = sub.common if pooled == "common" else sub.random
        for name in ("TE", "seTE", "lower", "upper"):
            rows[name].append(float(block[name]))
        rows["statistic"].append(None)  # metaprop tests no pooled effect (null.effect = NA)
        rows["pval"].append(None)
        for name in ("lower.predict", "upper.predict", "df.predict"):
            rows[name].append(sub.prediction[name] if pooled == "random" else None)
        for name in ("tau2", "tau", "I2", "lower.I2", "upper.I2"):
            rows[name].append(sub.heterogeneity[name])
        rows["k"].append(k - 1)
    block = m.common if pooled == "common" else m.random
    all_studies = {"TE.pooled": block["TE"], "seTE.pooled": block["seTE"],
                   "lower.pooled": block["lower"], "upper.pooled": block["upper"],
                   "statistic.pooled": None, "pval.pooled": None,
                   "tau2.pooled": m.heterogeneity["tau2"], "I2.pooled": m.heterogeneity["I2"],
                   "k.pooled": k}  # fmt: skip
    return MetaInfResult(pooled, tuple(f"Omitting {lab}" for lab in labels), rows,
                         all_studies, m.settings["sm"], lambda v: v, False)
