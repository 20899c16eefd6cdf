"""The finished meta-analysis as one ZIP: the extraction data, the results, the plots, the PRISMA
diagram and counts, and two scripts (R with metafor; Python with this project's engine) that
recompute every pooled number from the exported CSVs.

Every CSV cell goes through `review.cells.safe_cell`: user text starting with = + - @ gets a
leading apostrophe, so no spreadsheet runs it as a formula; numbers (also negative ones) are
written as they are.

The archive is deterministic (fixed member dates, sorted members), so the same review exports
the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from dataclasses import dataclass

from django.utils.text import slugify

from analysis import extraction, plotting
from analysis import report as reports
from analysis.engine import MetaAnalysisError
from analysis.models import ROB2_DOMAINS, DataType, Outcome
from review.cells import safe_cell

ZIP_DATE = (2000, 1, 1, 0, 0, 0)


def _slug(name: str) -> str:
    return slugify(name) or "outcome"


def _num(value) -> str:
    """Full precision (repr) so that the scripts read back exactly the numbers computed; a
    number that is not finite (NaN, ±inf: a t statistic of a zero standard error) is NA."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else NA
    return str(value)


NA = "NA"


def finite(value):
    """`value` (dicts, lists and tuples of numbers and text) with every NaN and ±inf as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def dumps_json(value) -> str:
    """The export's JSON: non-finite numbers as null (`finite`), and `allow_nan=False` so that
    a NaN or Infinity token can never be written (it is not JSON: strict readers refuse it)."""
    return json.dumps(
        finite(value), indent=2, sort_keys=True, allow_nan=False, default=_json_default
    )


def _csv(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(_num(row.get(h))) for h in header])
    return out.getvalue().encode("utf-8")


@dataclass
class OutcomeExport:
    outcome: Outcome
    file: str
    slug: str
    manifest: dict
    data_csv: bytes
    report: reports.Report | None
    error: str | None


def _outcome_export(outcome: Outcome, used: set[str]) -> OutcomeExport:
    slug = _slug(outcome.name)
    while slug in used:
        slug += "-x"
    used.add(slug)
    rows = extraction.outcome_rows(
        outcome, subgroup_by=outcome.subgroup_by, regress_on=outcome.regress_on
    )
    fields = list(outcome.fields)
    report = error = None
    try:
        report = extraction.run_analysis(outcome, rows=rows)
    except MetaAnalysisError as exc:
        error = str(exc)
    header = ["study", *fields]
    if rows.groups is not None:
        header.append("subgroup")
    if rows.covariate is not None:
        header.append("covariate")
    header += [f"rob_{d}" for d, _ in ROB2_DOMAINS] + ["rob_overall", "yi", "vi"]
    pooled_at = {} if report is None else {lab: i for i, lab in enumerate(report.labels)}
    table = []
    for i, label in enumerate(rows.labels):
        row = {"study": label, **{f: rows.rows[i].get(f) for f in fields}}
        if rows.groups is not None:
            row["subgroup"] = rows.groups[i] or ""
        if rows.covariate is not None:
            row["covariate"] = rows.covariate[i]
        rob = rows.rob[i] or {}
        row |= {f"rob_{k}": v for k, v in rob.items()}
        if report is not None and label in pooled_at:  # a convention may leave a study out
            row["yi"], row["vi"] = report.yi[pooled_at[label]], report.vi[pooled_at[label]]
        table.append(row)
    manifest = {
        "name": outcome.name,
        "data": f"data/{slug}.csv",
        "data_type": outcome.data_type,
        "fields": fields,
        "measure": outcome.measure,
        "method": outcome.method,
        "test": outcome.test,
        "level": outcome.level,
        "log_scale": outcome.log_scale,
        "convention": outcome.convention,
        # the continuity correction of 2x2 tables and proportions (drop00 resolved for the
        # convention: metafor keeps double-zero tables, meta and RevMan Web leave them out)
        "zero_cells": {
            "add": outcome.zero_add,
            "to": outcome.zero_to,
            "drop00": extraction.zero_cell_rules(
                outcome.zero_add, outcome.zero_to, outcome.double_zero
            ).drops(outcome.convention),
        },
        "subgroup": outcome.subgroup_by.name if outcome.subgroup_by else None,
        "covariate": outcome.regress_on.name if outcome.regress_on else None,
        "error": error,
    }
    return OutcomeExport(
        outcome, f"data/{slug}.csv", slug, manifest, _csv(header, table), report, error
    )


def build_zip(review, *, with_prisma: bool = True) -> bytes:
    """The export of `review` (every outcome with its saved analysis settings). Without
    `with_prisma` (a reviewer while screening is blind for them) the PRISMA part is a note."""
    members: dict[str, bytes] = {}
    used: set[str] = set()
    exports = [
        _outcome_export(o, used)
        for o in review.outcomes.select_related("subgroup_by", "regress_on")
    ]
    results = []
    for e in exports:
        members[e.file] = e.data_csv
        if e.report is None:
            continue
        results += reports.result_rows(e.outcome.name, e.report)
        payload = {"outcome": e.manifest, "report": e.report.as_dict()}
        members[f"results/{e.slug}.json"] = dumps_json(payload).encode()
        settings = {
            "measure": e.outcome.measure,
            "method": e.outcome.method,
            "test": e.outcome.test,
            "level": e.outcome.level,
            "subgroup_by": e.outcome.subgroup_by,
            "regress_on": e.outcome.regress_on,
        }
        kinds = ["forest"] + (["funnel"] if e.report.main.k >= 3 else [])
        kinds += ["bubble"] if e.report.metareg else []
        for kind in kinds:
            for fmt in ("svg", "png"):
                members[f"plots/{e.slug}-{kind}.{fmt}"] = plotting.plot_bytes(
                    kind, fmt, e.outcome, settings, e.report
                )
    members["results/results.csv"] = _csv(reports.RESULT_COLUMNS, results)
    members["extraction.csv"] = extraction.sheet_csv(review).encode("utf-8")
    if with_prisma:
        members.update(_prisma_members(review))
    else:
        members["prisma/NOT-INCLUDED.txt"] = (
            b"The PRISMA 2020 diagram and counts are left out: screening is blind for you until "
            b"a lead lifts its blinding (leads and resolvers get them).\n"
        )
    manifest = {"review": review.title, "outcomes": [e.manifest for e in exports]}
    members["manifest.json"] = dumps_json(manifest).encode()
    members["analysis.R"] = r_script(exports).encode()
    if any(e.manifest["convention"] != "metafor" and e.report is not None for e in exports):
        members["analysis_meta.R"] = meta_script(exports).encode()
    members["analysis.py"] = PYTHON_SCRIPT.encode()
    members["README.txt"] = _readme(review, exports).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, members[name])
    return out.getvalue()


def _json_default(value):
    if hasattr(value, "pk"):
        return value.pk
    raise TypeError(f"not JSON: {type(value).__name__}")


def _prisma_members(review) -> dict[str, bytes]:
    from analysis import prisma_diagram
    from screening.prisma import prisma_counts, to_template_csv

    counts = prisma_counts(review)
    members = {"prisma/counts.csv": to_template_csv(counts).encode("utf-8")}
    try:
        svg = prisma_diagram.review_diagram_svg(review, counts=counts)
    except prisma_diagram.DiagramError as exc:
        members["prisma/NOT-DRAWN.txt"] = f"The PRISMA diagram was not drawn: {exc}\n".encode()
        return members
    members["prisma/diagram.svg"] = svg.encode("utf-8")
    members["prisma/diagram.png"] = prisma_diagram.to_png(svg)
    return members


# --- the scripts ----------------------------------------------------------------------------------

R_ESCALC = {
    DataType.BINARY: "ai = ai, bi = n1i - ai, ci = ci, di = n2i - ci",
    DataType.CONTINUOUS: "m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i",
    DataType.CORRELATION: "ri = ri, ni = ni",
    DataType.PROPORTION: "xi = xi, ni = ni",
    DataType.GENERIC: "yi = yi, sei = sei",
}

#: Text cells that started with = + - @ were written with a leading apostrophe (no spreadsheet
#: runs them as formulas); this R function takes it off again (review/cells.py, unquote_cell).
R_UNQUOTE = """\
# Text cells that started with = + - @ were written with a leading apostrophe (no spreadsheet
# runs them as formulas); this takes it off again (review/cells.py, unquote_cell).
unquote <- function(x) {
  if (!is.character(x)) return(x)
  rest <- sub("^'+", "", x)
  number <- grepl("^-?([0-9]+([.,][0-9]+)?|[.,][0-9]+)([eE][+-]?[0-9]+)?$", rest)
  quoted <- grepl("^'", x) & grepl("^[-=+@\\t\\r]", rest) & !number
  ifelse(quoted, substring(x, 2), x)
}
"""

R_HEADER = """\
# Recomputes every pooled number of this export with R's metafor (escalc + rma), from the CSVs
# in data/, and writes them to results_r.csv (the same columns as results/results.csv, on the
# analysis scale). Run in this folder:   Rscript analysis.R
# Needs metafor (install.packages("metafor"); Debian: apt-get install r-cran-metafor).
suppressPackageStartupMessages(library(metafor))

row <- function(outcome, model, res) {
  p <- predict(res)
  pick <- function(x) if (is.null(x)) NA else as.numeric(x)[1]
  data.frame(outcome = outcome, model = model, k = res$k, estimate = as.numeric(res$b)[1],
             se = res$se[1], ci_lb = res$ci.lb[1], ci_ub = res$ci.ub[1], pval = res$pval[1],
             tau2 = res$tau2, i2 = res$I2, h2 = res$H2, q = res$QE, q_pval = res$QEp,
             pi_lb = pick(p$pi.lb), pi_ub = pick(p$pi.ub))
}
coefficients <- function(outcome, res, name) {
  data.frame(outcome = outcome, model = c("metareg:intrcpt", paste0("metareg:", name)),
             k = res$k, estimate = as.numeric(res$b), se = res$se, ci_lb = res$ci.lb,
             ci_ub = res$ci.ub, pval = res$pval, tau2 = res$tau2, i2 = NA, h2 = NA, q = NA,
             q_pval = NA, pi_lb = NA, pi_ub = NA)
}
# meta's (and RevMan Web's) conventions from a metafor fit `res` (and `res0`, the same model
# with normal-quantile tests): I2 and H2 from Q, the prediction interval on t(k - 1) with the
# classic standard error, as R's meta prints them (its tau2, CI and Hartung-Knapp are metafor's)
meta_row <- function(outcome, model, res, res0, level) {
  df <- res$k - 1
  Q <- res$QE
  crit <- qt(1 - (1 - level / 100) / 2, df)
  spred <- sqrt(res0$se^2 + res0$tau2)
  data.frame(outcome = outcome, model = model, k = res$k, estimate = as.numeric(res$b)[1],
             se = res$se[1], ci_lb = res$ci.lb[1], ci_ub = res$ci.ub[1], pval = res$pval[1],
             tau2 = res$tau2, i2 = if (Q > 0) 100 * max(0, (Q - df) / Q) else 0,
             h2 = max(1, Q / df), q = Q, q_pval = res$QEp,
             pi_lb = as.numeric(res$b)[1] - crit * spred,
             pi_ub = as.numeric(res$b)[1] + crit * spred)
}
# meta's common effect: Mantel-Haenszel (2x2 tables, meta's increments kept: MH.exact = FALSE)
# or inverse variance, with Q and I2 of the inverse-variance model
common_row <- function(outcome, est, iv) {
  df <- iv$k - 1
  Q <- iv$QE
  data.frame(outcome = outcome, model = "main", k = iv$k, estimate = as.numeric(est$b)[1],
             se = est$se[1], ci_lb = est$ci.lb[1], ci_ub = est$ci.ub[1], pval = est$pval[1],
             tau2 = 0, i2 = if (Q > 0) 100 * max(0, (Q - df) / Q) else 0, h2 = max(1, Q / df),
             q = Q, q_pval = iv$QEp, pi_lb = NA, pi_ub = NA)
}
out <- NULL
"""


def _r_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def r_script(exports: list[OutcomeExport]) -> str:
    parts = [R_HEADER, R_UNQUOTE]
    for e in exports:
        m = e.manifest
        name = _r_string(m["name"])
        if e.report is None:
            parts.append(f"\n# {m['name']}: not analysed ({e.error})\n")
            continue
        args = f'method = "{m["method"]}", test = "{m["test"]}", level = {m["level"]!r}'
        parts.append(f"""
# ---- {m["name"]} ({reports.CONVENTION_LABELS[m["convention"]]}) ----
dat <- read.csv("{m["data"]}", check.names = FALSE, stringsAsFactors = FALSE)
dat$study <- unquote(dat$study)
if (!is.null(dat$subgroup)) dat$subgroup <- unquote(dat$subgroup)
""")
        parts.append(_r_main(m, name, args))
        parts.append(f"""for (m in c("DL", "REML", "PM")) for (t in c("z", "knha"))
  out <- rbind(out, {_r_panel_row(m, name)})
""")
        if m["subgroup"] and e.report.subgroups:
            parts.append(f"""sub <- dat[!is.na(dat$subgroup) & dat$subgroup != "", ]
for (g in unique(sub$subgroup))
  out <- rbind(out, row({name}, paste0("subgroup:", g),
                        rma(yi, vi, data = sub[sub$subgroup == g, ], {args})))
""")
        if m["covariate"] and e.report.metareg:
            parts.append(f"""reg <- dat[!is.na(dat$covariate), ]
fit <- rma(yi, vi, mods = ~ covariate, data = reg, {args})
out <- rbind(out, coefficients({name}, fit, {_r_string(m["covariate"])}))
""")
    parts.append(
        '\nwrite.csv(out, "results_r.csv", row.names = FALSE)\ncat("Wrote results_r.csv\\n")\n'
    )
    return "".join(parts)


def _r_zero(m: dict) -> str:
    z = m["zero_cells"]
    return (f'add = {float(z["add"])!r}, to = "{z["to"]}", '
            f'drop00 = {"TRUE" if z["drop00"] else "FALSE"}')


def _r_main(m: dict, name: str, args: str) -> str:
    """The R lines computing an outcome's main model into `res` and its row into `out`."""
    dtype = DataType(m["data_type"])
    level = repr(m["level"])
    if m["convention"] == "metafor":
        zero = f", {_r_zero(m)}" if dtype in (DataType.BINARY, DataType.PROPORTION) else ""
        return f"""dat <- escalc(measure = "{m["measure"]}", {R_ESCALC[dtype]},
              data = dat, slab = study{zero})
res <- rma(yi, vi, data = dat, {args})
print(res)
out <- rbind(out, row({name}, "main", res))
"""
    fe = m["method"] == "FE"
    test = m["test"]
    lines = """# meta's study effects (its zero-cell rules; studies it leaves out have no yi, vi)
dat <- dat[!is.na(dat$yi) & !is.na(dat$vi), ]
"""
    if m["measure"] == "PLO" and m["convention"] == "meta":
        method = "EE" if fe else "ML"
        glmm_test = "t" if test == "knha" else "z"
        return lines + f"""# metaprop's default: the random-intercept logistic model (GLMM),
# tau2 by ML; I2 from its Wald Q; no test of the pooled proportion (meta's null.effect = NA)
g <- rma.glmm(measure = "PLO", xi = xi, ni = ni, data = dat, method = "{method}",
              test = "{glmm_test}", level = {level})
df <- g$k - 1
crit <- qt(1 - (1 - {level} / 100) / 2, df)
spred <- sqrt(g$se^2 + g$tau2)
out <- rbind(out, data.frame(outcome = {name}, model = "main", k = g$k,
  estimate = as.numeric(g$b)[1], se = g$se, ci_lb = g$ci.lb, ci_ub = g$ci.ub, pval = NA,
  tau2 = {"0" if fe else "g$tau2"},
  i2 = if (g$QE.Wld > 0) 100 * max(0, (g$QE.Wld - df) / g$QE.Wld) else 0,
  h2 = max(1, g$QE.Wld / df), q = g$QE.Wld, q_pval = g$QEp.Wld,
  pi_lb = {"NA" if fe else "as.numeric(g$b)[1] - crit * spred"},
  pi_ub = {"NA" if fe else "as.numeric(g$b)[1] + crit * spred"}))
res <- rma(yi, vi, data = dat, method = "REML", test = "{test}", level = {level})
"""
    if fe and dtype == DataType.BINARY:
        z = m["zero_cells"]
        inc = {"only0": "zero", "all": "rep(TRUE, nrow(dat))",
               "if0all": "rep(any(zero), nrow(dat))", "none": "rep(FALSE, nrow(dat))"}[z["to"]]
        return lines + f"""zero <- with(dat, ai == 0 | n1i - ai == 0 | ci == 0 | n2i - ci == 0)
inc <- {float(z["add"])!r} * {inc}
mh <- rma.mh(ai = ai + inc, bi = n1i - ai + inc, ci = ci + inc, di = n2i - ci + inc,
             data = dat, measure = "{m["measure"]}", add = 0, to = "none", level = {level})
res <- rma(yi, vi, data = dat, method = "EE", level = {level})
out <- rbind(out, common_row({name}, mh, res))
"""
    if fe:
        return lines + f"""res <- rma(yi, vi, data = dat, method = "EE", level = {level})
out <- rbind(out, common_row({name}, res, res))
"""
    return lines + f"""res <- rma(yi, vi, data = dat, {args})
print(res)
out <- rbind(out, meta_row({name}, "main", res,
             rma(yi, vi, data = dat, method = "{m["method"]}"), {level}))
"""


def _r_panel_row(m: dict, name: str) -> str:
    level = repr(m["level"])
    if m["convention"] == "metafor":
        return (f'row({name}, paste0(m, "/", t),\n'
                f'                        rma(yi, vi, data = dat, method = m, test = t, '
                f'level = {level}))')
    return (f'meta_row({name}, paste0(m, "/", t),\n'
            f'    rma(yi, vi, data = dat, method = m, test = t, level = {level}),\n'
            f'    rma(yi, vi, data = dat, method = m), {level})')


META_HEADER = """\
# Recomputes the pooled numbers of the outcomes analysed as R's meta (or RevMan Web) does,
# with R's meta package itself, from the CSVs in data/, and writes them to results_meta.csv
# (the main model and the DL/REML/PM panel, with and without Hartung-Knapp; the columns of
# results/results.csv). Subgroups and meta-regression are metafor's models: analysis.R
# recomputes them. Run in this folder:   Rscript analysis_meta.R
# Needs meta (install.packages("meta"); 8.x).
suppressPackageStartupMessages(library(meta))
mrow <- function(outcome, model, m, common = FALSE) {
  s <- if (common) "common" else "random"
  data.frame(outcome = outcome, model = model, k = m$k, estimate = m[[paste0("TE.", s)]],
             se = m[[paste0("seTE.", s)]], ci_lb = m[[paste0("lower.", s)]],
             ci_ub = m[[paste0("upper.", s)]],
             pval = if (is.null(m[[paste0("pval.", s)]])) NA else m[[paste0("pval.", s)]],
             tau2 = if (common) 0 else m$tau2, i2 = 100 * m$I2, h2 = max(1, m$H)^2,
             q = m$Q[1], q_pval = m$pval.Q[1],
             pi_lb = if (common) NA else m$lower.predict,
             pi_ub = if (common) NA else m$upper.predict)
}
out <- NULL
"""


def _meta_call(m: dict) -> str:
    """meta's call for an outcome's data `dat` with the page's settings."""
    lev = repr(m["level"] / 100)
    tau = "REML" if m["method"] == "FE" else m["method"]
    ci = "HK" if m["test"] == "knha" else "classic"
    common = (f'method.tau = "{tau}", method.random.ci = "{ci}", level = {lev}, '
              f"level.ma = {lev}, level.predict = {lev}, level.hetstat = {lev}")
    z = m["zero_cells"]
    incr = 0.0 if z["to"] == "none" else float(z["add"])
    how = "only0" if z["to"] == "none" else z["to"]
    measure = m["measure"]
    if measure in ("RR", "OR", "RD"):
        return (f'metabin(ai, n1i, ci, n2i, data = dat, studlab = study, sm = "{measure}", '
                f'method = "MH", incr = {incr!r}, method.incr = "{how}", '
                f'allstudies = {"FALSE" if z["drop00"] else "TRUE"}, {common})')
    if measure in ("SMD", "MD"):
        return (f"metacont(n1i, m1i, sd1i, n2i, m2i, sd2i, data = dat, studlab = study, "
                f'sm = "{measure}", {common})')
    if measure in ("ZCOR", "COR"):
        return f'metacor(ri, ni, data = dat, studlab = study, sm = "{measure}", {common})'
    if measure == "GEN":
        return f'metagen(yi, sei, data = dat, studlab = study, {common})'
    sm, method = ("PLOGIT", "GLMM") if measure == "PLO" else ("PRAW", "Inverse")
    return (f'metaprop(xi, ni, data = dat, studlab = study, sm = "{sm}", method = "{method}", '
            f'incr = {incr!r}, method.incr = "{how}", {common})')


def meta_script(exports: list[OutcomeExport]) -> str:
    parts = [META_HEADER, R_UNQUOTE]
    for e in exports:
        m = e.manifest
        if e.report is None or m["convention"] == "metafor":
            continue
        name = _r_string(m["name"])
        fe = "TRUE" if m["method"] == "FE" else "FALSE"
        inverse = ', method = "Inverse"' if m["measure"] == "PLO" else ""
        parts.append(f"""
# ---- {m["name"]} ({reports.CONVENTION_LABELS[m["convention"]]}) ----
dat <- read.csv("{m["data"]}", check.names = FALSE, stringsAsFactors = FALSE)
dat$study <- unquote(dat$study)
m <- {_meta_call(m)}
print(m)
out <- rbind(out, mrow({name}, "main", m, common = {fe}))
for (tm in c("DL", "REML", "PM")) for (t in c("z", "knha"))
  out <- rbind(out, mrow({name}, paste0(tm, "/", t),
    update(m{inverse}, method.tau = tm, method.random.ci = if (t == "knha") "HK" else "classic")))
""")
    parts.append('\nwrite.csv(out, "results_meta.csv", row.names = FALSE)\n'
                 'cat("Wrote results_meta.csv\\n")\n')
    return "".join(parts)


PYTHON_SCRIPT = '''\
#!/usr/bin/env python3
"""Recompute every pooled number of this export with Prisma Workbench's engine, from the CSVs in
data/ and the settings in manifest.json, and write them to results_python.csv (the columns of
results/results.csv). Run in this folder, with the project on the path:

    python analysis.py --project /path/to/prisma-workbench
"""

import argparse
import csv
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def number(text):
    return float(text) if text not in ("", "NA", None) else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", help="the Prisma Workbench folder (holds analysis/)")
    parser.add_argument("--output", default=str(HERE / "results_python.csv"))
    args = parser.parse_args()
    if args.project:
        sys.path.insert(0, args.project)
    from analysis.report import RESULT_COLUMNS, ZeroCellRules, analyse, result_rows
    from review.cells import safe_cell, unquote_cell  # text cells quoted against formulas

    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    rows = []
    for outcome in manifest["outcomes"]:
        if outcome["error"]:
            print(f"{outcome['name']}: not analysed ({outcome['error']})")
            continue
        with (HERE / outcome["data"]).open(newline="", encoding="utf-8") as fh:
            data = list(csv.DictReader(fh))
        labels = [unquote_cell(r["study"]) for r in data]
        inputs = [{f: number(r[f]) for f in outcome["fields"]} for r in data]
        groups = None
        if outcome["subgroup"]:
            groups = [unquote_cell(r["subgroup"]) or None for r in data]
        covariate = [number(r["covariate"]) for r in data] if outcome["covariate"] else None
        report = analyse(
            labels, inputs, measure=outcome["measure"], method=outcome["method"],
            test=outcome["test"], level=outcome["level"], log_scale=outcome["log_scale"],
            groups=groups, covariate=covariate, covariate_name=outcome["covariate"] or "moderator",
            convention=outcome["convention"], zero_cells=ZeroCellRules(**outcome["zero_cells"]),
        )
        main_ = report.main
        print(f"{outcome['name']}: {outcome['measure']}, {main_.label}, k = {main_.k} "
              f"({outcome['convention']} conventions): "
              f"estimate {main_.estimate:.4f} [{main_.ci_lb:.4f}, {main_.ci_ub:.4f}], "
              f"tau2 {main_.tau2:.4f}, I2 {main_.i2:.1f}%")
        rows += result_rows(outcome["name"], report)
    with open(args.output, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, RESULT_COLUMNS, lineterminator="\\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else repr(v) if isinstance(v, float)
                             else safe_cell(v) for k, v in row.items()})
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
'''


def _readme(review, exports: list[OutcomeExport]) -> str:
    lines = [
        f"Meta-analysis export: {review.title}",
        "",
        "extraction.csv          every study's extracted data, moderators and RoB 2 judgements",
        "data/<outcome>.csv      one outcome's rows as analysed (inputs, subgroup, covariate,",
        "                        yi, vi)",
        "results/results.csv     every pooled number (analysis scale): the main model, DL/REML/PM",
        "                        with and without Hartung-Knapp, subgroups, meta-regression",
        "results/<outcome>.json  the whole analysis of an outcome (leave-one-out, Egger,",
        "                        trim and fill)",
        "plots/                  forest, funnel and bubble plots (SVG, PNG at 300 dpi)",
        "prisma/                 the PRISMA 2020 flow diagram (SVG, PNG) and its counts in the",
        "                        PRISMA2020 R package's template (counts.csv)",
        "manifest.json           each outcome's settings: measure, tau2 estimator, test, level",
        "analysis.R              recomputes results.csv with metafor: Rscript analysis.R",
        "analysis_meta.R         (outcomes analysed as meta or RevMan Web) recomputes them with",
        "                        R's meta package: Rscript analysis_meta.R",
        "analysis.py             recomputes it with Prisma Workbench's engine:",
        "                        python analysis.py --project /path/to/prisma-workbench",
        "",
        "Outcomes:",
    ]
    for e in exports:
        m = e.manifest
        state = (
            f"not analysed: {e.error}"
            if e.error
            else f"{m['measure']}, {m['method']}, test {m['test']}, level {m['level']}%, "
            f"{reports.CONVENTION_LABELS[m['convention']]}"
        )
        lines.append(f"  {m['name']}: {state}")
    return "\n".join(lines) + "\n"
