"""What one study must supply for each effect measure, validation, and its effect size.

* :data:`INPUT_FORMS` (and :func:`input_form`): for each measure of :func:`escalc` the fields a
  reviewer fills in for one study, with labels and units. Keys are metafor's argument names,
  except that 2x2 tables are entered as events and totals per group (``ai, n1i, ci, n2i``, the
  form papers report) and generic estimates may come with a confidence interval
  (``ci_lb, ci_ub, level``).
* :func:`validate`: every problem with one study's values, as :class:`FieldError` objects whose
  messages name the field in words (errors block the computation, warnings do not).
* :func:`to_escalc`: the study's values as :func:`escalc` keyword arguments (``bi = n1i - ai``,
  ``di = n2i - ci``; a CI converted to a standard error).
* :func:`effect`: the study's ``(yi, vi)`` computed by :func:`escalc`, so the numbers are
  metafor's, continuity correction included.

Pure Python on numpy/scipy (through the engine); no Django. See docs/extraction.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from analysis.engine import converters
from analysis.engine.effect_sizes import MEASURES, escalc
from analysis.engine.errors import MetaAnalysisError

__all__ = [
    "ERROR",
    "INPUT_FORMS",
    "SCALES",
    "WARNING",
    "FieldError",
    "InputError",
    "InputField",
    "InputForm",
    "effect",
    "input_form",
    "to_escalc",
    "validate",
]

ERROR = "error"
WARNING = "warning"
#: ``"identity"``: values are on the analysis scale (log ratios for RR/OR/HR). ``"log"`` (GEN
#: only): the estimate and CI are ratios on their natural scale and are logged here.
SCALES = ("identity", "log")

#: A CI whose two halves differ by more than this fraction of its width draws a warning.
ASYMMETRY_TOLERANCE = 0.1


@dataclass(frozen=True)
class InputField:
    """One value a study supplies.

    ``name`` is the key in the values dict (metafor's argument name where one exists),
    ``label`` the words used in messages, ``unit`` what it is counted or measured in, ``kind``
    its type (``count``, ``number``, ``sd``, ``correlation``, ``se``, ``variance``, ``level``),
    ``minimum`` the smallest allowed count (with the reason in ``why_minimum``).
    """

    name: str
    label: str
    unit: str
    kind: str
    required: bool = True
    minimum: int | None = None
    why_minimum: str = ""
    help: str = ""


@dataclass(frozen=True)
class InputForm:
    """The fields one study supplies for ``measure``; ``note`` says how they reach escalc."""

    measure: str
    title: str
    fields: tuple[InputField, ...]
    note: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> InputField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FieldError:
    """A problem with one study's values.

    ``field`` is the offending field's name (``None`` when the problem is the study as a whole),
    ``message`` a sentence naming the field in words, ``severity`` ``"error"`` (the effect
    cannot be computed) or ``"warning"`` (it can, but the reviewer should know).
    """

    field: str | None
    message: str
    severity: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


class InputError(MetaAnalysisError):
    """Raised by :func:`effect` when :func:`validate` finds errors; ``errors`` lists them."""

    def __init__(self, measure: str, errors):
        self.measure = measure
        self.errors = tuple(errors)
        listed = " ".join(e.message for e in self.errors)
        super().__init__(f"Cannot compute the {measure} for this study: {listed}")


# --------------------------------------------------------------------------------------------
# the forms

_TREATMENT, _CONTROL = "treatment group (group 1)", "control group (group 2)"


def _two_by_two(measure: str, title: str) -> InputForm:
    why = "a group needs at least one participant"
    return InputForm(
        measure=measure,
        title=title,
        fields=(
            InputField("ai", f"Events in the {_TREATMENT}", "participants", "count"),
            InputField(
                "n1i",
                f"Total participants in the {_TREATMENT}",
                "participants",
                "count",
                minimum=1,
                why_minimum=why,
            ),
            InputField("ci", f"Events in the {_CONTROL}", "participants", "count"),
            InputField(
                "n2i",
                f"Total participants in the {_CONTROL}",
                "participants",
                "count",
                minimum=1,
                why_minimum=why,
            ),
        ),
        note="escalc(ai=ai, bi=n1i - ai, ci=ci, di=n2i - ci): events and non-events per group.",
    )


def _continuous(measure: str, title: str) -> InputForm:
    why = "a standard deviation needs at least two participants"
    return InputForm(
        measure=measure,
        title=title,
        fields=(
            InputField("m1i", f"Mean in the {_TREATMENT}", "outcome units", "number"),
            InputField("sd1i", f"Standard deviation in the {_TREATMENT}", "outcome units", "sd"),
            InputField(
                "n1i",
                f"Participants in the {_TREATMENT}",
                "participants",
                "count",
                minimum=2,
                why_minimum=why,
            ),
            InputField("m2i", f"Mean in the {_CONTROL}", "outcome units", "number"),
            InputField("sd2i", f"Standard deviation in the {_CONTROL}", "outcome units", "sd"),
            InputField(
                "n2i",
                f"Participants in the {_CONTROL}",
                "participants",
                "count",
                minimum=2,
                why_minimum=why,
            ),
        ),
        note="escalc(m1i, sd1i, n1i, m2i, sd2i, n2i); the effect is group 1 minus group 2.",
    )


def _correlation(measure: str, title: str, minimum: int, why: str) -> InputForm:
    return InputForm(
        measure=measure,
        title=title,
        fields=(
            InputField("ri", "Correlation coefficient (r)", "", "correlation"),
            InputField(
                "ni", "Sample size", "participants", "count", minimum=minimum, why_minimum=why
            ),
        ),
        note="escalc(ri, ni).",
    )


def _proportion(measure: str, title: str) -> InputForm:
    return InputForm(
        measure=measure,
        title=title,
        fields=(
            InputField("xi", "Participants with the event", "participants", "count"),
            InputField(
                "ni",
                "Total participants",
                "participants",
                "count",
                minimum=1,
                why_minimum="a study needs at least one participant",
            ),
        ),
        note="escalc(xi, ni).",
    )


_GEN = InputForm(
    measure="GEN",
    title="Effect estimate with its standard error or confidence interval",
    fields=(
        InputField("yi", "Effect estimate", "analysis scale (or ratio with scale='log')", "number"),
        InputField("sei", "Standard error of the estimate", "analysis scale", "se", required=False),
        InputField(
            "vi",
            "Sampling variance of the estimate",
            "analysis scale squared",
            "variance",
            required=False,
        ),
        InputField(
            "ci_lb", "Lower confidence limit", "same as the estimate", "number", required=False
        ),
        InputField(
            "ci_ub", "Upper confidence limit", "same as the estimate", "number", required=False
        ),
        InputField(
            "level",
            "Confidence level",
            "%",
            "level",
            required=False,
            help="of the confidence interval; 95 if not given",
        ),
    ),
    note=(
        "escalc('GEN', yi, sei) with exactly one of sei, vi or the CI (sei = (ub - lb) / "
        "(2 z_{(1+level/100)/2})). With scale='log' the estimate and CI are ratios (e.g. an OR "
        "and its CI as printed) and are logged; sei/vi are then those of the log ratio."
    ),
)

INPUT_FORMS: dict[str, InputForm] = {
    "RR": _two_by_two("RR", "Risk ratio (log scale) from events and totals per group"),
    "OR": _two_by_two("OR", "Odds ratio (log scale) from events and totals per group"),
    "RD": _two_by_two("RD", "Risk difference from events and totals per group"),
    "SMD": _continuous("SMD", "Standardised mean difference (Hedges' g) from means and SDs"),
    "MD": _continuous("MD", "Mean difference from means and SDs"),
    "ZCOR": _correlation(
        "ZCOR", "Correlation, Fisher's z-transformed", 4, "Fisher's z has variance 1/(n - 3)"
    ),
    "COR": _correlation("COR", "Correlation coefficient (raw)", 2, "its variance divides by n - 1"),
    "PLO": _proportion("PLO", "Proportion (logit scale) from events and total"),
    "PR": _proportion("PR", "Proportion (raw) from events and total"),
    "GEN": _GEN,
}

_FAMILY = {
    "RR": "2x2",
    "OR": "2x2",
    "RD": "2x2",
    "SMD": "continuous",
    "MD": "continuous",
    "ZCOR": "correlation",
    "COR": "correlation",
    "PLO": "proportion",
    "PR": "proportion",
    "GEN": "generic",
}


def input_form(measure: str) -> InputForm:
    """The :class:`InputForm` of ``measure`` (case-insensitive)."""
    key = str(measure).upper()
    if key not in INPUT_FORMS:
        raise MetaAnalysisError(f"Unknown measure {measure!r}; use one of {', '.join(MEASURES)}.")
    return INPUT_FORMS[key]


# --------------------------------------------------------------------------------------------
# validation


def _is_missing(raw) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str) and not raw.strip():
        return True
    return isinstance(raw, float) and math.isnan(raw)


def _as_float(raw) -> float | None:
    if isinstance(raw, bool):
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def _g(x: float) -> str:
    return f"{x:g}"


def _single_rule(measure: str, f: InputField, x: float) -> str | None:
    """The message for a value that is wrong on its own, or None."""
    if f.kind == "count":
        if not x.is_integer():
            return f"{f.label} must be a whole number (got {_g(x)})."
        if x < 0:
            return f"{f.label} cannot be negative (got {_g(x)})."
        if f.minimum is not None and x < f.minimum:
            return f"{f.label} must be at least {f.minimum}: {f.why_minimum} (got {_g(x)})."
    elif f.kind in ("sd", "se", "variance") and x <= 0:
        return f"{f.label} must be greater than 0 (got {_g(x)})."
    elif f.kind == "correlation":
        if abs(x) > 1:
            return f"{f.label} must be between -1 and 1 (got {_g(x)})."
        if abs(x) == 1:
            if measure == "ZCOR":
                return (
                    f"{f.label} of exactly {_g(x)} cannot be used: Fisher's z = atanh(r) is "
                    "infinite; check the value reported (a perfect correlation is almost "
                    "always an error)."
                )
            return (
                f"{f.label} of exactly {_g(x)} cannot be used: its sampling variance "
                "(1 - r^2)^2/(n - 1) is 0."
            )
    elif f.kind == "level":
        if not 0 < x < 100:
            return (
                f"{f.label} must be a percentage strictly between 0 and 100, e.g. 95 (got {_g(x)})."
            )
        if x < 1:
            return f"{f.label} is a percentage: enter 95 for a 95% interval, not {_g(x)}."
    return None


def _check_scale(measure: str, scale: str) -> None:
    if scale not in SCALES:
        raise MetaAnalysisError(f"scale must be one of {', '.join(SCALES)} (got {scale!r}).")
    if scale == "log" and measure != "GEN":
        raise MetaAnalysisError(
            "scale='log' applies to measure 'GEN' (a ratio and its CI as printed); "
            f"{measure} is computed from the raw data."
        )


def _parse(form: InputForm, values: dict) -> tuple[list[FieldError], dict[str, float], set[str]]:
    """Presence, numbers and single-field rules. Returns the problems, the valid numbers and
    the names of the fields that were given (valid or not)."""
    problems: list[FieldError] = []
    nums: dict[str, float] = {}
    given: set[str] = set()
    for f in form.fields:
        raw = values.get(f.name)
        if _is_missing(raw):
            if f.required:
                problems.append(FieldError(f.name, f"{f.label} is required."))
            continue
        given.add(f.name)
        x = _as_float(raw)
        if x is None:
            problems.append(FieldError(f.name, f"{f.label} must be a number (got {raw!r})."))
            continue
        if not math.isfinite(x):
            problems.append(FieldError(f.name, f"{f.label} must be a finite number (got {raw!r})."))
            continue
        message = _single_rule(form.measure, f, x)
        if message:
            problems.append(FieldError(f.name, message))
            continue
        nums[f.name] = x
    return problems, nums, given


def _err(field: str | None, message: str) -> FieldError:
    return FieldError(field, message, ERROR)


def _warn(field: str | None, message: str) -> FieldError:
    return FieldError(field, message, WARNING)


def _lc(label: str) -> str:
    return label[0].lower() + label[1:]


_DOUBLE_ZERO = {
    "RR": "the table says nothing about the risk ratio",
    "OR": "the table says nothing about the odds ratio",
    "RD": "the risk difference is 0, with a variance set by the correction",
}


def _check_two_by_two(form: InputForm, nums: dict[str, float]) -> list[FieldError]:
    out: list[FieldError] = []
    lab = {f.name: f.label for f in form.fields}
    for ev, tot in (("ai", "n1i"), ("ci", "n2i")):
        if ev in nums and tot in nums and nums[ev] > nums[tot]:
            e, t = _g(nums.pop(ev)), _g(nums[tot])
            out.append(_err(ev, f"{lab[ev]} cannot exceed the {_lc(lab[tot])}: {e} > {t}."))
    if not all(k in nums for k in ("ai", "n1i", "ci", "n2i")):
        return out
    a, n1, c, n2 = nums["ai"], nums["n1i"], nums["ci"], nums["n2i"]
    if (a == 0 and c == 0) or (a == n1 and c == n2):
        what = "No events in either group" if a == 0 else "Every participant had the event"
        message = (
            f"{what}: {_DOUBLE_ZERO[form.measure]}. escalc adds 0.5 to every "
            "cell (metafor's default continuity correction) and keeps the study; "
            "escalc(drop00=True) would drop it instead."
        )
        out.append(_warn(None, message))
    elif a in (0, n1) or c in (0, n2):
        message = (
            "The 2x2 table has a zero cell: escalc adds 0.5 to each of its four cells "
            "(metafor's default continuity correction) before computing the effect."
        )
        out.append(_warn("ai" if a in (0, n1) else "ci", message))
    return out


def _check_proportion(form: InputForm, nums: dict[str, float]) -> list[FieldError]:
    lab = {f.name: f.label for f in form.fields}
    if "xi" not in nums or "ni" not in nums:
        return []
    x, n = nums["xi"], nums["ni"]
    if x > n:
        return [_err("xi", f"{lab['xi']} cannot exceed the {_lc(lab['ni'])}: {_g(x)} > {_g(n)}.")]
    if x in (0, n):
        message = (
            f"{'No' if x == 0 else 'All'} participants had the event: escalc adds 0.5 to the "
            "events and to the non-events (metafor's default continuity correction)."
        )
        return [_warn("xi", message)]
    return []


def _check_generic(
    form: InputForm, nums: dict[str, float], given: set[str], scale: str
) -> list[FieldError]:
    out: list[FieldError] = []
    lab = {f.name: f.label for f in form.fields}
    has_ci = "ci_lb" in given or "ci_ub" in given
    if has_ci and not {"ci_lb", "ci_ub"} <= given:
        missing, other = ("ci_ub", "ci_lb") if "ci_lb" in given else ("ci_lb", "ci_ub")
        out.append(_err(missing, f"{lab[missing]} is required with the {_lc(lab[other])}."))
    sources = [name for name in ("sei", "vi") if name in given] + (["CI"] if has_ci else [])
    if not sources:
        message = (
            "Give the precision of the estimate: its standard error, its sampling variance or "
            "its confidence interval."
        )
        out.append(_err("sei", message))
    elif len(sources) > 1:
        message = (
            "Give only one of the standard error, the sampling variance and the confidence "
            "interval: they may disagree, and it would not be clear which one is used."
        )
        out.append(_err(None, message))
    if scale == "log":
        for name in ("yi", "ci_lb", "ci_ub"):
            if name in nums and nums[name] <= 0:
                message = (
                    f"{lab[name]} must be greater than 0 on the ratio scale "
                    f"(got {_g(nums.pop(name))}): enter the ratio as printed (e.g. 1.5), or "
                    "its log with the default scale."
                )
                out.append(_err(name, message))
    if "ci_lb" not in nums or "ci_ub" not in nums:
        return out
    lo, hi = nums["ci_lb"], nums["ci_ub"]
    if not lo < hi:
        message = f"{lab['ci_lb']} ({_g(lo)}) must be below the upper confidence limit ({_g(hi)})."
        out.append(_err("ci_lb", message))
    elif "yi" in nums:
        y = nums["yi"]
        if y < lo or y > hi:
            message = (
                f"{lab['yi']} ({_g(y)}) lies outside its confidence interval "
                f"({_g(lo)} to {_g(hi)})."
            )
            out.append(_err("yi", message))
        elif y in (lo, hi):
            message = (
                f"{lab['yi']} ({_g(y)}) equals a confidence limit; check the numbers (rounding "
                "in the paper?). The standard error is taken from the interval's width."
            )
            out.append(_warn("yi", message))
        else:
            out.extend(_asymmetry(y, lo, hi, scale))
    return out


def _asymmetry(y: float, lo: float, hi: float, scale: str) -> list[FieldError]:
    def lopsided(y, lo, hi):
        return abs((hi - y) - (y - lo)) / (hi - lo) > ASYMMETRY_TOLERANCE

    if scale == "log":
        y, lo, hi = math.log(y), math.log(lo), math.log(hi)
    if not lopsided(y, lo, hi):
        return []
    if scale == "identity" and lo > 0 and not lopsided(math.log(y), math.log(lo), math.log(hi)):
        message = (
            "The confidence interval is symmetric around the estimate on the log scale, not "
            "on the scale entered: if this is a ratio (OR, RR, HR) as printed, use scale='log'."
        )
    else:
        message = (
            "The confidence interval is not symmetric around the estimate on the analysis "
            "scale; check the numbers (the standard error is taken from the interval's width)."
        )
    return [_warn("ci_lb", message)]


def validate(
    measure: str, values: dict, *, scale: str = "identity", level: float = 95
) -> list[FieldError]:
    """Every problem with one study's ``values`` (a dict keyed by the form's field names;
    ``None``, NaN or "" mean "not given") for ``measure``.

    Errors (``severity="error"``) make :func:`effect` refuse; warnings do not. ``scale`` is
    :data:`SCALES` (``"log"`` for measure GEN only); ``level`` is the CI level used when the
    values do not contain ``"level"`` (GEN). Keys not in the form are ignored.
    """
    form = input_form(measure)
    _check_scale(form.measure, scale)
    converters.critical_value(level)  # raises for a meaningless default level
    problems, nums, given = _parse(form, values)
    family = _FAMILY[form.measure]
    if family == "2x2":
        problems += _check_two_by_two(form, nums)
    elif family == "proportion":
        problems += _check_proportion(form, nums)
    elif family == "generic":
        problems += _check_generic(form, nums, given, scale)
    return problems


# --------------------------------------------------------------------------------------------
# computation


def to_escalc(
    measure: str, values: dict, *, scale: str = "identity", level: float = 95
) -> dict[str, float]:
    """The study's values as keyword arguments of :func:`escalc` (scalars), after
    :func:`validate` (raises :class:`InputError` if it finds errors).

    2x2 measures give ``ai, bi, ci, di`` (``bi = n1i - ai``, ``di = n2i - ci``); GEN gives
    ``yi`` (logged with ``scale="log"``) and ``sei`` or ``vi`` (from the CI: ``sei =
    converters.se_from_ci(ci_lb, ci_ub, level=level, log=scale == "log")``); the others give the
    form's fields unchanged.
    """
    form = input_form(measure)
    problems = validate(form.measure, values, scale=scale, level=level)
    errors = [p for p in problems if p.is_error]
    if errors:
        raise InputError(form.measure, errors)
    nums = {
        f.name: float(values[f.name]) for f in form.fields if not _is_missing(values.get(f.name))
    }
    family = _FAMILY[form.measure]
    if family == "2x2":
        a, c = nums["ai"], nums["ci"]
        return {"ai": a, "bi": nums["n1i"] - a, "ci": c, "di": nums["n2i"] - c}
    if family != "generic":
        return nums
    y = math.log(nums["yi"]) if scale == "log" else nums["yi"]
    if "sei" in nums:
        return {"yi": y, "sei": nums["sei"]}
    if "vi" in nums:
        return {"yi": y, "vi": nums["vi"]}
    lvl = nums.get("level", level)
    se = converters.se_from_ci(nums["ci_lb"], nums["ci_ub"], level=lvl, log=scale == "log")
    return {"yi": y, "sei": se}


def effect(
    measure: str,
    values: dict,
    *,
    level: float = 95,
    scale: str = "identity",
    add: float = 0.5,
    to: str = "only0",
) -> tuple[float, float]:
    """The study's effect size and sampling variance ``(yi, vi)`` for ``measure``.

    Validates the values (raising :class:`InputError`, a ``MetaAnalysisError``, that lists every
    error), converts them with :func:`to_escalc` and computes them with the engine's
    :func:`escalc` (``add``, ``to`` as there), so the numbers are metafor's, including the 0.5
    continuity correction of tables with a zero cell. ``level`` is the CI level for GEN when the
    values do not give one; ``scale="log"`` says a GEN estimate and CI are ratios as printed.
    """
    form = input_form(measure)
    args = to_escalc(form.measure, values, scale=scale, level=level)
    es = escalc(form.measure, **{k: [v] for k, v in args.items()}, add=add, to=to)
    return float(es.yi[0]), float(es.vi[0])
