"""Blocking, pair judging and clustering: `find_duplicates`."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Indel

from .prepare import Prepared
from .records import DedupRecord
from .rules import DISTINCT, DUPLICATE, POSSIBLE, hard_conflicts, judge, title_similarity
from .triage import same_locator, second_look

#: blocks larger than this are searched with a vectorised title comparison instead of all pairs
SMALL_BLOCK = 48
#: blocks larger than this are too common to be informative and are skipped
HUGE_BLOCK = 5000
#: candidate pairs whose titles are less similar than this are dropped unless they share an id
TITLE_FLOOR = 0.6
#: two records sharing a DOI with titles less similar than this mark the DOI as "shared"
SHARED_DOI_TITLE = 0.6


@dataclass(frozen=True)
class Match:
    a: int | str
    b: int | str
    outcome: str
    score: float
    reason: str


@dataclass
class DedupResult:
    matches: list[Match]
    primaries: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    _clusters: list[list] = field(default_factory=list, repr=False)

    def duplicates(self) -> list[Match]:
        return [m for m in self.matches if m.outcome == DUPLICATE]

    def possible(self) -> list[Match]:
        return [m for m in self.matches if m.outcome == POSSIBLE]

    def clusters(self) -> list[list]:
        """Connected components of duplicate matches (size ≥ 2), primary first then by id."""
        return [list(c) for c in self._clusters]


def _id_key(value) -> tuple:
    return (0, value, "") if isinstance(value, int) else (1, 0, str(value))


def choose_primary(records: Sequence[DedupRecord]) -> int | str:
    """The most complete record: has an abstract, a DOI, more fields filled, a longer abstract;
    ties go to the smallest id."""
    if not records:
        raise ValueError("choose_primary needs at least one record")
    prepared = [Prepared(i, r) for i, r in enumerate(records)]
    best = min(prepared, key=lambda p: (tuple(-v for v in p.completeness), _id_key(p.id)))
    return best.id


# ---------------------------------------------------------------------------------------------
# blocking


def _block_keys(p: Prepared, df: dict[str, int]) -> list[tuple]:
    keys: list[tuple] = []
    if p.doi:
        keys.append(("doi", p.doi))
    if p.pmid:
        keys.append(("pmid", p.pmid))
    flat = p.title_flat
    if len(flat) >= 12:
        keys.append(("head", flat[:40]))
        keys.append(("tail", flat[-40:]))
    if len(p.tokens) >= 2:
        rare = sorted([(df[t], t) for t in p.tokens])[:3]
        for a, b in combinations(sorted(t for _, t in rare), 2):
            keys.append(("rare", a, b))
    elif p.tokens:
        keys.append(("rare", p.tokens[0]))
    if p.first_author and p.year:
        keys.append(("author", p.first_author, p.year))
    if p.volume and p.pstart:
        keys.append(("volpage", p.volume, p.pstart.lstrip("abcdefghijklmnopqrstuvwxyz")))
    return keys


def _candidate_pairs(prepared: list[Prepared], n_existing: int, stats: dict) -> np.ndarray:
    """Unique (i, j) index pairs, i < j, that share at least one block (and involve a new record
    when `n_existing` > 0)."""
    df: dict[str, int] = defaultdict(int)
    for p in prepared:
        for t in p.tokens:
            df[t] += 1
    blocks: dict[tuple, list[int]] = defaultdict(list)
    for p in prepared:
        for key in _block_keys(p, df):
            blocks[key].append(p.idx)
    n = len(prepared)
    chunks: list[np.ndarray] = []
    small_i: list[int] = []
    small_j: list[int] = []
    used = skipped = searched = 0
    for members in blocks.values():
        size = len(members)
        if size < 2 or members[-1] < n_existing:
            continue
        used += 1
        if size > HUGE_BLOCK:
            skipped += 1
            continue
        if size == 2:
            small_i.append(members[0])
            small_j.append(members[1])
            continue
        if size <= SMALL_BLOCK:
            for i, j in combinations(members, 2):
                if i != j:
                    small_i.append(i)
                    small_j.append(j)
            continue
        searched += 1
        titles = [prepared[m].title for m in members]
        scores = process.cdist(
            titles,
            titles,
            scorer=Indel.normalized_similarity,
            score_cutoff=TITLE_FLOOR,
            dtype=np.float32,
            workers=-1,
        )
        ii, jj = np.nonzero(np.triu(scores, 1))
        idx = np.asarray(members, dtype=np.int64)
        chunks.append(np.stack([idx[ii], idx[jj]], axis=1))
    if small_i:
        chunks.append(np.stack([np.asarray(small_i), np.asarray(small_j)], axis=1).astype(np.int64))
    stats["blocks"] = used
    stats["blocks_searched_vectorised"] = searched
    stats["blocks_skipped_too_large"] = skipped
    if not chunks:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(chunks)
    pairs = np.sort(pairs, axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if n_existing:
        pairs = pairs[pairs[:, 1] >= n_existing]
    codes = np.unique(pairs[:, 0] * n + pairs[:, 1])
    return np.stack([codes // n, codes % n], axis=1)


def _shared_dois(prepared: list[Prepared]) -> set[str]:
    """DOIs given to several different items (conference supplements): titles disagree."""
    groups: dict[str, list[Prepared]] = defaultdict(list)
    for p in prepared:
        if p.doi:
            groups[p.doi].append(p)
    shared = set()
    for doi, members in groups.items():
        if len(members) < 2:
            continue
        if len(members) > 50:
            shared.add(doi)
            continue
        if any(title_similarity(x, y) < SHARED_DOI_TITLE for x, y in combinations(members, 2)):
            shared.add(doi)
    return shared


# ---------------------------------------------------------------------------------------------
# clustering with a guard against chaining


class _Groups:
    def __init__(self):
        self.parent: dict[int, int] = {}
        self.members: dict[int, list[int]] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        self.members.setdefault(x, [x])
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        if len(self.members[a]) < len(self.members[b]):
            a, b = b, a
        self.parent[b] = a
        self.members[a].extend(self.members.pop(b))


def _cluster(
    prepared: list[Prepared], matches: list[Match], index: dict, shared: set[str]
) -> tuple[list, int]:
    """Union duplicate matches strongest first; a link that would put two records with a hard
    verdict of "distinct" (e.g. conflicting DOIs or different titles) into one cluster is
    demoted to 'possible'. Returns (matches, demoted count)."""
    groups = _Groups()
    order = sorted(
        range(len(matches)),
        key=lambda k: (-matches[k].score, _id_key(matches[k].a), _id_key(matches[k].b)),
    )
    demoted = 0
    out = list(matches)
    for k in order:
        m = matches[k]
        if m.outcome != DUPLICATE:
            continue
        ra, rb = groups.find(index[m.a]), groups.find(index[m.b])
        if ra == rb:
            continue
        clash = None
        if len(groups.members[ra]) > 1 or len(groups.members[rb]) > 1:
            for i in groups.members[ra]:
                for j in groups.members[rb]:
                    x, y = (prepared[i], prepared[j]) if i < j else (prepared[j], prepared[i])
                    verdict = second_look(x, y, judge(x, y, shared))
                    if verdict.outcome == DISTINCT:
                        found = hard_conflicts(x, y, title_similarity(x, y))
                        clash = (x.id, y.id, found[0] if found else "not similar enough")
                        break
                if clash:
                    break
        if clash:
            demoted += 1
            out[k] = Match(
                m.a,
                m.b,
                POSSIBLE,
                m.score,
                f"demoted: would join {clash[0]} and {clash[1]} ({clash[2]}) | {m.reason}",
            )
            continue
        groups.union(ra, rb)
    return out, demoted


# ---------------------------------------------------------------------------------------------


def find_duplicates(
    records: Sequence[DedupRecord], *, existing: Sequence[DedupRecord] = ()
) -> DedupResult:
    """Find duplicates among `records`, and between `records` and `existing` (pairs of two
    existing records are not compared). Matches are ordered pairs (a before b in the combined
    order existing + records)."""
    t0 = time.perf_counter()
    stats: dict = {}
    combined = list(existing) + list(records)
    n_existing = len(existing)
    ids = [r.id for r in combined]
    if len(set(ids)) != len(ids):
        raise ValueError("record ids must be unique")
    prepared = [Prepared(i, r) for i, r in enumerate(combined)]
    t1 = time.perf_counter()
    pairs = _candidate_pairs(prepared, n_existing, stats)
    t2 = time.perf_counter()
    stats["candidate_pairs"] = len(pairs)

    shared = _shared_dois(prepared)
    # cheap vectorised title filter before the rules
    titles = [p.title for p in prepared]
    if len(pairs):
        left = [titles[i] for i in pairs[:, 0]]
        right = [titles[j] for j in pairs[:, 1]]
        sims = process.cpdist(left, right, scorer=Indel.normalized_similarity, workers=-1)
        keep = sims >= TITLE_FLOOR
        for k in np.nonzero(~keep)[0]:
            x, y = prepared[pairs[k, 0]], prepared[pairs[k, 1]]
            if (x.doi and x.doi == y.doi) or (x.pmid and x.pmid == y.pmid) or same_locator(x, y):
                keep[k] = True
        pairs = pairs[keep]
    stats["pairs_judged"] = len(pairs)
    t3 = time.perf_counter()

    matches: list[Match] = []
    for i, j in pairs.tolist():
        x, y = prepared[i], prepared[j]
        v = second_look(x, y, judge(x, y, shared))
        if v.outcome in (DUPLICATE, POSSIBLE):
            matches.append(Match(x.id, y.id, v.outcome, v.score, v.reason))
    t4 = time.perf_counter()

    index = {p.id: p.idx for p in prepared}
    matches, demoted = _cluster(prepared, matches, index, shared)
    stats["demoted_links"] = demoted
    matches.sort(key=lambda m: (index[m.a], index[m.b]))

    # clusters and primaries
    groups = _Groups()
    for m in matches:
        if m.outcome == DUPLICATE:
            ra, rb = groups.find(index[m.a]), groups.find(index[m.b])
            if ra != rb:
                groups.union(ra, rb)
    clusters: list[list] = []
    primaries: dict = {}
    for members in groups.members.values():
        if len(members) < 2:
            continue
        best = min(
            (prepared[i] for i in members),
            key=lambda p: (tuple(-v for v in p.completeness), _id_key(p.id)),
        )
        rest = sorted((prepared[i].id for i in members if prepared[i].id != best.id), key=_id_key)
        cluster = [best.id, *rest]
        clusters.append(cluster)
        for member in cluster:
            primaries[member] = best.id
    clusters.sort(key=lambda c: _id_key(c[0]))
    t5 = time.perf_counter()
    stats["shared_dois"] = len(shared)
    stats["seconds"] = {
        "normalise": round(t1 - t0, 4),
        "blocking": round(t2 - t1, 4),
        "title_filter": round(t3 - t2, 4),
        "rules": round(t4 - t3, 4),
        "clustering": round(t5 - t4, 4),
        "total": round(t5 - t0, 4),
    }
    return DedupResult(matches=matches, primaries=primaries, stats=stats, _clusters=clusters)
