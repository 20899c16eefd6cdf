"""The analysis page's whole analysis under each convention: ``python -m bench conventions``.

`analysis.report.analyse` (main model, the DL/REML/PM by z/HK panel, leave-one-out, the
small-study test, trim and fill) on synthetic 2x2 tables (``bench_mh.synthetic``, odds
ratios) for k = 10 ... 1,000, interleaved: metafor's convention (escalc, rma, leave1out,
regtest, trimfill) against meta's (metabin with Mantel-Haenszel, update() for the panel,
metainf refitting metabin once per study, metabias, meta's trimfill) and RevMan Web's.
Ratio = convention / metafor's. Also meta's default tau² interval with DerSimonian-Laird
(Jackson's generalised Q) against the Q-profile one, on the same tables' log OR.
"""

from __future__ import annotations

import platform
import warnings

import numpy as np

from analysis.engine import escalc
from analysis.engine import meta_style as ms
from analysis.report import analyse
from bench.bench_engine import MIN_REPEATS, interleaved_medians
from bench.bench_mh import SEED, _fmt, synthetic

SIZES = (10, 100, 1_000)


def main() -> None:
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}; "
          f"seed {SEED}; median of >= {MIN_REPEATS} interleaved runs\n")  # fmt: skip
    names = ("metafor", "meta", "revman")
    times: dict[str, dict[int, float]] = {n: {} for n in names}
    tau_ci: dict[str, dict[int, float]] = {"QP": {}, "J": {}}
    for k in SIZES:
        t = synthetic(k)
        rows = [{"ai": t["ai"][i], "n1i": t["ai"][i] + t["bi"][i], "ci": t["ci"][i],
                 "n2i": t["ci"][i] + t["di"][i]} for i in range(k)]  # fmt: skip
        labels = [f"S{i}" for i in range(k)]
        jobs = {
            "metafor": lambda r=rows, lab=labels: analyse(lab, r, measure="OR"),
            "meta": lambda r=rows, lab=labels: analyse(lab, r, measure="OR", convention="meta"),
            "revman": lambda r=rows, lab=labels: analyse(lab, r, measure="OR", test="knha",
                                                         convention="revman"),
        }  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, value in interleaved_medians(jobs).items():
                times[name][k] = value
            es = escalc("OR", ai=t["ai"], bi=t["bi"], ci=t["ci"], di=t["di"])
            se = np.sqrt(es.vi)
            ci_jobs = {
                "QP": lambda y=es.yi, s=se: ms.metagen(y, s, method_tau="DL", method_tau_ci="QP"),
                "J": lambda y=es.yi, s=se: ms.metagen(y, s, method_tau="DL"),
            }
            for name, value in interleaved_medians(ci_jobs).items():
                tau_ci[name][k] = value
    head = "| | " + " | ".join(f"k = {k:,}" for k in SIZES) + " |"
    rule = "|---|" + "---:|" * len(SIZES)
    print("Median time of the whole analysis (analyse), and ratio to metafor's convention\n")
    print(head)
    print(rule)
    for name in names:
        cells = [f"{_fmt(times[name][k])} ({times[name][k] / times['metafor'][k]:.1f}×)"
                 for k in SIZES]  # fmt: skip
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\nmetagen(method_tau = 'DL'): tau² interval Q-profile vs Jackson's (meta's default)\n")
    print(head)
    print(rule)
    for name in ("QP", "J"):
        cells = [f"{_fmt(tau_ci[name][k])} ({tau_ci[name][k] / tau_ci['QP'][k]:.0f}×)"
                 for k in SIZES]  # fmt: skip
        print(f"| {name} | " + " | ".join(cells) + " |")
