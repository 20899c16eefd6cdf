"""``manage.py meta_analyze FILE.csv --measure SMD --method REML [--test knha] [--level 95]
[--json]``: a meta-analysis of a CSV of study data, without a review.

A thin wrapper: it reads the columns named as metafor's arguments (``ai, bi, ci, di``,
``m1i, sd1i, n1i, ...``, ``ri, ni``, ``xi, ni``, or ``yi, vi``/``sei``) and an optional
``study``/``slab`` label column, then calls ``analysis.engine`` (escalc, rma, predict).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis.engine import MetaAnalysisError, escalc, predict, rma
from analysis.engine.effect_sizes import MEASURES
from analysis.engine.model import METHODS, TESTS
from analysis.exports import finite

INPUT_COLUMNS = ("ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "m2i", "sd1i", "sd2i",
                 "xi", "ni", "ri", "yi", "vi", "sei")
LABEL_COLUMNS = ("study", "slab")


def _number(text: str) -> float:
    text = text.strip()
    if text in ("", "NA", "NaN", "nan"):
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise CommandError(f"Not a number: {text!r}.") from None


class Command(BaseCommand):
    help = "Meta-analyse a CSV of study data (columns named as metafor's escalc arguments)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file, one row per study")
        parser.add_argument("--measure", default="GEN", type=str.upper, choices=MEASURES)
        parser.add_argument("--method", default="REML", type=str.upper, choices=METHODS)
        parser.add_argument("--test", default="z", type=str.lower, choices=TESTS)
        parser.add_argument("--level", default=95.0, type=float)
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        if not rows:
            raise CommandError(f"{path} has no data rows.")
        header = {name.strip(): name for name in rows[0]}
        inputs = {
            col: [_number(row[header[col]]) for row in rows]
            for col in INPUT_COLUMNS if col in header
        }
        label_col = next((header[c] for c in LABEL_COLUMNS if c in header), None)
        slab = [row[label_col].strip() for row in rows] if label_col else None
        try:
            es = escalc(options["measure"], **inputs, slab=slab)
            res = rma(es, method=options["method"], test=options["test"],
                      level=options["level"])
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
        if options["json"]:
            self.stdout.write(json.dumps(finite(result), indent=2, allow_nan=False))
        else:
            self.stdout.write(self._table(result))

    @staticmethod
    def _table(result: dict) -> str:
        m, p = result["model"], result["predict"]
        stat = "tval" if m["test"] == "knha" else "zval"

        def f(x):
            return "NA" if x is None else f"{x:.4f}"

        lines = [
            f"Measure: {result['measure']}   method: {m['method']}   test: {m['test']}   "
            f"k = {m['k']}   level: {m['level']:g}%",
            "",
            f"{'b':>10} {'se':>10} {stat:>10} {'pval':>10} {'ci_lb':>10} {'ci_ub':>10}",
            f"{f(m['b']):>10} {f(m['se']):>10} {f(m['zval']):>10} {m['pval']:>10.4g} "
            f"{f(m['ci_lb']):>10} {f(m['ci_ub']):>10}",
            "",
            f"pi_lb = {f(p['pi_lb'])}   pi_ub = {f(p['pi_ub'])}",
            f"tau2 = {f(m['tau2'])} (se_tau2 = {f(m['se_tau2'])})   tau = {f(m['tau'])}   "
            f"i2 = {m['i2']:.2f}%   h2 = {m['h2']:.4f}",
            f"qe({m['qe_df']}) = {m['qe']:.4f}   qep = {m['qep']:.4g}",
            "",
            f"{'study':<30} {'yi':>10} {'vi':>10} {'weight %':>9}",
        ]
        lines += [
            f"{s['slab'][:30]:<30} {s['yi']:>10.4f} {s['vi']:>10.4f} {s['weight']:>9.2f}"
            for s in result["studies"]
        ]
        return "\n".join(lines) + "\n"
