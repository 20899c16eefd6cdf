"""``manage.py meta_analyze FILE.csv --measure SMD --method REML [--test knha] [--level 95]
[--json]``: a meta-analysis of a CSV of study data, without a review.

A thin wrapper: it reads the columns named as metafor's arguments (``ai, bi, ci, di``,
``m1i, sd1i, n1i, ...``, ``ri, ni``, ``xi, ni``, or ``yi, vi``/``sei``) and an optional
``study``/``slab`` label column, then calls ``analysis.engine`` (escalc, rma, predict).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis.engine import MetaAnalysisError, escalc, predict, rma
from analysis.engine.effect_sizes import MEASURES
from analysis.engine.model import METHODS, TESTS
from analysis.exports import finite
from analysis.study_table import TableError, read_study_table

#: measure: (back-transform, the natural scale's name, the analysis scale's name)
NATURAL = {
    "RR": ("exp", "RR", "log RR"),
    "OR": ("exp", "OR", "log OR"),
    "ZCOR": ("tanh", "r", "Fisher's z"),
    "PLO": ("ilogit", "proportion", "log odds"),
}


def _level(text: str) -> float:
    """--level: a confidence level strictly between 0 and 100 (percent; metafor also reads
    values up to 1 as fractions, so 0.95 is 95%)."""
    try:
        level = float(text)
    except ValueError:
        raise CommandError(f"--level must be a number between 0 and 100, not {text!r}.") from None
    if not 0 < level < 100:
        raise CommandError(f"--level must be between 0 and 100 (exclusive), not {text}.")
    return level


class Command(BaseCommand):
    help = "Meta-analyse a CSV of study data (columns named as metafor's escalc arguments)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file, one row per study")
        parser.add_argument("--measure", default="GEN", type=str.upper, choices=MEASURES)
        parser.add_argument("--method", default="REML", type=str.upper, choices=METHODS)
        parser.add_argument("--test", default="z", type=str.lower, choices=TESTS)
        parser.add_argument("--level", default="95", help="confidence level, 0 < level < 100")
        parser.add_argument(
            "--decimal", choices=("point", "comma"), default=None,
            help="the decimal separator (default: a point, or a comma in a semicolon- or "
            "tab-separated file whose numbers hold commas)",
        )  # fmt: skip
        parser.add_argument(
            "--scale", choices=("natural", "analysis"), default="natural",
            help="natural (default): also print RR, OR, r and proportions back-transformed from "
            "the analysis scale (log RR, log OR, Fisher's z, log odds); analysis: only that scale",
        )  # fmt: skip
        parser.add_argument(
            "--add", type=float, default=0.5,
            help="2x2 tables and proportions: the value added to cells (escalc's add, 0.5)",
        )  # fmt: skip
        parser.add_argument(
            "--to", choices=("only0", "all", "if0all", "none"), default="only0",
            help="which studies get it: only0 (a zero cell, the default), all, if0all (all "
            "studies when one has a zero cell), none (escalc's to)",
        )  # fmt: skip
        parser.add_argument(
            "--drop00", action="store_true",
            help="leave out studies with no events (or only events) in both groups "
            "(escalc's drop00)",
        )  # fmt: skip
        parser.add_argument(
            "--convention", choices=("metafor", "meta", "revman"), default="metafor",
            help="metafor (default: the options above); meta: R meta 8.4's defaults (its study "
            "effects, REML, t(k-1) prediction interval, I2 from Q); revman: RevMan Web's "
            "(as meta, with the Hartung-Knapp CI). meta and revman ignore --method and --test",
        )  # fmt: skip
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args, **options):
        path = Path(options["file"])
        level = _level(options["level"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        try:
            table = read_study_table(data, path.name, decimal=options["decimal"])
        except TableError as exc:
            raise CommandError(str(exc)) from exc
        inputs, slab = table.columns, table.labels
        if options["convention"] != "metafor":
            self._convention(options["convention"], options["measure"], inputs, slab, level,
                             options["json"])  # fmt: skip
            return
        try:
            if not (options["add"] >= 0 and options["add"] < 1e6):
                raise MetaAnalysisError(f"--add must be 0 or more (got {options['add']:g}).")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", UserWarning)
                es = escalc(options["measure"], **inputs, slab=slab, add=options["add"],
                            to=options["to"], drop00=options["drop00"])  # fmt: skip
            for warning in caught:  # e.g. the double-zero tables drop00 left out
                self.stderr.write(f"Note: {warning.message}")
            res = rma(es, method=options["method"], test=options["test"], level=level)
            pred = predict(res)
        except MetaAnalysisError as exc:
            raise CommandError(str(exc)) from exc
        result = {
            "measure": es.measure,
            "model": res.as_dict(),
            "predict": pred.as_dict(),
            "studies": [
                {"slab": label, "yi": float(y), "vi": float(v), "weight": float(w)}
                for label, y, v, w in zip(
                    es.slab or [str(i + 1) for i in range(len(es))], es.yi, es.vi,
                    res.weights, strict=True,
                )
            ],
        }
        natural = NATURAL.get(es.measure)
        if natural and options["scale"] == "natural":
            transform, name, analysis_name = natural
            back = predict(res, transf=transform)
            result["natural"] = {
                "transform": transform, "name": name, "analysis_scale": analysis_name,
                "estimate": float(back.pred), "ci_lb": float(back.ci_lb),
                "ci_ub": float(back.ci_ub),
                "pi_lb": None if back.pi_lb is None else float(back.pi_lb),
                "pi_ub": None if back.pi_ub is None else float(back.pi_ub),
            }  # fmt: skip
        result = finite(result)  # NaN and infinities as None (JSON null, "NA" in the table)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, allow_nan=False))
        else:
            self.stdout.write(self._table(result))

    def _convention(self, convention, measure, inputs, slab, level, as_json) -> None:
        """The random-effects result as meta or RevMan Web print it by default
        (`analysis.conventions`), on the natural scale for RR, OR, r and proportions."""
        from analysis.conventions import compare

        k = len(next(iter(inputs.values())))
        rows = [{name: float(values[i]) for name, values in inputs.items()} for i in range(k)]
        for row in rows:  # escalc's 2x2 cells -> the group sizes meta takes
            if "bi" in row and "n1i" not in row:
                row["n1i"] = row["ai"] + row["bi"]
            if "di" in row and "n2i" not in row:
                row["n2i"] = row["ci"] + row["di"]
            if "vi" in row and "sei" not in row:  # a negative vi is refused downstream
                row["sei"] = math.sqrt(row["vi"]) if row["vi"] >= 0 else math.nan
        labels = slab or [str(i + 1) for i in range(k)]
        try:
            chosen = next(r for r in compare(measure, rows, labels, level=level)
                          if r.convention == convention)  # fmt: skip
        except (KeyError, ValueError) as exc:
            raise CommandError(f"Measure {measure!r} needs other columns: {exc}.") from exc
        if chosen.error:
            raise CommandError(chosen.error)
        out = finite(chosen.as_dict()) | {"measure": measure, "k": k}
        if as_json:
            self.stdout.write(json.dumps(out, indent=2, allow_nan=False))
            return

        def f(x, spec=".4f"):
            return "NA" if x is None else format(x, spec)

        self.stdout.write("\n".join([
            f"Measure: {measure}   {out['label']}   k = {k}   level: {level:g}%",
            f"estimate = {f(out['estimate'])} [{f(out['ci_lb'])}, {f(out['ci_ub'])}]   "
            f"(CI: {out['ci_method']})",
            f"prediction interval [{f(out['pi_lb'])}, {f(out['pi_ub'])}] ({out['pi_method']})",
            f"tau2 = {f(out['tau2'])}   I2 = {f(out['i2'], '.2f')}% "
            f"[{f(out['i2_lb'], '.2f')}, {f(out['i2_ub'], '.2f')}]",
        ]) + "\n")  # fmt: skip

    @staticmethod
    def _table(result: dict) -> str:
        m, p = result["model"], result["predict"]
        stat = "tval" if m["test"] == "knha" else "zval"

        def f(x, spec=".4f"):
            return "NA" if x is None else format(x, spec)

        lines = [
            f"Measure: {result['measure']}   method: {m['method']}   test: {m['test']}   "
            f"k = {m['k']}   level: {m['level']:g}%",
            "",
            f"{'b':>10} {'se':>10} {stat:>10} {'pval':>10} {'ci_lb':>10} {'ci_ub':>10}",
            f"{f(m['b']):>10} {f(m['se']):>10} {f(m['zval']):>10} {f(m['pval'], '.4g'):>10} "
            f"{f(m['ci_lb']):>10} {f(m['ci_ub']):>10}",
            "",
            f"pi_lb = {f(p['pi_lb'])}   pi_ub = {f(p['pi_ub'])}",
            f"tau2 = {f(m['tau2'])} (se_tau2 = {f(m['se_tau2'])})   tau = {f(m['tau'])}   "
            f"i2 = {f(m['i2'], '.2f')}%   h2 = {f(m['h2'])}",
            f"qe({m['qe_df']}) = {f(m['qe'])}   qep = {f(m['qep'], '.4g')}",
            "",
            f"{'study':<30} {'yi':>10} {'vi':>10} {'weight %':>9}",
        ]
        n = result.get("natural")
        if n:
            lines[2:2] = [
                f"{n['name']} = {f(n['estimate'])} [{f(n['ci_lb'])}, {f(n['ci_ub'])}]   "
                f"prediction interval [{f(n['pi_lb'])}, {f(n['pi_ub'])}]",
                f"(back-transformed; below, the analysis scale: {n['analysis_scale']})",
                "",
            ]
        elif result["measure"] in NATURAL:
            lines[2:2] = [f"On the analysis scale: {NATURAL[result['measure']][2]}", ""]
        lines += [
            f"{s['slab'][:30]:<30} {f(s['yi']):>10} {f(s['vi']):>10} {f(s['weight'], '.2f'):>9}"
            for s in result["studies"]
        ]
        return "\n".join(lines) + "\n"
