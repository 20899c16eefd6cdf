"""Dashboard counts and the review list on a 100,000-record review (SQLite by default).

    make bench BENCH=counts                       # SQLite in a temporary folder
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench make bench BENCH=counts

Builds one review with three sources, 10% duplicates, 1% removed by automation, half of the
remaining records settled at title/abstract and a few at full text, then times
the dashboard's aggregate reads (`screening.prisma.prisma_counts` and
`review.selectors.source_counts`) and `reviews_for_user` (median of 7 runs, after one warm-up).
"""

import os
import statistics
import time

from bench.django_env import setup

N_RECORDS = int(os.environ.get("BENCH_RECORDS", "100000"))
REPEATS = 7


def _median_ms(fn) -> float:
    fn()
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _build(n: int):
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from review import services
    from review.models import Record, Review
    from screening.models import StageResult

    user, _ = get_user_model().objects.get_or_create(username="bench-lead")
    Review.objects.filter(slug="bench-counts").delete()
    review = services.review_create(title="Bench counts", slug="bench-counts", lead=user)
    started = time.perf_counter()
    for i, name in enumerate(("PubMed", "Embase", "Web of Science")):
        source = services.source_create(review=review, name=name, arm="database")
        share = n // 3 + (n % 3 if i == 0 else 0)
        services.records_add(
            review=review,
            source=source,
            filename=f"{name}.ris",
            entries=(
                {"title": f"Record {i}-{j} on a topic", "year": 2000 + j % 25} for j in range(share)
            ),
        )
    ids = list(Record.objects.filter(review=review).values_list("pk", flat=True))
    with transaction.atomic():
        step = 10
        duplicates = [
            Record(pk=pk, duplicate_of_id=ids[k - 1]) for k, pk in enumerate(ids) if k % step == 1
        ]
        Record.objects.bulk_update(duplicates, ["duplicate_of"], batch_size=2000)
        removed = [
            Record(pk=pk, removed_reason="automation") for k, pk in enumerate(ids) if k % 100 == 5
        ]
        Record.objects.bulk_update(removed, ["removed_reason"], batch_size=2000)
        settled = [
            StageResult(
                review=review,
                record_id=pk,
                stage="title_abstract",
                verdict="include" if k % 20 == 0 else "exclude",
                method="single",
            )
            for k, pk in enumerate(ids)
            if k % 2 == 0 and k % step != 1 and k % 100 != 5
        ]
        StageResult.objects.bulk_create(settled, batch_size=2000)
    return review, user, time.perf_counter() - started


def main() -> None:
    database = setup()
    from review.selectors import reviews_for_user, source_counts
    from screening.prisma import prisma_counts

    review, user, build_s = _build(N_RECORDS)
    counts = prisma_counts(review)
    assert counts.database_results + counts.register_results == N_RECORDS
    assert sum(row.records for row in source_counts(review)) == N_RECORDS

    def dashboard_reads():
        prisma_counts(review).rules()
        source_counts(review)

    dashboard = _median_ms(dashboard_reads)
    listing = _median_ms(lambda: list(reviews_for_user(user)))
    print(
        f"database: {database}; records: {N_RECORDS:,}; built in {build_s:.1f} s "
        f"({N_RECORDS / build_s:,.0f} records/s through services.records_add)"
    )
    print()
    print("| query | median (ms) |")
    print("|---|---:|")
    print(f"| dashboard: prisma_counts + rules + source_counts | {dashboard:.1f} |")
    print(f"| reviews_for_user (review list) | {listing:.1f} |")
