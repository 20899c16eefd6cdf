"""PRISMA 2020 counts on a finished 100,000-record review: `python -m bench prisma`.

    python -m bench prisma                         # SQLite in a temporary folder
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/benchprisma python -m bench prisma

Builds one review with three databases and a register (100,000 records together, through
`services.records_add`) plus a 500-record citation search; 10% duplicates, 1% removed by
automation, 0.2% removed for other reasons. Every remaining database/register record has a
title/abstract result (97% excluded, 1 in 10 of them by automation; 5% of the results
supersede an earlier one), the included ones a retrieval (5% not retrieved), the retrieved ones
a full-text result (80% excluded over five reasons), and the included reports are linked to
studies (about one study in four has two reports). Then times `prisma_counts` (median of 7
runs after one warm-up) and each of its queries, and with BENCH_EXPLAIN=1 prints their plans.
"""

import os
import statistics
import time

from bench.django_env import setup

N_RECORDS = int(os.environ.get("BENCH_RECORDS", "100000"))
N_CITATIONS = 500
REPEATS = 7
SLUG = "bench-prisma"
REASONS = (
    "Wrong population",
    "Wrong intervention",
    "Wrong comparator",
    "Wrong study design",
    "No relevant outcome",
)


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
    from django.utils import timezone

    from analysis.models import Study, StudyReport
    from review import services
    from review.models import ImportBatch, Record, Review, Source
    from screening.models import ExclusionReason, Retrieval, StageResult

    user, _ = get_user_model().objects.get_or_create(username="bench-lead")
    old = Review.objects.filter(slug=SLUG).first()
    if old is not None:  # PROTECT foreign keys: remove the facts before the review
        StudyReport.objects.filter(study__review=old).delete()
        StageResult.objects.filter(review=old).delete()
        Record.objects.filter(review=old).update(duplicate_of=None)
        Record.objects.filter(review=old).delete()
        ImportBatch.objects.filter(review=old).delete()
        Source.objects.filter(review=old).delete()
        old.delete()
    review = services.review_create(title="Bench PRISMA counts", slug=SLUG, lead=user)
    started = time.perf_counter()
    arms = (
        ("PubMed", "database", 0.4),
        ("Embase", "database", 0.35),
        ("Web of Science", "database", 0.2),
        ("ClinicalTrials.gov", "register", 0.05),
    )
    written = 0
    for i, (name, arm, share) in enumerate(arms):
        source = services.source_create(review=review, name=name, arm=arm)
        count = n - written if i == len(arms) - 1 else int(n * share)
        written += count
        services.records_add(
            review=review,
            source=source,
            filename=f"{name}.ris",
            entries=(
                {"title": f"Record {i}-{j} on a topic", "year": 2000 + j % 25} for j in range(count)
            ),
        )
    citations = services.source_create(review=review, name="Citation searching", arm="citation")
    services.records_add(
        review=review,
        source=citations,
        filename="citations.ris",
        entries=({"title": f"Cited record {j}"} for j in range(N_CITATIONS)),
    )
    reasons = [
        ExclusionReason.objects.update_or_create(
            review=review, label=label, defaults={"position": k}
        )[0]
        for k, label in enumerate(REASONS)
    ]
    dbr_ids = list(
        Record.objects.filter(review=review, batch__source__arm__in=("database", "register"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    cited_ids = list(
        Record.objects.filter(review=review, batch__source=citations)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    with transaction.atomic():
        dup = [
            Record(pk=pk, duplicate_of_id=dbr_ids[k - 1])
            for k, pk in enumerate(dbr_ids)
            if k % 10 == 1
        ]
        dup += [
            Record(pk=pk, duplicate_of_id=dbr_ids[k])
            for k, pk in enumerate(cited_ids)
            if k % 5 == 0
        ]
        Record.objects.bulk_update(dup, ["duplicate_of"], batch_size=2000)
        auto = [
            Record(pk=pk, removed_reason="automation")
            for k, pk in enumerate(dbr_ids)
            if k % 100 == 5
        ]
        other = [
            Record(pk=pk, removed_reason="other") for k, pk in enumerate(dbr_ids) if k % 500 == 7
        ]
        Record.objects.bulk_update(auto + other, ["removed_reason"], batch_size=2000)

        retained = [
            pk for k, pk in enumerate(dbr_ids) if k % 10 != 1 and k % 100 != 5 and k % 500 != 7
        ]
        results, retrievals, sought = [], [], []
        for k, pk in enumerate(retained):
            include = k % 33 == 0  # ~3% pass title/abstract screening
            if k % 20 == 3:  # a changed result: the earlier row is superseded
                results.append(
                    StageResult(
                        review=review,
                        record_id=pk,
                        stage="title_abstract",
                        verdict="include",
                        method="single",
                        superseded_at=now,
                    )
                )
            method = "automation" if not include and k % 10 == 9 else "agreement"
            results.append(
                StageResult(
                    review=review,
                    record_id=pk,
                    stage="title_abstract",
                    verdict="include" if include else "exclude",
                    method=method,
                )
            )
            if include:
                sought.append(pk)
        sought += [pk for k, pk in enumerate(cited_ids) if k % 5 != 0]
        included = []
        for k, pk in enumerate(sought):
            if k % 20 == 7:
                retrievals.append(
                    Retrieval(
                        review=review,
                        record_id=pk,
                        status="not_retrieved",
                        not_retrieved_reason="Not available",
                    )
                )
                continue
            retrievals.append(Retrieval(review=review, record_id=pk, status="retrieved"))
            if k % 5 == 0:
                results.append(
                    StageResult(
                        review=review,
                        record_id=pk,
                        stage="full_text",
                        verdict="include",
                        method="agreement",
                    )
                )
                included.append(pk)
            else:
                results.append(
                    StageResult(
                        review=review,
                        record_id=pk,
                        stage="full_text",
                        verdict="exclude",
                        method="agreement",
                        reason=reasons[k % len(reasons)],
                    )
                )
        StageResult.objects.bulk_create(results, batch_size=2000)
        Retrieval.objects.bulk_create(retrievals, batch_size=2000)
        links = []
        study = None
        for k, pk in enumerate(included):
            if k % 5 != 1 or study is None:  # every fifth report joins the previous study
                study = Study.objects.create(review=review, label=f"Study {k}")
            links.append(StudyReport(study=study, record_id=pk))
        StudyReport.objects.bulk_create(links, batch_size=2000)
    return review, time.perf_counter() - started


def _query_times(review) -> list[tuple[str, float]]:
    """Each query of one `prisma_counts` call with its time (ms)."""
    from django.db import connection

    from screening.prisma import prisma_counts

    timed = []

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timed.append((sql, (time.perf_counter() - started) * 1000))

    with connection.execute_wrapper(wrapper):
        prisma_counts(review)
    return timed


def _explain(sql: str, params) -> str:
    from django.db import connection

    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql, params)
        return "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())


def main() -> None:
    database = setup()
    from django.db import connection

    from screening.prisma import prisma_counts

    review, build_s = _build(N_RECORDS)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    counts = prisma_counts(review)
    failures = counts.check()
    assert failures == [], failures
    assert counts.pending.total == 0, counts.pending
    assert counts.database_results + counts.register_results == N_RECORDS

    median = _median_ms(lambda: prisma_counts(review))
    print(f"database: {database}; records: {N_RECORDS + N_CITATIONS:,}; built in {build_s:.1f} s")
    print(
        f"records_screened {counts.records_screened:,}, records_excluded "
        f"{counts.records_excluded:,}, dbr_sought {counts.dbr_sought_reports:,}, dbr_assessed "
        f"{counts.dbr_assessed:,}, other_sought {counts.other_sought_reports:,}, new_reports "
        f"{counts.new_reports:,}, new_studies {counts.new_studies:,}"
    )
    print()
    print("| query | median (ms) |")
    print("|---|---:|")
    print(f"| prisma_counts (all queries) | {median:.1f} |")

    runs = [_query_times(review) for _ in range(REPEATS)]
    labels = [
        "records by batch + current title/abstract result",
        "sources",
        "batches",
        "current full-text results (+ reasons, flags)",
        "not-retrieved reports",
        "studies",
    ]
    for k, (sql, _) in enumerate(runs[0]):
        label = labels[k] if k < len(labels) else sql[:60]
        print(f"| {k + 1}. {label} | {statistics.median(run[k][1] for run in runs):.1f} |")
    if os.environ.get("BENCH_EXPLAIN"):
        captured = _Capture()
        with connection.execute_wrapper(captured):
            prisma_counts(review)
        for sql, params in captured.queries:
            print("\n" + sql + "\n" + _explain(sql, params))


class _Capture:
    def __init__(self):
        self.queries = []

    def __call__(self, execute, sql, params, many, context):
        self.queries.append((sql, params))
        return execute(sql, params, many, context)
