"""Blind dual screening, shared vs personal ranking: `make bench BENCH=blind_ranking` (or
`python -m bench blind_ranking`).

    make bench BENCH=blind_ranking                  # 8 sets, seeds 1-3, teams of 2 and 4
    BENCH_SEEDS=5 make bench BENCH=blind_ranking    # seeds 1-5
    BENCH_QUICK=1 make bench BENCH=blind_ranking    # seed 1, the three sets under 1,000 records

In dual mode every record needs two votes by two different reviewers. Today the team walks ONE
ranking retrained on every vote (settled results and open votes): in a blind stage that leaks
reviewer A's open votes into reviewer B's queue. The blind-safe alternative gives each reviewer a
PERSONAL model trained on their own votes only. This replays a team of perfect reviewers (each
vote is the true label, so the two votes agree and a record is settled at its second) under both
policies (`simulate_team`), and measures, on the order in which records were SETTLED: WSS@95,
recall@10% and the votes cast when 95% of the includes are settled over 2N (at least the
records settled by then over N, 0.95 - WSS@95). Beside them, the single-reviewer `simulate()`
with the same seed and prior pair: the figure docs/benchmarks.md reports ("one reviewer"; its
retrain schedule is the simulation's, lag up to 30 and a retrain after each early include, not
the app's).

Reading the figures: under "shared" the first vote on a record trains the model the second
reviewer walks, so a record A included rises to the top of B's queue and one A excluded sinks;
the settled order (and the votes) gain from that leak itself, which is why "shared" can beat one
reviewer. With two perfect reviewers at the same pace, "personal" models see the same votes at
the same turns and the settled order is one reviewer's under the app's schedule (checked at the
start); with four, each model learns from about half the votes.

The eight labelled sets of ../shared/screening/ (seed k uses pair k of priors.json, as
bench_ranking does; seeds beyond the file's pairs use `default_priors`, the same rule), scored
with ../shared/screening/screening_metrics.py (imported from there; the benchmark is skipped
when it is absent). Pure Python, one process: nothing here imports Django.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.bench_ranking import load, load_metrics, mean_sd, shared_dir
from screening.ranking import Ranker, RankerConfig, default_priors, retrain_lag, simulate

#: README order: the five sets of bench_ranking, then the three SYNERGY sets
DATASETS = [
    "van_de_Schoot_2017",
    "Bannach-Brown_2019",
    "Nagtegaal_2019",
    "Kwok_2020",
    "Sep_2021",
    "Valk_2021",
    "Menon_2022",
    "Jeyaraman_2020",
]
#: BENCH_QUICK=1: the sets under 1,000 records
QUICK_DATASETS = ["Sep_2021", "Valk_2021", "Menon_2022"]
TEAMS = (2, 4)
POLICIES = ("shared", "personal")
#: the app's cap on the decisions between two retrains (screening.prioritisation.MAX_LAG; not
#: imported: that module needs Django)
MAX_LAG = 10
#: votes needed to settle a record in dual mode
DUAL_VOTES = 2


@dataclass(frozen=True)
class TeamRun:
    """Records in the order they were settled, and the votes cast in all when each was."""

    settled: list[int]
    votes_at_settle: list[int]
    n_votes: int  # votes cast when the simulation stopped
    n_fits: int  # retrains (of all the models)
    seconds: float


@dataclass
class _Model:
    """One ranking (the team's, or one reviewer's) and its retrain schedule."""

    ranker: Ranker
    order: np.ndarray | None = None  # every record, best first (None: not trained yet)
    since: int = 0  # votes counted towards this model since its last retrain
    labelled_at_fit: int = 0  # records it was trained on at its last retrain

    def due(self) -> bool:
        return self.order is None or self.since >= min(MAX_LAG, retrain_lag(self.labelled_at_fit))


def simulate_team(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    reviewers: int,
    policy: str,
    seed: int,
    ranker: Ranker,
    priors: tuple[int, int] | None = None,
) -> TeamRun:
    """Replay dual screening by a team of `reviewers` perfect reviewers (each vote = the true
    label), a record being settled at its second vote (at its first when `reviewers` is 1).

    - Start: each reviewer in turn votes the prior include, then the prior exclude (`priors`,
      default `default_priors(labels, seed)`), so the two priors are settled first (include,
      then exclude); with more than two reviewers the priors get one vote from everyone.
    - Then turns go round-robin (reviewer 0, 1, ..., R-1, 0, ...). At its turn a reviewer
      first retrains its model if a retrain is due (below), then takes the first record in its
      model's order that it has not voted on and that has fewer than 2 votes, and votes the true
      label. A reviewer with no such record passes.
    - A model's order is every record by its score, highest first (ties: lower index), with the
      records already voted on kept in place, as the app's queue keeps a record with one open
      vote for the second reviewer; the walk skips what the reviewer may not take.
    - policy "shared" (today's app): one model trained on every record with at least one vote,
      walked by every reviewer; a retrain is due when the votes of the whole team since the last
      retrain reach min(MAX_LAG = 10, retrain_lag(records it was last trained on)), the app's
      `ranking_due` (retrains are taken as instantaneous: the background task is not modelled).
    - policy "personal" (blind-safe): each reviewer has its own model trained on its own votes
      only, due when that reviewer's own votes since its last retrain reach min(10,
      retrain_lag(records it was last trained on)). Every model has the same config (seed), so
      before a reviewer has one include and one exclude the Ranker's seeded random order is the
      same for everyone, as the app's fallback order is shared by the team.
    - Every model is `ranker.shared(RankerConfig(seed=seed))`: the TF-IDF of `ranker` (already
      fitted on `texts`) is reused, only the SVM is retrained.
    - It stops once every metric is fixed: when every include is settled, or when 95% of the
      includes are settled and at least ceil(10% of N) records are. The records not settled
      then are never listed (when every include is settled they are all excludes).

    With one reviewer both policies are the same procedure and give the same order; with two,
    "personal" gives that order too (both models see the same votes at the same turns).
    """
    started = time.perf_counter()
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}.")
    if reviewers < 1:
        raise ValueError("A team has at least one reviewer.")
    y = np.asarray(labels, dtype=int)
    n = len(y)
    if len(texts) != n or ranker.features is None or ranker.features.shape[0] != n:
        raise ValueError("The ranker given was not fitted on these texts.")
    inc, exc = priors if priors is not None else default_priors(y, seed)
    if y[inc] != 1 or y[exc] != 0:
        raise ValueError("The priors must be one include and one exclude.")
    need = min(DUAL_VOTES, reviewers)
    config = RankerConfig(seed=seed)
    models = [_Model(ranker.shared(config)) for _ in range(1 if policy == "shared" else reviewers)]
    model_of = [0 if policy == "shared" else r for r in range(reviewers)]

    votes = np.zeros(n, dtype=int)
    mine = np.zeros((reviewers, n), dtype=bool)
    position = [0] * reviewers  # where each reviewer is in its model's current order
    settled: list[int] = []
    votes_at_settle: list[int] = []
    total_included = int(y.sum())
    target_95 = math.ceil(0.95 * total_included)
    first_10pct = math.ceil(0.10 * n)
    included_settled = 0
    cast = 0
    fits = 0

    def vote(r: int, record: int) -> None:
        nonlocal cast, included_settled
        mine[r, record] = True
        votes[record] += 1
        cast += 1
        models[model_of[r]].since += 1
        if votes[record] == need:
            settled.append(record)
            votes_at_settle.append(cast)
            included_settled += int(y[record])

    def done() -> bool:
        return included_settled == total_included or (
            included_settled >= target_95 and len(settled) >= first_10pct
        )

    for r in range(reviewers):
        vote(r, inc)
        vote(r, exc)
    while not done() and len(settled) < n:
        progressed = False
        for r in range(reviewers):
            model = models[model_of[r]]
            if model.due():
                train = np.nonzero(votes > 0 if policy == "shared" else mine[r])[0]
                model.ranker.fit_indices(train, y[train])
                fits += 1
                model.order = np.argsort(-model.ranker.scores, kind="stable")
                model.since = 0
                model.labelled_at_fit = len(train)
                for other in range(reviewers):
                    if model_of[other] == model_of[r]:
                        position[other] = 0
            order, p = model.order, position[r]
            # a record once unavailable to a reviewer stays so: the pointer only moves on
            while p < n and (mine[r, order[p]] or votes[order[p]] >= need):
                p += 1
            position[r] = p
            if p == n:
                continue
            vote(r, int(order[p]))
            progressed = True
            if done():
                break
        if not progressed:
            break
    return TeamRun(settled, votes_at_settle, cast, fits, time.perf_counter() - started)


def team_metrics(run: TeamRun, labels: Sequence[int], metrics) -> tuple[float, float, float]:
    """WSS@95 and recall@10% of the settled order (shared screening_metrics), and the votes
    cast when 95% of the includes were settled over 2N."""
    y = np.asarray(labels, dtype=int)
    n, r = len(y), int(y.sum())
    in_order = y[run.settled]
    m = metrics(in_order, n, r)
    votes_95 = run.votes_at_settle[m["n_to_95"] - 1]
    return m["wss_95"], m["recall_at_10pct"], votes_95 / (DUAL_VOTES * n)


def prior_pair(priors: dict, name: str, labels: Sequence[int], seed: int) -> tuple[int, int]:
    """Pair `seed` of priors.json (1-based, as bench_ranking), else `default_priors` (the rule
    the file was drawn with)."""
    pairs = priors.get(name, [])
    if seed <= len(pairs):
        inc, exc = pairs[seed - 1]
        return int(inc), int(exc)
    return default_priors(labels, seed)


def self_check(folder, priors, metrics) -> None:
    """With one reviewer "personal" and "shared" are the same procedure: the same order."""
    name = "Sep_2021"
    texts, labels = load(folder / f"{name}.csv.gz")
    vectorised = Ranker(RankerConfig()).fit(texts, [None] * len(labels))
    pair = prior_pair(priors, name, labels, 1)
    runs = {
        policy: simulate_team(
            texts, labels, reviewers=1, policy=policy, seed=1, ranker=vectorised, priors=pair
        )
        for policy in POLICIES
    }
    assert runs["shared"].settled == runs["personal"].settled, "R=1: the two policies differ"
    assert runs["shared"].settled[:2] == list(pair), "the priors are not settled first"
    # two perfect reviewers with personal models stay in step: each model is trained on the same
    # votes at the same turns, so the second vote follows the first and the settled order is
    # the single reviewer's
    pair_run = simulate_team(
        texts, labels, reviewers=2, policy="personal", seed=1, ranker=vectorised, priors=pair
    )
    assert pair_run.settled == runs["shared"].settled, "R=2 personal: not the one-reviewer order"
    sim = simulate(
        texts, labels, prior_included=[pair[0]], prior_excluded=[pair[1]], seed=1,
        ranker=vectorised,
    )  # fmt: skip
    wss = team_metrics(runs["shared"], labels, metrics)[0]
    ref = metrics(sim.labels_in_order, len(labels), sum(labels))["wss_95"]
    one = runs["shared"]
    print(f"self-check ({name}, seed 1): one reviewer's order, personal = shared = two "
          f"reviewers' personal ({len(one.settled)} records, {one.n_fits} fits); WSS@95 "
          f"{wss:.3f} with the app's schedule, {ref:.3f} with simulate()'s")  # fmt: skip


def main() -> None:
    folder = shared_dir()
    if folder is None:
        print("Skipped: ../shared/screening/ (datasets, priors.json, screening_metrics.py) absent.")
        return
    metrics = load_metrics(folder)
    priors = json.loads((folder / "priors.json").read_text())
    quick = os.environ.get("BENCH_QUICK", "0") not in ("", "0")
    seeds = list(range(1, 2 if quick else int(os.environ.get("BENCH_SEEDS", "3")) + 1))
    names = [
        d for d in (QUICK_DATASETS if quick else DATASETS) if (folder / f"{d}.csv.gz").is_file()
    ]
    print(f"metrics: {folder / 'screening_metrics.py'} (imported from ../shared)")
    print(f"seeds {seeds[0]}–{seeds[-1]}, teams of {' and '.join(map(str, TEAMS))}, "
          f"{len(names)} sets{' (BENCH_QUICK)' if quick else ''}")  # fmt: skip
    self_check(folder, priors, metrics)

    seconds = {"vectorise": 0.0, "one reviewer": 0.0}
    seconds.update({(r, p): 0.0 for r in TEAMS for p in POLICIES})
    results = []  # (name, n, includes, {key: [(wss, rec10, votes) per seed]})
    for name in names:
        texts, labels = load(folder / f"{name}.csv.gz")
        n, r = len(labels), sum(labels)
        started = time.perf_counter()
        vectorised = Ranker(RankerConfig()).fit(texts, [None] * n)
        seconds["vectorise"] += time.perf_counter() - started
        per = {key: [] for key in seconds if key != "vectorise"}
        for seed in seeds:
            inc, exc = prior_pair(priors, name, labels, seed)
            sim = simulate(
                texts, labels, prior_included=[inc], prior_excluded=[exc], seed=seed,
                ranker=vectorised,
            )  # fmt: skip
            seconds["one reviewer"] += sim.seconds
            m = metrics(sim.labels_in_order, n, r)
            # records to 95% / N: the votes/2N of two reviewers walking the same order in step
            per["one reviewer"].append((m["wss_95"], m["recall_at_10pct"], m["n_to_95"] / n))
            for team in TEAMS:
                for policy in POLICIES:
                    run = simulate_team(
                        texts, labels, reviewers=team, policy=policy, seed=seed,
                        ranker=vectorised, priors=(inc, exc),
                    )  # fmt: skip
                    seconds[(team, policy)] += run.seconds
                    per[(team, policy)].append(team_metrics(run, labels, metrics))
        results.append((name, n, r, per))
        print(f"  {name}: done ({time.perf_counter() - started:.0f} s)", flush=True)

    print("\nWSS@95 and recall@10% on the order records were settled (second vote); votes/2N = "
          "votes cast when 95% of the includes were settled / 2N (one reviewer: records to 95% / "
          "N, two reviewers walking its order in step); mean ± sd over seeds; personal − "
          "shared: WSS@95 difference, mean (min to max over seeds).")  # fmt: skip
    print("| dataset | N | includes | R | policy | WSS@95 | recall@10% | votes/2N at 95% "
          "| personal − shared |")  # fmt: skip
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|")

    def row(label, n, r, team, policy, runs, diff="") -> None:
        print(f"| {label} | {n} | {r} | {team} | {policy} | {mean_sd(x[0] for x in runs)} "
              f"| {statistics.fmean(x[1] for x in runs):.3f} "
              f"| {statistics.fmean(x[2] for x in runs):.3f} | {diff} |")  # fmt: skip

    def diffs(per) -> dict[int, list[float]]:
        return {
            team: [
                p[0] - s[0]
                for p, s in zip(per[(team, "personal")], per[(team, "shared")], strict=True)
            ]
            for team in TEAMS
        }

    for name, n, r, per in results:
        row(name, n, r, 1, "one reviewer", per["one reviewer"])
        d = diffs(per)
        for team in TEAMS:
            row("", "", "", team, "shared", per[(team, "shared")])
            text = f"{statistics.fmean(d[team]):+.3f} ({min(d[team]):+.3f} to {max(d[team]):+.3f})"
            row("", "", "", team, "personal", per[(team, "personal")], text)

    # mean over datasets of the per-dataset means; the range is over datasets
    def means(key) -> list[tuple[float, float, float]]:
        return [
            tuple(statistics.fmean(x[i] for x in per[key]) for i in range(3)) for *_, per in results
        ]

    print(f"| **mean of {len(results)} sets** | | | 1 | one reviewer "
          f"| {statistics.fmean(x[0] for x in means('one reviewer')):.3f} "
          f"| {statistics.fmean(x[1] for x in means('one reviewer')):.3f} "
          f"| {statistics.fmean(x[2] for x in means('one reviewer')):.3f} | |")  # fmt: skip
    for team in TEAMS:
        for policy in POLICIES:
            ms = means((team, policy))
            text = ""
            if policy == "personal":
                d = [statistics.fmean(diffs(per)[team]) for *_, per in results]
                text = f"{statistics.fmean(d):+.3f} ({min(d):+.3f} to {max(d):+.3f} over sets)"
            print(f"| | | | {team} | {policy} | {statistics.fmean(x[0] for x in ms):.3f} "
                  f"| {statistics.fmean(x[1] for x in ms):.3f} "
                  f"| {statistics.fmean(x[2] for x in ms):.3f} | {text} |")  # fmt: skip

    print(
        f"\nwall time, {len(seeds)} seed(s) × {len(results)} sets: vectorising once per set "
        f"{seconds['vectorise']:.1f} s; one reviewer (simulate) {seconds['one reviewer']:.1f} s"
    )
    for team in TEAMS:
        print("  R = {}: {}".format(
            team, ", ".join(f"{p} {seconds[(team, p)]:.1f} s" for p in POLICIES)
        ))  # fmt: skip
