"""Speed of analysis.engine against the Python peers: ``python -m bench engine``.

Synthetic data with a fixed seed for k = 10 ... 100,000 studies. Times escalc (SMD), rma
(DL, PM and REML, z and knha), confint (Q-profile), leave1out and trimfill, and in the same run
statsmodels' ``combine_effects`` (DL, PM) and PyMARE (DL, REML) on the same yi/vi. Medians of
repeated ``time.perf_counter`` runs; the fits compared with a peer are timed in turn with the
peers (interleaved), so a busy machine affects both sides alike. Ratio = ours / peer (below
1: ours is faster). Peers are skipped (and said so) when not installed:
``pip install -r requirements-bench.txt``.
"""

from __future__ import annotations

import platform
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np

from analysis.engine import confint, escalc, leave1out, rma, trimfill

SEED = 20240611
SIZES = (10, 100, 1_000, 10_000, 100_000)
QUADRATIC_MAX_K = 10_000  # leave1out is O(k^2): every sub-fit has its own tau^2
TARGET_SECONDS = 0.5  # per measurement: repeat until this much time is spent...
MIN_REPEATS, MAX_REPEATS = 5, 200  # ...within these bounds


def synthetic(k: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """Two-group means and SDs from a random-effects model (true SMD 0.3, tau = 0.2)."""
    rng = np.random.default_rng(seed)
    n1 = rng.integers(10, 200, size=k).astype(float)
    n2 = rng.integers(10, 200, size=k).astype(float)
    theta = rng.normal(0.3, 0.2, size=k)
    sd1 = rng.uniform(5, 15, size=k)
    sd2 = rng.uniform(5, 15, size=k)
    m2 = rng.normal(50, 5, size=k)
    m1 = m2 + theta * np.sqrt((sd1**2 + sd2**2) / 2) + rng.normal(0, sd1 / np.sqrt(n1))
    return {"m1i": m1, "sd1i": sd1, "n1i": n1, "m2i": m2, "sd2i": sd2, "n2i": n2}


def median_time(func: Callable[[], object]) -> float:
    func()  # warm-up
    times: list[float] = []
    spent = 0.0
    while len(times) < MIN_REPEATS or (spent < TARGET_SECONDS and len(times) < MAX_REPEATS):
        start = time.perf_counter()
        func()
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
    return statistics.median(times)


def interleaved_medians(jobs: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median times of several jobs run in turn (A, B, C, A, B, C, ...), so that jobs being
    compared see the same machine load; used for the ours-versus-peer fits."""
    for job in jobs.values():
        job()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in jobs}
    spent, rounds = 0.0, 0
    while rounds < MIN_REPEATS or (spent < TARGET_SECONDS * len(jobs) and rounds < MAX_REPEATS):
        for name, job in jobs.items():
            start = time.perf_counter()
            job()
            elapsed = time.perf_counter() - start
            times[name].append(elapsed)
            spent += elapsed
        rounds += 1
    return {name: statistics.median(ts) for name, ts in times.items()}


def _peers():
    peers: dict[str, Callable] = {}
    missing = []
    try:
        from statsmodels.stats.meta_analysis import combine_effects

        peers["statsmodels DL"] = lambda y, v: combine_effects(y, v, method_re="dl")
        peers["statsmodels PM"] = lambda y, v: combine_effects(y, v, method_re="pm")
    except ImportError:
        missing.append("statsmodels")
    try:
        from pymare import Dataset
        from pymare.estimators import DerSimonianLaird, VarianceBasedLikelihoodEstimator

        peers["PyMARE DL"] = lambda y, v: DerSimonianLaird().fit_dataset(Dataset(y=y, v=v))
        peers["PyMARE REML"] = lambda y, v: VarianceBasedLikelihoodEstimator(
            method="REML"
        ).fit_dataset(Dataset(y=y, v=v))
    except ImportError:
        missing.append("PyMARE")
    return peers, missing


# ours -> the peers running the same fit
PAIRS = {
    "rma DL": ("statsmodels DL", "PyMARE DL"),
    "rma PM": ("statsmodels PM",),
    "rma REML": ("PyMARE REML",),
}


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _warm_up(peers) -> None:
    """Run everything for a while first so the first (smallest) size is not penalised by
    first-call costs (imports, caches, CPU frequency scaling)."""
    raw = synthetic(10)
    es = escalc("SMD", **raw)
    deadline = time.perf_counter() + 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while time.perf_counter() < deadline:
            fit = rma(es.yi, es.vi, method="REML")
            rma(es.yi, es.vi, method="DL")
            rma(es.yi, es.vi, method="PM")
            confint(fit)
            leave1out(fit)
            trimfill(fit)
            for job in peers.values():
                job(es.yi, es.vi)


def main() -> None:
    peers, missing = _peers()
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.machine()}; seed {SEED}; median of >= {MIN_REPEATS} runs"
    )
    if missing:
        print(
            f"Peers not installed (skipped): {', '.join(missing)}. "
            "Install with: pip install -r requirements-bench.txt"
        )
    print(
        f"leave1out skipped above k = {QUADRATIC_MAX_K:,} (O(k^2): each sub-fit has its "
        "own tau^2, so every sub-fit sums over all studies).\n"
    )

    ours_rows = [
        "escalc SMD",
        "rma DL",
        "rma DL knha",
        "rma PM",
        "rma REML",
        "rma REML knha",
        "confint REML (QP)",
        "leave1out REML",
        "leave1out DL",
        "trimfill REML",
    ]
    _warm_up(peers)
    results: dict[str, dict[int, float | None]] = {name: {} for name in ours_rows}
    peer_results: dict[str, dict[int, float | None]] = {name: {} for name in peers}
    for k in SIZES:
        raw = synthetic(k)
        es = escalc("SMD", **raw)
        y, v = es.yi, es.vi
        reml = rma(y, v, method="REML")
        dl = rma(y, v, method="DL")
        jobs = {
            "escalc SMD": lambda raw=raw: escalc("SMD", **raw),
            "rma DL": lambda y=y, v=v: rma(y, v, method="DL"),
            "rma DL knha": lambda y=y, v=v: rma(y, v, method="DL", test="knha"),
            "rma PM": lambda y=y, v=v: rma(y, v, method="PM"),
            "rma REML": lambda y=y, v=v: rma(y, v, method="REML"),
            "rma REML knha": lambda y=y, v=v: rma(y, v, method="REML", test="knha"),
            "confint REML (QP)": lambda reml=reml: confint(reml),
            "leave1out REML": lambda reml=reml: leave1out(reml),
            "leave1out DL": lambda dl=dl: leave1out(dl),
            "trimfill REML": lambda reml=reml: trimfill(reml),
        }
        compared = {name: jobs.pop(name) for name in PAIRS}
        for name, job in jobs.items():
            if name.startswith("leave1out") and k > QUADRATIC_MAX_K:
                results[name][k] = None
                continue
            results[name][k] = median_time(job)
        for name, job in peers.items():
            compared[name] = lambda job=job, y=y, v=v: job(y, v)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            medians = interleaved_medians(compared)
        for name, value in medians.items():
            (results if name in results else peer_results)[name][k] = value
        print(f"k = {k:,} done", flush=True)

    header = "| | " + " | ".join(f"k = {k:,}" for k in SIZES) + " |"
    rule = "|---|" + "---:|" * len(SIZES)
    print("\nMedian time per call (analysis.engine)\n")
    print(header)
    print(rule)
    for name in ours_rows:
        print(f"| {name} | " + " | ".join(fmt(results[name][k]) for k in SIZES) + " |")
    if peers:
        print("\nPeers on the same yi, vi\n")
        print(header)
        print(rule)
        for name in peers:
            print(f"| {name} | " + " | ".join(fmt(peer_results[name][k]) for k in SIZES) + " |")
        print("\nRatio ours / peer (same fit; below 1 means analysis.engine is faster)\n")
        print(header)
        print(rule)
        for ours, peer_names in PAIRS.items():
            for peer in peer_names:
                if peer not in peers:
                    continue
                cells = [f"{results[ours][k] / peer_results[peer][k]:.2f}" for k in SIZES]
                print(f"| {ours} / {peer} | " + " | ".join(cells) + " |")
    goal_reml = results["rma REML"][10_000]
    goal_l1o = results["leave1out REML"][1_000]
    print(
        f"\nGoals: REML at k = 10,000: {fmt(goal_reml)} (goal < 20 ms); "
        f"leave1out REML at k = 1,000: {fmt(goal_l1o)} (goal < 0.5 s)."
    )


if __name__ == "__main__":
    main()
