"""Import + de-duplication of a generated 100,000-record RIS file, phase by phase.

    make bench BENCH=import                         # SQLite in a temporary folder
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench make bench BENCH=import

Phases are timed as `import_run` runs them; the matching runs in a forked child process while
the parent writes the records, so "wait for the matching" is what the overlap did not hide.

The file is synthetic (a seeded generator: titles from a word list, 1-8 authors, years, journals,
volumes, pages, DOIs, ~1,000-character abstracts), with 10% of the records exported a second time
with another database's formatting (upper/lower case, trailing full stop, DOI as a URL, "Y1 -
2019///", initials without full stops), so the de-duplicator has real work. Peak memory is the
maximum resident set size of each process.
"""

import os
import random
import resource
import time

from bench.django_env import setup

N_RECORDS = int(os.environ.get("BENCH_RECORDS", "100000"))
WORDS = (
    "effect efficacy randomised trial cohort memory object context recognition rats mice "
    "adolescent exercise depression anxiety treatment placebo controlled outcome risk factor "
    "association systematic review cognitive training older adults children sleep stress hormone "
    "hippocampus amygdala prefrontal cortex receptor antagonist agonist dose response model "
    "behaviour learning consolidation retrieval extinction fear reward dopamine serotonin "
    "inflammation cytokine obesity diabetes insulin glucose lipid cardiovascular mortality"
).split()
JOURNALS = [
    "Behav Brain Res",
    "Neurobiol Learn Mem",
    "J Neurosci",
    "Hippocampus",
    "Learn Mem",
    "Psychopharmacology",
    "PLoS One",
    "Sci Rep",
    "Neuropharmacology",
]
SURNAMES = [
    "Smith",
    "Garcia",
    "Müller",
    "Nguyen",
    "Kowalski",
    "Rossi",
    "Tanaka",
    "Okafor",
    "Johansson",
    "Dubois",
    "Silva",
    "Cohen",
    "Ivanova",
    "Park",
    "O'Brien",
    "van Dijk",
]


def generate_ris(n: int, seed: int = 2026) -> bytes:
    rng = random.Random(seed)
    originals = n - n // 10
    entries = []
    for i in range(originals):
        words = rng.sample(WORDS, rng.randint(6, 14))
        authors = [
            f"{rng.choice(SURNAMES)}, {rng.choice('ABCDEFGHJKLMNPRST')}. "
            f"{rng.choice('ABCDEFGHJKLMNPRST')}."
            for _ in range(rng.randint(1, 8))
        ]
        start = rng.randint(1, 900)
        entries.append(
            {
                "title": " ".join(words).capitalize() + f" ({i})",
                "authors": authors,
                "year": rng.randint(1990, 2025),
                "journal": rng.choice(JOURNALS),
                "volume": str(rng.randint(1, 300)),
                "pages": f"{start}-{start + rng.randint(3, 20)}",
                "doi": f"10.{1000 + i % 97}/b{i}",
                "abstract": " ".join(rng.choice(WORDS) for _ in range(140)),
            }
        )
    lines = []
    for e in entries:
        lines += [
            "TY  - JOUR",
            f"TI  - {e['title']}",
            *(f"AU  - {a}" for a in e["authors"]),
            f"PY  - {e['year']}",
            f"JO  - {e['journal']}",
            f"VL  - {e['volume']}",
            f"SP  - {e['pages'].split('-')[0]}",
            f"EP  - {e['pages'].split('-')[1]}",
            f"DO  - {e['doi']}",
            f"AB  - {e['abstract']}",
            "ER  - ",
            "",
        ]
    for e in rng.sample(entries, n - originals):
        title = e["title"].upper() if rng.random() < 0.3 else e["title"] + "."
        lines += [
            "TY  - JOUR",
            f"T1  - {title}",
            *(f"A1  - {a.replace('.', '')}" for a in e["authors"]),
            f"Y1  - {e['year']}///",
            f"JF  - {e['journal']}",
            f"VL  - {e['volume']}",
            f"SP  - {e['pages']}",
            f"DO  - https://doi.org/{e['doi'].upper()}",
            "ER  - ",
            "",
        ]
    return "\n".join(lines).encode()


def main() -> None:
    database = setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from review import importers, services
    from review.dedup_service import dedup_apply, dedup_plan, dedup_plan_start
    from review.import_service import records_insert, validate_entries
    from review.models import ImportBatch, Record, Review

    started = time.perf_counter()
    content = generate_ris(N_RECORDS)
    generate_s = time.perf_counter() - started
    user, _ = get_user_model().objects.get_or_create(username="bench-import")
    Review.objects.filter(slug="bench-import").delete()
    review = services.review_create(title="Bench import", slug="bench-import", lead=user)
    source = services.source_create(review=review, name="Generated", arm="database")
    batch = ImportBatch.objects.create(
        review=review, source=source, filename="bench.ris", format="ris", size=len(content)
    )

    times = {}
    t = time.perf_counter()
    result = importers.parse(content, "bench.ris", "ris")
    times["parse"] = time.perf_counter() - t
    t = time.perf_counter()
    problems = list(validate_entries("bench.ris", result.records))
    times["validate"] = time.perf_counter() - t
    # As import_run does it: matching in a forked child while the parent writes the records.
    t = time.perf_counter()
    wait_for_plan = dedup_plan_start(review=review, new=result.records)
    times["read earlier records, start matching"] = time.perf_counter() - t
    with transaction.atomic():
        t = time.perf_counter()
        ids = records_insert(batch, result.records)
        times["write records (matching runs meanwhile)"] = time.perf_counter() - t
        t = time.perf_counter()
        plan = wait_for_plan()
        times["wait for the matching to finish"] = time.perf_counter() - t
        t = time.perf_counter()
        dedup_apply(plan, review=review, new_ids=ids)
        times["write links, pairs, log"] = time.perf_counter() - t
        t = time.perf_counter()
    times["commit"] = time.perf_counter() - t
    total = sum(times.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    t = time.perf_counter()
    dedup_plan(review=Review.objects.create(title="empty", slug="bench-empty"), new=result.records)
    dedup_alone = time.perf_counter() - t

    merged = Record.objects.filter(review=review, duplicate_of__isnull=False).count()
    n = len(result.records)
    print(
        f"database: {database}; file: {len(content) / 1e6:.0f} MB, {n:,} records "
        f"(generated in {generate_s:.1f} s); problems: {len(problems)}"
    )
    print(
        f"duplicates injected: {N_RECORDS // 10:,}; merged automatically: {merged:,}; "
        f"possible pairs: {sum(1 for p in plan.pairs if p[2] == 'possible'):,}"
    )
    print()
    print("| phase | seconds | records/s |")
    print("|---|---:|---:|")
    for phase, seconds in times.items():
        print(f"| {phase} | {seconds:.1f} | {n / seconds:,.0f} |")
    print(f"| **total** | **{total:.1f}** | {n / total:,.0f} |")
    print(
        f"\nde-duplication alone, in one process, for reference: {dedup_alone:.1f} s "
        f"({n / dedup_alone:,.0f} records/s)"
    )
    print(
        f"peak memory (max RSS): {peak_mb:,.0f} MB in the importing process, "
        f"{child_peak_mb:,.0f} MB in the matching child"
    )
