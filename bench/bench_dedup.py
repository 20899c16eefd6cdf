"""De-duplication benchmark: `python -m bench dedup`.

1. Accuracy and speed on the five labelled searches in ../shared/dedup/*.csv.gz (pairwise
   precision / recall / F1 over duplicate pairs; clusters = connected components of the method's
   "duplicate" matches), the size of the "possible" queue and the share of true duplicates in it,
   with bib-dedupe 0.11.0 (`requirements-bench.txt`) run in the same process on the same records
   (its published figures, labelled "not re-measured", when it is not installed).
2. Scale: a generated 100,000-record set (~10% injected duplicates with formatting noise),
   timing `find_duplicates` alone and its peak traced memory.

Pure Python: does not need Django (the runner sets DJANGO_SETTINGS_MODULE but nothing here
imports Django). The method never reads `cluster_id` (only the scorer does).
"""

from __future__ import annotations

import csv
import gzip
import itertools
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

from review.dedup import DedupRecord, find_duplicates, record_from_mapping

#: columns the method may read (never cluster_id, orig_endnote_label or paper_*)
METHOD_COLUMNS = (
    "record_id",
    "title",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "abstract",
    "source_database",
    "isbn",
    "url",
    "secondary_title",
    "entrytype",
)

#: bib-dedupe 0.11.0 as published in ../shared/dedup/README.md (another machine): used only
#: when bib-dedupe is not installed, and then labelled "not re-measured"
BIB_DEDUPE_PUBLISHED = {
    "cytology_screening": (1.0000, 0.9978, 0.9989, 25.7),
    "stroke": (1.0000, 0.9958, 0.9979, 12.8),
    "digital_work": (1.0000, 0.9386, 0.9683, 112.5),
    "diabetes": (0.9937, 0.9937, 0.9937, 35.7),
    "neuroimaging": (0.9978, 0.9939, 0.9959, 56.4),
}


def shared_dir() -> Path | None:
    for candidate in (
        Path(os.environ.get("DEDUP_DATA", "/nonexistent")),
        Path(__file__).resolve().parents[2] / "shared" / "dedup",
        Path("/work/shared/dedup"),
    ):
        if candidate.is_dir() and any(candidate.glob("*.csv.gz")):
            return candidate
    return None


def record_id(value: str) -> int | str:
    """Numeric ids as int (ASySD sets), others as written (`id_0000001`)."""
    return int(value) if value.isdigit() else value


def load_rows(path: Path) -> tuple[list[dict], dict]:
    """The allowed columns of each row, and the truth {record_id: cluster_id}."""
    csv.field_size_limit(sys.maxsize)
    rows, truth = [], {}
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            rid = record_id(row["record_id"])
            truth[rid] = row["cluster_id"]
            rows.append({k: row.get(k, "") for k in METHOD_COLUMNS})
    return rows, truth


def load_labelled(path: Path) -> tuple[list[DedupRecord], dict]:
    """Records built from the allowed columns only, and the truth {record_id: cluster_id}."""
    rows, truth = load_rows(path)
    return [record_from_mapping(row, record_id(row["record_id"])) for row in rows], truth


def pairs_of(clusters) -> set[tuple]:
    out = set()
    for cluster in clusters:
        out.update(itertools.combinations(sorted(cluster), 2))
    return out


def true_pairs_of(truth: dict) -> set[tuple]:
    groups = defaultdict(list)
    for rid, cid in truth.items():
        groups[cid].append(rid)
    return pairs_of(groups.values())


def score(clusters: list[list], truth: dict) -> tuple[float, float, float]:
    true_pairs = true_pairs_of(truth)
    predicted = pairs_of(clusters)
    tp = len(true_pairs & predicted)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(true_pairs) if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# ---------------------------------------------------------------------------------------------
# synthetic 100k set

_SYLLABLES = [
    "ab", "ac", "ad", "al", "am", "an", "ar", "as", "at", "ba", "be", "bi", "bo", "ca", "ce",
    "ci", "co", "cu", "da", "de", "di", "do", "du", "el", "em", "en", "er", "es", "fa", "fe",
    "fi", "ga", "ge", "gi", "go", "ha", "he", "hi", "ic", "id", "il", "im", "in", "ir", "is",
    "la", "le", "li", "lo", "lu", "ma", "me", "mi", "mo", "mu", "na", "ne", "ni", "no", "nu",
    "ol", "om", "on", "or", "os", "pa", "pe", "pi", "po", "ra", "re", "ri", "ro", "ru", "sa",
    "se", "si", "so", "ta", "te", "ti", "to", "tu", "ul", "um", "un", "ur", "va", "ve", "vi",
]  # fmt: skip
_STOP = ["of", "in", "the", "and", "with", "for", "a", "on", "after", "versus"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def synthetic(
    n: int = 100_000, dup_rate: float = 0.10, seed: int = 7
) -> tuple[list[DedupRecord], dict[int, int]]:
    """Realistic-looking records: Zipf-distributed title vocabulary, common surnames, journals
    with abbreviations; ~dup_rate of them get a duplicate re-exported with formatting noise.
    Returns (records in random order, truth {record id: id of the original})."""
    rng = random.Random(seed)
    vocab = [_word(rng) for _ in range(12_000)]
    weights = list(itertools.accumulate(1 / (i + 1) ** 0.9 for i in range(len(vocab))))
    surnames = [_word(rng).capitalize() for _ in range(3_000)]
    sweights = list(itertools.accumulate(1 / (i + 1) ** 0.8 for i in range(len(surnames))))
    journals = []
    for _ in range(600):
        words = [_word(rng).capitalize() for _ in range(rng.randint(1, 4))]
        journals.append((" ".join(words), " ".join(w[:4] for w in words)))
    n_orig = int(n / (1 + dup_rate))
    out: list[DedupRecord] = []
    for i in range(n_orig):
        k = rng.randint(6, 16)
        words = rng.choices(vocab, cum_weights=weights, k=k)
        for j in range(1, k - 1, 4):
            words.insert(j, rng.choice(_STOP))
        title = " ".join(words).capitalize()
        n_auth = rng.randint(1, 8)
        authors = tuple(
            f"{s} {''.join(rng.choice('ABCDEFGHJKLMNPRSTW') for _ in range(rng.randint(1, 2)))}."
            for s in rng.choices(surnames, cum_weights=sweights, k=n_auth)
        )
        year = rng.randint(1990, 2024)
        full, _abbr = rng.choice(journals)
        volume = str(rng.randint(1, 120))
        issue = str(rng.randint(1, 12))
        start = rng.randint(1, 3000)
        pages = f"{start}-{start + rng.randint(2, 15)}"
        doi = f"10.{rng.randint(1000, 1400)}/j.x.{year}.{i:06d}" if rng.random() < 0.75 else ""
        abstract = (
            " ".join(rng.choices(vocab, cum_weights=weights, k=rng.randint(60, 180)))
            if rng.random() < 0.85
            else ""
        )
        out.append(
            DedupRecord(
                id=len(out), title=title, authors=authors, year=year, journal=full,
                volume=volume, issue=issue, pages=pages, doi=doi, abstract=abstract,
            )
        )  # fmt: skip
    originals = list(out)
    truth = {rec.id: rec.id for rec in originals}
    for rec in rng.sample(originals, n - n_orig):
        title = rec.title
        if rng.random() < 0.5:
            title = title.upper() if rng.random() < 0.3 else title.rstrip(".") + "."
        if rng.random() < 0.2 and len(title) > 20:  # a typo
            pos = rng.randrange(len(title))
            title = title[:pos] + title[pos + 1 :]
        pages = rec.pages
        if rng.random() < 0.4:
            a, b = pages.split("-")
            common = next(
                (k for k, (u, v) in enumerate(zip(a, b, strict=False)) if u != v),
                min(len(a), len(b)),
            )
            pages = f"{a}-{b[common:] or b}"
        authors = rec.authors
        if rng.random() < 0.5:
            authors = ("".join(authors),)  # run together
        journal = rec.journal
        if rng.random() < 0.5:
            journal = " ".join(w[:4] for w in journal.split())
        doi = rec.doi
        if doi and rng.random() < 0.3:
            doi = "https://doi.org/" + doi.upper()
        elif rng.random() < 0.2:
            doi = ""
        truth[len(out)] = rec.id
        out.append(
            DedupRecord(
                id=len(out), title=title, authors=authors, year=rec.year, journal=journal,
                volume=rec.volume, issue=rec.issue if rng.random() < 0.8 else "", pages=pages,
                doi=doi, abstract=rec.abstract if rng.random() < 0.7 else "",
            )
        )  # fmt: skip
    rng.shuffle(out)
    return out, truth


# ---------------------------------------------------------------------------------------------


def machine() -> str:
    return f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def bib_dedupe_frame(rows: list[dict]):
    """The same rows in bib-dedupe's (BibTeX) layout: `ID`, `ENTRYTYPE`, `author` as
    `Family, I. and …` (split by our tolerant author splitter, as bib-dedupe expects BibTeX
    names), `number` for the issue; everything else as exported."""
    import pandas as pd

    from review.dedup.normalise import split_authors

    out = []
    for row in rows:
        authors = split_authors(row["authors"]) if row["authors"] else []
        out.append(
            {
                "ID": str(row["record_id"]),
                "ENTRYTYPE": row.get("entrytype") or "article",
                "title": row["title"],
                "author": " and ".join(authors),
                "year": row["year"],
                "journal": row["journal"] or row["secondary_title"],
                "volume": row["volume"],
                "number": row["issue"],
                "pages": row["pages"],
                "doi": row["doi"],
                "abstract": row["abstract"],
            }
        )
    return pd.DataFrame(out)


def run_bib_dedupe(rows: list[dict]) -> tuple[list[list], int, float]:
    """bib-dedupe's whole pipeline (prep, block, match, cluster) on `rows`: (clusters of record
    ids, maybe pairs, seconds)."""
    import bib_dedupe.bib_dedupe as bd

    frame = bib_dedupe_frame(rows)
    started = time.perf_counter()
    prepped = bd.prep(frame, verbosity_level=0)
    blocked = bd.block(prepped, verbosity_level=0)
    matched = bd.match(blocked, verbosity_level=0)
    clusters = bd.cluster(matched, verbosity_level=0)
    seconds = time.perf_counter() - started
    maybe = int((matched["duplicate_label"] == "maybe").sum()) if len(matched) else 0
    return [[record_id(str(i)) for i in c] for c in clusters], maybe, seconds


def bib_dedupe_available() -> bool:
    try:
        import bib_dedupe.bib_dedupe  # noqa: F401
    except ImportError:
        return False
    return True


def run_labelled(repeats: int = 3, peer_repeats: int | None = None) -> list[str]:
    """One row per labelled search: ours (median of `repeats`) and bib-dedupe on the same rows
    (median of `peer_repeats`, default DEDUP_PEER_REPEATS or 1: it takes minutes per set)."""
    folder = shared_dir()
    if folder is None:
        print("Labelled data not found (../shared/dedup/*.csv.gz): skipping the accuracy run.")
        return []
    if peer_repeats is None:
        peer_repeats = int(os.environ.get("DEDUP_PEER_REPEATS", "1"))
    peer = bib_dedupe_available()
    peer_label = (
        f"bib-dedupe 0.11.0, same run (median of {peer_repeats})"
        if peer
        else "bib-dedupe 0.11.0 published figures (NOT re-measured: not installed)"
    )
    lines = [
        f"| dataset | records | precision | recall | F1 | seconds (median of {repeats}) "
        "| candidate pairs | possible pairs (% of records) | true duplicates in possible "
        f"| {peer_label}: P / R / F1 | peer s | peer maybe pairs | speed-up |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for path in sorted(folder.glob("*.csv.gz")):
        name = path.name.removesuffix(".csv.gz")
        rows, truth = load_rows(path)
        records = [record_from_mapping(row, record_id(row["record_id"])) for row in rows]
        true_pairs = true_pairs_of(truth)
        times, result = [], None
        for _ in range(repeats):
            started = time.perf_counter()
            result = find_duplicates(records)
            times.append(time.perf_counter() - started)
        p, r, f1 = score(result.clusters(), truth)
        secs = statistics.median(times)
        possible = result.possible()
        real = sum(tuple(sorted((m.a, m.b))) in true_pairs for m in possible)
        share = f"{real / len(possible):.0%}" if possible else "–"
        if peer:
            peer_times, peer_clusters, maybe = [], [], 0
            for _ in range(peer_repeats):
                peer_clusters, maybe, seconds = run_bib_dedupe(rows)
                peer_times.append(seconds)
            bp, br, bf = score(peer_clusters, truth)
            bsec = statistics.median(peer_times)
            maybe_text = f"{maybe:,}"
        else:
            bp, br, bf, bsec = BIB_DEDUPE_PUBLISHED.get(name, (float("nan"),) * 4)
            maybe_text = "–"
        lines.append(
            f"| {name} | {len(records):,} | {p:.4f} | {r:.4f} | {f1:.4f} | {secs:.2f} | "
            f"{result.stats['candidate_pairs']:,} | {len(possible):,} "
            f"({len(possible) / len(records):.1%}) | {share} | "
            f"{bp:.4f} / {br:.4f} / {bf:.4f} | {bsec:.1f} | {maybe_text} | {bsec / secs:.0f}× |"
        )
        print(lines[-1], flush=True)
    return lines


def run_scale(n: int = 100_000) -> list[str]:
    started = time.perf_counter()
    records, truth = synthetic(n)
    generated = time.perf_counter() - started
    times, result = [], None
    for _ in range(3):
        started = time.perf_counter()
        result = find_duplicates(records)
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    find_duplicates(records)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    precision, recall, f1 = score(result.clusters(), truth)
    phases = result.stats["seconds"]
    dups = result.duplicates()
    return [
        "| records | generate s | dedup s (median of 3) | normalise | blocking | title filter "
        "| rules | clustering | candidate pairs | judged | duplicate links | clusters | possible "
        "| peak traced MiB | P / R / F1 (injected duplicates) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {len(records):,} | {generated:.1f} | {statistics.median(times):.1f} | "
        f"{phases['normalise']:.1f} | {phases['blocking']:.1f} | {phases['title_filter']:.1f} | "
        f"{phases['rules']:.1f} | {phases['clustering']:.1f} | "
        f"{result.stats['candidate_pairs']:,} | {result.stats['pairs_judged']:,} | {len(dups):,} | "
        f"{len(result.clusters()):,} | {len(result.possible()):,} | {peak / 2**20:.0f} | "
        f"{precision:.4f} / {recall:.4f} / {f1:.4f} |",
    ]


def main() -> None:
    print(f"Machine: {machine()}")
    labelled = run_labelled()
    if labelled:
        print()
        print("\n".join(labelled))
    scale = run_scale(int(os.environ.get("DEDUP_SCALE_N", "100000")))
    print()
    print("\n".join(scale))


if __name__ == "__main__":
    main()
