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


CLI_LABELS = {"meta": "meta (R) defaults", "revman": "RevMan Web defaults"}


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
        parser.add_argument(
            "--method", default=None, type=str.upper, choices=METHODS,
            help="tau2 estimator (default REML; FE: the common effect, Mantel-Haenszel for 2x2 "
            "tables under --convention meta and revman)",
        )  # fmt: skip
        parser.add_argument(
            "--test", default=None, type=str.lower, choices=TESTS,
            help="z (default) or knha (Hartung-Knapp; the default under --convention revman)",
        )  # fmt: skip
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
            "(escalc's drop00; meta and revman always do, as meta's allstudies = FALSE)",
        )  # fmt: skip
        parser.add_argument(
            "--convention", choices=("metafor", "meta", "revman"), default="metafor",
            help="metafor (default); meta: R meta 8.4's defaults (its study effects and "
            "zero-cell rules, Mantel-Haenszel common effect, t(k-1) prediction interval, I2 "
            "from Q, the GLMM for proportions); revman: RevMan Web's (as meta, with the "
            "Hartung-Knapp CI by default). The same numbers as the analysis page's conventions",
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
            self._convention(options, inputs, slab, level)
            return
        options["method"] = options["method"] or "REML"
        options["test"] = options["test"] or "z"
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

    def _convention(self, options, inputs, slab, level) -> None:
        """The analysis under meta's or RevMan Web's conventions (`analysis.report.analyse`,
        as the analysis page computes it), on the natural scale for RR, OR, r and
        proportions unless --scale analysis."""
        from analysis.report import (
            CONVENTION_DEFAULTS,
            ZeroCellRules,
            analyse,
            transform_for,
        )

        convention, measure = options["convention"], options["measure"]
        k = len(next(iter(inputs.values())))
        rows = [{name: float(values[i]) for name, values in inputs.items()} for i in range(k)]
        for row in rows:  # escalc's 2x2 cells -> the group sizes meta takes
            if "bi" in row and "n1i" not in row:
                row["n1i"] = row["ai"] + row["bi"]
            if "di" in row and "n2i" not in row:
                row["n2i"] = row["ci"] + row["di"]
            if "vi" in row and "sei" not in row:  # a negative vi is refused downstream
                row["sei"] = math.sqrt(row["vi"]) if row["vi"] >= 0 else math.nan
        labels = list(slab or [str(i + 1) for i in range(k)])
        defaults = CONVENTION_DEFAULTS[convention]
        method = options["method"] or defaults["method"]
        test = options["test"] or defaults["test"]
        if not (options["add"] >= 0 and options["add"] < 1e6):
            raise CommandError(f"--add must be 0 or more (got {options['add']:g}).")
        rules = ZeroCellRules(add=options["add"], to=options["to"],
                              drop00=True if options["drop00"] else None)  # fmt: skip
        try:
            rep = analyse(labels, rows, measure=measure, method=method, test=test, level=level,
                          convention=convention, zero_cells=rules)  # fmt: skip
        except (KeyError, ValueError) as exc:
            raise CommandError(f"Measure {measure!r} needs other columns: {exc}.") from exc
        except MetaAnalysisError as exc:
            raise CommandError(str(exc)) from exc
        m = rep.main
        _, f = transform_for(measure)
        natural = f is not None and options["scale"] == "natural"

        def back(x):
            if x is None or not natural:
                return x
            try:
                return float(f(x))
            except OverflowError:
                return math.inf

        glmm = "GLMM" in m.label
        ci_method = "Hartung-Knapp, t(k − 1)" if test == "knha" else "normal (z)"
        out = finite({
            "measure": measure, "convention": convention,
            "label": CLI_LABELS[convention],
            "model": m.label, "method": method, "test": test, "k": m.k, "level": level,
            "scale": NATURAL[measure][1] if natural else "analysis",
            "estimate": back(m.estimate), "ci_lb": back(m.ci_lb), "ci_ub": back(m.ci_ub),
            "pi_lb": back(m.pi_lb), "pi_ub": back(m.pi_ub),
            "ci_method": ci_method + (", GLMM" if glmm else ""),
            "pi_method": "t(k − 1)" if m.pi_lb is not None else "",
            "tau2": m.tau2, "i2": m.i2, "i2_lb": m.i2_lb, "i2_ub": m.i2_ub, "q": m.q,
            "q_df": m.q_df, "q_pval": m.q_pval, "pval": m.pval,
            "analysis": {"estimate": m.estimate, "se": m.se, "ci_lb": m.ci_lb,
                         "ci_ub": m.ci_ub, "pi_lb": m.pi_lb, "pi_ub": m.pi_ub},
            "studies": [{"slab": lab, "yi": y, "vi": v, "weight": w} for lab, y, v, w in
                        zip(rep.labels, rep.yi, rep.vi, rep.weights, strict=True)],
            "notes": rep.notes,
        })  # fmt: skip
        if options["json"]:
            self.stdout.write(json.dumps(out, indent=2, allow_nan=False))
            return

        def fx(x, spec=".4f"):
            return "NA" if x is None else format(x, spec)

        lines = [
            f"Measure: {measure}   {out['label']}   {m.label}   k = {m.k}   level: {level:g}%",
            f"estimate ({out['scale']} scale) = {fx(out['estimate'])} "
            f"[{fx(out['ci_lb'])}, {fx(out['ci_ub'])}]   (CI: {out['ci_method']})",
            f"prediction interval [{fx(out['pi_lb'])}, {fx(out['pi_ub'])}] "
            f"({out['pi_method'] or 'none for a common effect'})",
            f"tau2 = {fx(m.tau2)}   I2 = {fx(m.i2, '.2f')}% "
            f"[{fx(m.i2_lb, '.2f')}, {fx(m.i2_ub, '.2f')}]   Q = {fx(m.q)} (df = {m.q_df})",
        ]
        lines += [f"Note: {n}" for n in rep.notes]
        self.stdout.write("\n".join(lines) + "\n")

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
