"""Parse throughput of review.importers on a generated 100,000-record RIS file and CSV file.

Records are synthetic but realistic: titles, 1-8 authors, years, journals, volumes, pages,
DOIs, keywords and ~1,000-character abstracts. Prints a Markdown table (median of 3 runs) and
the peak memory of one parse (tracemalloc, measured in a separate run because tracing slows
parsing down).
"""

from __future__ import annotations

import csv
import io
import random
import statistics
import time
import tracemalloc

from review.importers import parse

N_RECORDS = 100_000
RUNS = 3

_WORDS = (
    "effect exercise randomised trial older adults depression cohort risk mortality cancer "
    "diabetes metformin intervention outcome meta-analysis systematic review placebo "
    "hypertension stroke cognitive decline quality life pain chronic therapy primary care "
    "children adolescents pregnancy vaccine infection hospital admission follow-up baseline"
).split()
_FAMILY = "Smith Müller García Nguyen Kowalski O'Brien Rossi Dubois Tanaka Silva Andersson".split()
_GIVEN = "John Anne María Wei Jörg Fatima Luca Sophie Hiro Ana Lars".split()
_JOURNALS = [
    "The Lancet",
    "BMJ",
    "JAMA",
    "PLoS One",
    "Cochrane Database of Systematic Reviews",
    "Journal of Clinical Epidemiology",
    "Annals of Internal Medicine",
    "BMC Public Health",
]


def _records(n: int, seed: int = 7):
    rng = random.Random(seed)
    for i in range(n):
        title = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 16))).capitalize()
        abstract = " ".join(rng.choice(_WORDS) for _ in range(150))[:1000]
        authors = [f"{rng.choice(_FAMILY)}, {rng.choice(_GIVEN)}" for _ in range(rng.randint(1, 8))]
        start = rng.randint(1, 2000)
        yield {
            "title": title,
            "abstract": abstract,
            "authors": authors,
            "year": rng.randint(1990, 2025),
            "journal": rng.choice(_JOURNALS),
            "volume": str(rng.randint(1, 400)),
            "issue": str(rng.randint(1, 12)),
            "start": str(start),
            "end": str(start + rng.randint(1, 20)),
            "doi": f"10.{rng.randint(1000, 99999)}/j.{i}.{rng.randint(0, 10**6)}",
            "keywords": rng.sample(_WORDS, 4),
        }


def make_ris(n: int = N_RECORDS) -> bytes:
    out = io.StringIO()
    for r in _records(n):
        out.write("TY  - JOUR\n")
        out.write(f"TI  - {r['title']}\n")
        for a in r["authors"]:
            out.write(f"AU  - {a}\n")
        out.write(f"PY  - {r['year']}\nT2  - {r['journal']}\nVL  - {r['volume']}\n")
        out.write(f"IS  - {r['issue']}\nSP  - {r['start']}\nEP  - {r['end']}\n")
        out.write(f"DO  - {r['doi']}\nAB  - {r['abstract']}\n")
        for k in r["keywords"]:
            out.write(f"KW  - {k}\n")
        out.write("DB  - Scopus\nER  - \n\n")
    return out.getvalue().encode("utf-8")


def make_csv(n: int = N_RECORDS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "Authors",
            "Title",
            "Year",
            "Source title",
            "Volume",
            "Issue",
            "Page start",
            "Page end",
            "DOI",
            "Abstract",
            "Author Keywords",
            "Document Type",
        ]
    )
    for r in _records(n):
        writer.writerow(
            [
                "; ".join(r["authors"]),
                r["title"],
                r["year"],
                r["journal"],
                r["volume"],
                r["issue"],
                r["start"],
                r["end"],
                r["doi"],
                r["abstract"],
                "; ".join(r["keywords"]),
                "Article",
            ]
        )
    return out.getvalue().encode("utf-8")


def _measure(data: bytes, filename: str) -> tuple[float, int, float]:
    times = []
    count = 0
    for _ in range(RUNS):
        started = time.perf_counter()
        result = parse(data, filename)
        times.append(time.perf_counter() - started)
        assert not result.errors, result.errors[:3]
        count = len(result.records)
        del result
    tracemalloc.start()
    result = parse(data, filename)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return statistics.median(times), count, peak / 2**20


def main() -> None:
    rows = []
    for label, maker, filename in (("RIS", make_ris, "bench.ris"), ("CSV", make_csv, "bench.csv")):
        data = maker()
        seconds, count, peak = _measure(data, filename)
        rows.append((label, count, len(data) / 2**20, seconds, count / seconds, peak))
        del data
    print(f"Parse throughput, {N_RECORDS:,} generated records, median of {RUNS} runs\n")
    print("| format | records | file MiB | median s | records/s | peak traced MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, count, size, seconds, rate, peak in rows:
        print(f"| {label} | {count:,} | {size:.0f} | {seconds:.2f} | {rate:,.0f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
