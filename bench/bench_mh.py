"""Speed of the Mantel-Haenszel and Peto fits: ``python -m bench mh``.

Synthetic 2x2 tables with a fixed seed for k = 10 ... 10,000 studies (control risk 5-30 %,
true log OR -0.4, tau 0.2, 20-400 per group). Times ``rma_mh`` (OR, RR, RD; metafor's
``rma.mh``, which also computes the study effects for Q and, for OR, the CMH, Breslow-Day and
Tarone tests), ``rma_peto`` and meta's ``metabin_common`` (RR), each interleaved with the
inverse-variance common-effect fit ``rma(yi, vi, method="FE")`` on the same tables' log OR
(computed once beforehand) and with ``escalc("OR") + rma(method="FE")`` (the same work from the
counts). Ratio = MH fit / IV fit (above 1: the MH fit is slower).
"""

from __future__ import annotations

import platform
import warnings

import numpy as np

from analysis.engine import escalc, metabin_common, rma, rma_mh, rma_peto
from bench.bench_engine import MIN_REPEATS, interleaved_medians

SEED = 20261206
SIZES = (10, 100, 1_000, 10_000)


def synthetic(k: int, seed: int = SEED) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n1 = rng.integers(20, 400, size=k)
    n2 = rng.integers(20, 400, size=k)
    p2 = rng.uniform(0.05, 0.30, size=k)
    logit = np.log(p2 / (1 - p2)) + rng.normal(-0.4, 0.2, size=k)
    p1 = 1 / (1 + np.exp(-logit))
    a = rng.binomial(n1, p1).astype(float)
    c = rng.binomial(n2, p2).astype(float)
    return {"ai": a, "bi": n1 - a, "ci": c, "di": n2 - c}


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def main() -> None:
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.machine()}; seed {SEED}; median of >= {MIN_REPEATS} interleaved runs\n"
    )
    rows = ["rma FE (yi, vi given)", "escalc OR + rma FE", "rma_mh OR", "rma_mh RR",
            "rma_mh RD", "rma_peto", "metabin_common RR (meta)"]
    times: dict[str, dict[int, float]] = {name: {} for name in rows}
    for k in SIZES:
        t = synthetic(k)
        a, b, c, d = t["ai"], t["bi"], t["ci"], t["di"]
        es = escalc("OR", ai=a, bi=b, ci=c, di=d)
        y, v = es.yi, es.vi
        jobs = {
            "rma FE (yi, vi given)": lambda y=y, v=v: rma(y, v, method="FE"),
            "escalc OR + rma FE": lambda a=a, b=b, c=c, d=d: rma(
                *(lambda e: (e.yi, e.vi))(escalc("OR", ai=a, bi=b, ci=c, di=d)), method="FE"),
            "rma_mh OR": lambda a=a, b=b, c=c, d=d: rma_mh(a, b, c, d, measure="OR"),
            "rma_mh RR": lambda a=a, b=b, c=c, d=d: rma_mh(a, b, c, d, measure="RR"),
            "rma_mh RD": lambda a=a, b=b, c=c, d=d: rma_mh(a, b, c, d, measure="RD"),
            "rma_peto": lambda a=a, b=b, c=c, d=d: rma_peto(a, b, c, d),
            "metabin_common RR (meta)": lambda a=a, b=b, c=c, d=d: metabin_common(
                a, a + b, c, c + d, sm="RR"),
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            medians = interleaved_medians(jobs)
        for name, value in medians.items():
            times[name][k] = value

    head = "| | " + " | ".join(f"k = {k:,}" for k in SIZES) + " |"
    rule = "|---|" + "---:|" * len(SIZES)
    print("Median time per call\n")
    print(head)
    print(rule)
    for name in rows:
        print(f"| {name} | " + " | ".join(_fmt(times[name][k]) for k in SIZES) + " |")
    print("\nRatio to the inverse-variance fit (rma FE on given yi, vi / escalc + rma FE)\n")
    print(head)
    print(rule)
    for name in rows[2:]:
        cells = []
        for k in SIZES:
            r1 = times[name][k] / times["rma FE (yi, vi given)"][k]
            r2 = times[name][k] / times["escalc OR + rma FE"][k]
            cells.append(f"{r1:.2f} / {r2:.2f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
