"""Prioritised screening benchmark: `make bench BENCH=ranking` (or `python -m bench ranking`).

The five labelled sets of ../shared/screening/ with the five prior pairs of priors.json (seed k
uses pair k), scored with ../shared/screening/screening_metrics.py (imported from there; the
benchmark is skipped when it is absent). Per dataset: mean ± sd of WSS@95, records to 95%,
recall@10% and the time of a simulation (plus a fifth of vectorising the dataset, done once per
dataset as the app does per review; reading the CSV not), beside
ASReview's default model: run here in the same process when an `asreview` executable is found
(ASREVIEW_BIN, default /tmp/asr-venv/bin/asreview, a separate venv; BENCH_ASREVIEW=0 skips it),
else the figures of ../shared/screening/README.md. Then the stopping rule at 95%/95% on every
run: recall at the stop, whether it stopped before the end, records screened.

Pure Python: nothing here imports Django. The method has no per-dataset setting.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from screening.ranking import Ranker, RankerConfig, record_text, simulate, simulate_stopping

#: ../shared/screening/README.md, "Peers over 5 prior pairs": WSS@95 mean, sd, records to 95%,
#: recall@10%, time per run (s)
ASREVIEW_README = {
    "van_de_Schoot_2017": (0.919, 0.003, 191, 1.000, 22.6),
    "Bannach-Brown_2019": (0.440, 0.033, 1017, 0.524, 56.8),
    "Nagtegaal_2019": (0.729, 0.008, 447, 0.655, 40.9),
    "Kwok_2020": (0.709, 0.003, 556, 0.753, 22.9),
    "Sep_2021": (0.435, 0.018, 140, 0.265, 6.4),
}
DATASETS = list(ASREVIEW_README)


def shared_dir() -> Path | None:
    for candidate in (
        Path(os.environ.get("SCREENING_DATA", "/nonexistent")),
        Path(__file__).resolve().parents[2] / "shared" / "screening",
        Path("/work/shared/screening"),
    ):
        if (candidate / "screening_metrics.py").is_file() and (candidate / "priors.json").is_file():
            return candidate
    return None


def load_metrics(folder: Path):
    spec = importlib.util.spec_from_file_location(
        "screening_metrics", folder / "screening_metrics.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.screening_metrics


def load(path: Path) -> tuple[list[str], list[int]]:
    csv.field_size_limit(sys.maxsize)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["id"]) for r in rows] == list(range(len(rows)))
    texts = [record_text(r["title"], r["abstract"], r.get("keywords")) for r in rows]
    return texts, [int(r["label_included"]) for r in rows]


def asreview_bin() -> str | None:
    if os.environ.get("BENCH_ASREVIEW", "1") == "0":
        return None
    path = os.environ.get("ASREVIEW_BIN", "/tmp/asr-venv/bin/asreview")  # noqa: S108
    return path if os.access(path, os.X_OK) else None


def run_asreview(exe: str, path: Path, prior: list[int], seed: int) -> tuple[list[int], float]:
    """One `asreview simulate` (default model elas_u4) as the README ran it: labels in order."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / f"{path.name.removesuffix('.gz')}"
        data.write_bytes(gzip.decompress(path.read_bytes()))
        project = Path(tmp) / "run.asreview"
        started = time.perf_counter()
        subprocess.run(  # noqa: S603
            [exe, "simulate", str(data), "--ai", "elas_u4", "--prior-idx", *map(str, prior),
             "--seed", str(seed), "-o", str(project)],
            check=True, capture_output=True,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        with zipfile.ZipFile(project) as zf:
            zf.extract("results.db", tmp)
        con = sqlite3.connect(Path(tmp) / "results.db")
        labels = [int(row[0]) for row in con.execute("SELECT label FROM results ORDER BY rowid")]
        con.close()
    return labels, seconds


def run_cli(path: Path, seeds: list[int]) -> tuple[dict[int, list[int]], float]:
    """`manage.py simulate_screening --seed 1 ... 5` end to end in a new process (start-up,
    reading the file, vectorising once, one simulation per seed): the orders and the time."""
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "order.csv"
        started = time.perf_counter()
        subprocess.run(  # noqa: S603
            [sys.executable, str(root / "manage.py"), "simulate_screening", "--data", str(path),
             "--seed", *map(str, seeds), "--output", str(out)],
            check=True, capture_output=True, cwd=root,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        orders = {}
        for seed in seeds:
            with out.with_suffix(f".seed{seed}.csv").open(newline="") as fh:
                orders[seed] = [int(row["id"]) for row in csv.DictReader(fh)]
    return orders, seconds


def mean_sd(values) -> str:
    values = list(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.3f} ± {sd:.3f}"


def main() -> None:
    folder = shared_dir()
    if folder is None:
        print("Skipped: ../shared/screening/ (datasets, priors.json, screening_metrics.py) absent.")
        return
    metrics = load_metrics(folder)
    print(f"metrics: {folder / 'screening_metrics.py'} (imported from ../shared)")
    priors = json.loads((folder / "priors.json").read_text())
    exe = asreview_bin()
    print(f"ASReview: {'measured here with ' + exe if exe else 'README figures (not installed)'}")
    rows, stops, ours_total, asr_total, vectorise_total = [], [], 0.0, 0.0, 0.0
    per_run_total, cli_total = 0.0, 0.0
    for name in DATASETS:
        texts, labels = load(folder / f"{name}.csv.gz")
        n, r = len(labels), sum(labels)
        ours, asr = [], []
        # the TF-IDF of a review is computed once (as the app keeps it between retrains); its
        # time is shared out over the five runs
        started = time.perf_counter()
        vectorised = Ranker(RankerConfig()).fit(texts, [None] * n)
        vectorise = time.perf_counter() - started
        vectorise_total += vectorise
        ours_total += vectorise
        orders = {}
        for k, (inc, exc) in enumerate(priors[name], start=1):
            sim = simulate(
                texts, labels, prior_included=[inc], prior_excluded=[exc], seed=k,
                ranker=vectorised,
            )  # fmt: skip
            m = metrics(sim.labels_in_order, n, r)
            seconds = sim.seconds + vectorise / 5
            ours.append((m["wss_95"], m["n_to_95"], m["recall_at_10pct"], seconds))
            ours_total += sim.seconds
            per_run_total += sim.seconds + vectorise
            orders[k] = sim.order
            stop = simulate_stopping(sim.labels_in_order, seed=k)
            stops.append((name, n, stop))
            if exe:
                labs, seconds = run_asreview(exe, folder / f"{name}.csv.gz", [inc, exc], k)
                a = metrics(labs, n, r)
                asr.append((a["wss_95"], a["n_to_95"], a["recall_at_10pct"], seconds))
                asr_total += seconds
        cli_orders, cli_seconds = run_cli(folder / f"{name}.csv.gz", list(orders))
        cli_total += cli_seconds
        # the command's default priors for seed k are priors.json's pair k: the same runs
        assert cli_orders == orders, f"{name}: the command's orders differ from the bench's"
        if not exe:
            w, sd, n95, rec10, secs = ASREVIEW_README[name]
            asr_total += 5 * secs
            asr_summary = (f"{w:.3f} ± {sd:.3f}", n95, rec10, secs)
        else:
            asr_summary = (
                mean_sd(a[0] for a in asr),
                round(statistics.fmean(a[1] for a in asr)),
                statistics.fmean(a[2] for a in asr),
                statistics.fmean(a[3] for a in asr),
            )
        rows.append((name, n, r, ours, asr_summary))
        print(f"  {name}: done", flush=True)

    print("\n| dataset | N | R | WSS@95 (ours) | WSS@95 (ASReview) | records to 95% (ours / ASR) "
          "| recall@10% (ours / ASR) | time per run, s (ours / ASR) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, n, r, ours, (aw, an95, arec, asec) in rows:
        print(
            f"| {name} | {n} | {r} | {mean_sd(o[0] for o in ours)} | {aw} "
            f"| {statistics.fmean(o[1] for o in ours):.0f} / {an95} "
            f"| {statistics.fmean(o[2] for o in ours):.3f} / {arec:.3f} "
            f"| {statistics.fmean(o[3] for o in ours):.2f} / {asec:.1f} |"
        )
    our_mean = statistics.fmean(statistics.fmean(o[0] for o in ours) for *_, ours, _ in rows)
    asr_means = {name: float(a[0].split(" ± ")[0]) for name, _, _, _, a in rows}
    asr_mean = statistics.fmean(asr_means.values())
    worst = min(
        statistics.fmean(o[0] for o in ours) - asr_means[name] for name, _, _, ours, _ in rows
    )
    mean_ok = "met" if our_mean >= asr_mean + 0.02 else "NOT met"
    print(f"\nmean WSS@95: ours {our_mean:.3f}, ASReview {asr_mean:.3f} "
          f"(goal ≥ ASReview + 0.02 = {asr_mean + 0.02:.3f}: {mean_ok})")  # fmt: skip
    worst_ok = "met" if worst >= -0.03 else "NOT met"
    print(f"worst dataset vs ASReview: {worst:+.3f} (goal ≥ -0.03: {worst_ok})")
    print(f"time per seed (five sets), ASReview {asr_total / 5:.1f} s (its command, one process "
          "per run, vectorising in every run); ours:")  # fmt: skip
    for label, total in (
        ("simulate_screening --seed 1 2 3 4 5, one process per dataset, end to end", cli_total),
        ("in process, vectorising once per dataset", ours_total),
        ("in process, vectorising again in every run", per_run_total),
    ):
        print(f"  {label}: {total / 5:.1f} s → {asr_total / max(total, 1e-9):.1f}× less "
              "(goal ≥ 10×)")  # fmt: skip
    print(f"  (vectorising the five sets once: {vectorise_total:.1f} s)")

    print("\nStopping rule, recall ≥ 95% with 95% confidence (random sampling after "
          "max(50, 5% of N) consecutive irrelevant records in ranked order):")  # fmt: skip
    print(
        "| dataset | runs with recall ≥ 95% at stop | stopped before the end "
        "| records screened at stop (mean) | work saved (mean) | recall at stop (min) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name in DATASETS:
        mine = [s for d, _, s in stops if d == name]
        print(
            f"| {name} | {sum(s.recall >= 0.95 for s in mine)}/{len(mine)} "
            f"| {sum(s.stopped_early for s in mine)}/{len(mine)} "
            f"| {statistics.fmean(s.screened for s in mine):.0f} of {mine[0].n_records} "
            f"| {statistics.fmean(s.work_saved for s in mine):.1%} "
            f"| {min(s.recall for s in mine):.3f} |"
        )
    ok = sum(s.recall >= 0.95 for _, _, s in stops)
    big = [s for _, n, s in stops if n >= 2000]
    print(f"runs reaching recall ≥ 95% at the stop: {ok}/{len(stops)} = {ok / len(stops):.0%} "
          f"(goal ≥ 95%); stopped before the end on sets ≥ 2,000 records: "
          f"{sum(s.stopped_early for s in big)}/{len(big)}")  # fmt: skip
