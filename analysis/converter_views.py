"""The extraction converters page: what reviewers compute by hand from what papers report
(a CI to a standard error, a median and IQR to a mean and SD, a t or F statistic to Hedges' g,
…), each a function of `analysis.engine.converters` with its method cited there."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.views.decorators.http import require_POST

from analysis.engine import MetaAnalysisError
from analysis.engine import converters as c
from review.access import abilities, review_for_user


@dataclass(frozen=True)
class Converter:
    title: str
    source: str  # the method, as cited
    fields: tuple[tuple[str, str], ...]  # (name, label)
    run: object  # callable(values: dict[str, float]) -> str


def _g(result) -> str:
    return (
        f"Hedges' g = {result.yi:.4f}, variance {result.vi:.4f} "
        f"(d = {result.d:.4f}, J = {result.j:.4f})"
    )


def _log_se(v) -> str:
    se = c.se_from_ci(v["lb"], v["ub"], level=v.get("level") or 95, log=True)
    return f"SE of the log ratio = {se:.6g}"


def _sign(values) -> int:
    return -1 if values.get("sign", 1) < 0 else 1


CONVERTERS = {
    "se-from-ci": Converter(
        "Standard error from a confidence interval",
        "Cochrane Handbook 6.3.1: SE = (upper − lower) / (2 × z)",
        (("lb", "Lower limit"), ("ub", "Upper limit"), ("level", "Level (%)")),
        lambda v: f"SE = {c.se_from_ci(v['lb'], v['ub'], level=v.get('level') or 95):.6g}",
    ),
    "se-from-ci-ratio": Converter(
        "Standard error of a log ratio (OR, RR, HR) from its confidence interval",
        "Cochrane Handbook 6.3.2: SE = (ln upper − ln lower) / (2 × z); the estimate is ln(ratio)",
        (("lb", "Lower limit (ratio)"), ("ub", "Upper limit (ratio)"), ("level", "Level (%)")),
        _log_se,
    ),
    "sd-from-se": Converter(
        "SD of a group from the standard error of its mean",
        "Cochrane Handbook 6.5.2.2: SD = SE × √n",
        (("se", "Standard error"), ("n", "Sample size")),
        lambda v: f"SD = {c.sd_from_se(v['se'], v['n']):.6g}",
    ),
    "mean-sd-from-iqr": Converter(
        "Mean and SD from the median and interquartile range",
        "Wan et al. (2014), BMC Med Res Methodol 14:135, scenario C3",
        (("q1", "First quartile"), ("median", "Median"), ("q3", "Third quartile"),
         ("n", "Sample size")),
        lambda v: "mean = {0.mean:.6g}, SD = {0.sd:.6g}".format(
            c.mean_sd_from_median_iqr(v["q1"], v["median"], v["q3"], v["n"])
        ),
    ),
    "mean-sd-from-range": Converter(
        "Mean and SD from the median and range",
        "Wan et al. (2014), BMC Med Res Methodol 14:135, scenario C1",
        (("minimum", "Minimum"), ("median", "Median"), ("maximum", "Maximum"),
         ("n", "Sample size")),
        lambda v: "mean = {0.mean:.6g}, SD = {0.sd:.6g}".format(
            c.mean_sd_from_median_range(v["minimum"], v["median"], v["maximum"], v["n"])
        ),
    ),
    "smd-from-t": Converter(
        "Hedges' g from a two-sample t statistic",
        "d = t √(1/n1 + 1/n2), g = J d with metafor's exact J; vi as escalc(\"SMD\")",
        (("t", "t statistic"), ("n1", "n, group 1"), ("n2", "n, group 2")),
        lambda v: _g(c.smd_from_t(v["t"], v["n1"], v["n2"])),
    ),
    "smd-from-f": Converter(
        "Hedges' g from the F statistic of two groups",
        "t = ±√F (sign: +1 if group 1 is higher, −1 if lower), then as from t",
        (("f", "F statistic"), ("n1", "n, group 1"), ("n2", "n, group 2"),
         ("sign", "Direction (+1 or −1)")),
        lambda v: _g(c.smd_from_f(v["f"], v["n1"], v["n2"], sign=_sign(v))),
    ),
    "combine-groups": Converter(
        "Combine two groups into one (n, mean, SD)",
        "Cochrane Handbook Table 6.5.a",
        (("n1", "n, group 1"), ("mean1", "Mean, group 1"), ("sd1", "SD, group 1"),
         ("n2", "n, group 2"), ("mean2", "Mean, group 2"), ("sd2", "SD, group 2")),
        lambda v: "n = {0.n:g}, mean = {0.mean:.6g}, SD = {0.sd:.6g}".format(
            c.combine_groups(v["n1"], v["mean1"], v["sd1"], v["n2"], v["mean2"], v["sd2"])
        ),
    ),
}  # fmt: skip


def page(request, slug):
    review = review_for_user(request.user, slug)
    return render(
        request,
        "analysis/converters.html",
        {
            "review": review,
            "can": abilities(request.user, review),
            "tab": "extraction",
            "converters": CONVERTERS.items(),
        },
    )


def convert(name: str, raw: dict) -> str:
    """The result line of converter `name` for the raw form values; ValueError when they are
    missing or not numbers, MetaAnalysisError (a ValueError) when the method refuses them."""
    converter = CONVERTERS[name]
    values = {}
    for field, label in converter.fields:
        text = (raw.get(field) or "").strip()
        if not text:
            if field in ("level", "sign"):
                continue
            raise ValueError(f"{label}: required.")
        try:
            values[field] = float(text)
        except ValueError:
            raise ValueError(f"{label}: {text!r} is not a number.") from None
    return converter.run(values)


@require_POST
def run(request, slug, name):
    review_for_user(request.user, slug)
    if name not in CONVERTERS:
        return HttpResponse('<span class="error">No such converter.</span>', status=404)
    try:
        text = convert(name, request.POST)
    except (ValueError, MetaAnalysisError) as exc:
        return HttpResponse(f'<span class="error">{escape(str(exc))}</span>')
    return HttpResponse(f"<strong>{escape(text)}</strong>")
