"""Speed of the binomial-normal GLMM for proportions: ``python -m bench glmm``.

Synthetic single-arm counts with a fixed seed for k = 10, 100, 1,000 and 10,000 studies
(ni uniform on 10..500, true logit -1, tau = 0.6). Times ``rma_glmm`` (ML with nAGQ = 7, as
metafor's ``rma.glmm(measure = "PLO")``; the Laplace fit, nAGQ = 1; the common-effect logistic
regression, method = "EE") against the inverse-variance random-effects fit on the logit
scale (``escalc("PLO")`` then ``rma(method = "REML")``), interleaved so the machine load
affects both sides alike. Ratio = GLMM / inverse variance. Medians of repeated
``time.perf_counter`` runs.
"""

from __future__ import annotations

import platform

import numpy as np
import scipy

from analysis.engine import escalc, rma, rma_glmm
from bench.bench_engine import MIN_REPEATS, interleaved_medians

SEED = 20261206
SIZES = (10, 100, 1_000, 10_000)


def synthetic(k: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ni = rng.integers(10, 501, size=k)
    p = 1.0 / (1.0 + np.exp(-rng.normal(-1.0, 0.6, size=k)))
    xi = rng.binomial(ni, p)
    return xi.astype(float), ni.astype(float)


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def main() -> None:
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"{platform.machine()}; seed {SEED}; median of >= {MIN_REPEATS} interleaved runs"
    )
    results: dict[str, dict[int, float]] = {}
    for k in SIZES:
        xi, ni = synthetic(k)
        jobs = {
            "rma_glmm ML, nAGQ = 7": lambda xi=xi, ni=ni: rma_glmm(xi=xi, ni=ni),
            "rma_glmm ML, nAGQ = 1": lambda xi=xi, ni=ni: rma_glmm(xi=xi, ni=ni, nAGQ=1),
            "rma_glmm EE": lambda xi=xi, ni=ni: rma_glmm(xi=xi, ni=ni, method="EE"),
            "IV: escalc PLO + rma REML": lambda xi=xi, ni=ni: rma(escalc("PLO", xi=xi, ni=ni)),
        }
        for name, t in interleaved_medians(jobs).items():
            results.setdefault(name, {})[k] = t
        print(f"k = {k:,} done", flush=True)
    header = "| fit | " + " | ".join(f"k = {k:,}" for k in SIZES) + " |"
    rule = "|---|" + "---:|" * len(SIZES)
    print("\nMedian time per fit\n")
    print(header)
    print(rule)
    for name, row in results.items():
        print(f"| {name} | " + " | ".join(fmt(row[k]) for k in SIZES) + " |")
    base = results["IV: escalc PLO + rma REML"]
    print("\nRatio to the inverse-variance fit on the logit scale\n")
    print(header)
    print(rule)
    for name, row in results.items():
        if name.startswith("IV"):
            continue
        print(f"| {name} | " + " | ".join(f"{row[k] / base[k]:.0f}×" for k in SIZES) + " |")
