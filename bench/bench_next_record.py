"""The screening page's next record at 100,000 records: `make bench BENCH=next_record`.

    make bench BENCH=next_record                   # SQLite in a temporary folder
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test make bench BENCH=next_record

Builds two reviews of BENCH_RECORDS (100,000) records each through `services.records_add` (three
databases, as in bench_counts; 10% duplicates, 1% removed by automation), one screened in single
mode and one in dual mode, in the state a reviewer meets a third of the way through, screening
in import order as the queue serves them:

- single mode: "me" has decided the first third of the open records (each settled by the vote,
  1 in 20 after a changed vote); another reviewer has decided every fourth record of the next
  sixth;
- dual mode: "me" and a second reviewer have both voted on the first third (95% agree and are
  settled, 5% are conflicts awaiting a lead); the second reviewer alone on the next sixth, where
  a third reviewer also voted on every seventh (two votes: not for me); the third reviewer alone
  on every other record of the next tenth.

Then times, over REPEATS (60) repetitions after 3 warm-ups, median and p95:
`services.next_record` as the screening page calls it; the decide round trip the page makes on a
key press (`decision_record` on the record shown, then `next_record`); and the page's whole card
(`screening.views._card_context`: next record, highlighting, reasons, progress, last decision,
rendered as the `#card` partial). BENCH_EXPLAIN=1 prints the plan of next_record's query.
"""

import os
import statistics
import time

from bench.django_env import setup

N_RECORDS = int(os.environ.get("BENCH_RECORDS", "100000"))
RANKED_RECORDS = int(os.environ.get("BENCH_RANKED_RECORDS", "20000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "60"))
WARMUPS = 3
TA = "title_abstract"


def _timed(fn, repeats: int = REPEATS) -> tuple[float, float]:
    """(median, p95) in ms of `fn()` over `repeats` calls after a few warm-ups."""
    for _ in range(WARMUPS):
        fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), statistics.quantiles(times, n=20, method="inclusive")[-1]


def _records(review, n: int) -> list[int]:
    """n records in three database sources (as bench_counts), 10% duplicates, 1% removed; returns
    the ids of the open ones (neither duplicate nor removed) in import order."""
    from django.db import transaction

    from review import services
    from review.models import Record

    for i, name in enumerate(("PubMed", "Embase", "Web of Science")):
        source = services.source_create(review=review, name=name, arm="database")
        share = n // 3 + (n % 3 if i == 0 else 0)
        services.records_add(
            review=review,
            source=source,
            filename=f"{name}.ris",
            entries=(
                {
                    "title": f"Record {i}-{j} on a topic of rats and context",
                    "abstract": "An abstract of about a hundred words on recognition memory. " * 8,
                    "year": 2000 + j % 25,
                }
                for j in range(share)
            ),
        )
    ids = list(Record.objects.filter(review=review).order_by("pk").values_list("pk", flat=True))
    with transaction.atomic():
        duplicates = [
            Record(pk=pk, duplicate_of_id=ids[k - 1]) for k, pk in enumerate(ids) if k % 10 == 1
        ]
        Record.objects.bulk_update(duplicates, ["duplicate_of"], batch_size=2000)
        removed = [
            Record(pk=pk, removed_reason="automation") for k, pk in enumerate(ids) if k % 100 == 5
        ]
        Record.objects.bulk_update(removed, ["removed_reason"], batch_size=2000)
    return [pk for k, pk in enumerate(ids) if k % 10 != 1 and k % 100 != 5]


def _build(mode: str, n: int, users: dict, slug: str = ""):
    from django.db import transaction
    from django.utils import timezone

    from review import services
    from review.models import ImportBatch, Record, Review, Source
    from screening.models import ScreeningDecision, StageResult

    slug = slug or f"bench-next-{mode}"
    old = Review.objects.filter(slug=slug).first()
    if old is not None:  # PROTECT foreign keys: remove the facts before the review
        ScreeningDecision.objects.filter(review=old).delete()
        StageResult.objects.filter(review=old).delete()
        Record.objects.filter(review=old).update(duplicate_of=None)
        Record.objects.filter(review=old).delete()
        ImportBatch.objects.filter(review=old).delete()
        Source.objects.filter(review=old).delete()
        old.delete()
    review = services.review_create(
        title=f"Bench next record ({mode})",
        slug=slug,
        lead=users["lead"],
        title_abstract_mode=mode,
    )
    for name in ("me", "other", "third"):
        services.membership_add(review=review, username=users[name].username, role="reviewer")
    started = time.perf_counter()
    open_ids = _records(review, n)
    me, other, third = users["me"], users["other"], users["third"]
    third_of, half, six_tenths = len(open_ids) // 3, len(open_ids) // 2, len(open_ids) * 6 // 10
    now = timezone.now()
    votes, results = [], []

    def vote(pk, user, verdict, superseded=False):
        votes.append(
            ScreeningDecision(
                review=review, record_id=pk, stage=TA, reviewer=user, verdict=verdict,
                superseded_at=now if superseded else None,
            )
        )  # fmt: skip

    def settle(pk, verdict, method):
        results.append(
            StageResult(review=review, record_id=pk, stage=TA, verdict=verdict, method=method)
        )

    for k, pk in enumerate(open_ids[:half]):
        verdict = "include" if k % 20 == 0 else "exclude"
        if k < third_of:
            if k % 20 == 3:  # a changed vote: the earlier row is superseded
                vote(pk, me, "include", superseded=True)
            vote(pk, me, verdict)
            if mode == "single":
                settle(pk, verdict, "single")
            else:
                conflict = k % 20 == 7
                vote(pk, other, "include" if conflict else verdict)
                if not conflict:
                    settle(pk, verdict, "agreement")
        elif mode == "single":
            if k % 4 == 0:
                vote(pk, other, verdict)
                settle(pk, verdict, "single")
        else:
            vote(pk, other, verdict)
            if k % 7 == 0:
                vote(pk, third, verdict)
                settle(pk, verdict, "agreement")
    if mode == "dual":
        for pk in open_ids[half:six_tenths:2]:
            vote(pk, third, "exclude")
    with transaction.atomic():
        ScreeningDecision.objects.bulk_create(votes, batch_size=2000)
        StageResult.objects.bulk_create(results, batch_size=2000)
    return review, time.perf_counter() - started


def _card(review, user):
    """The screening page's card as the decide view renders it (context and `#card` partial)."""
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from screening.views import _card_context

    request = RequestFactory().get(f"/reviews/{review.slug}/screen/{TA}/")
    request.user = user
    return render_to_string(
        "screening/screen.html#card", _card_context(request, review, TA), request=request
    )


def _next_record_sql(review, user) -> tuple[str, list]:
    from django.db import connection

    from screening.services import next_record

    captured = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        next_record(review=review, reviewer=user, stage=TA)
    return captured[-1]


def _explain(sql: str, params) -> str:
    from django.db import connection

    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql, params)
        return "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())


def _measure(review, me) -> dict[str, tuple[float, float] | int]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from screening.selectors import screening_progress
    from screening.services import decision_record, next_record

    def show():
        return next_record(review=review, reviewer=me, stage=TA)

    shown = [show()]

    def decide():  # the page shows `shown`; a key press decides it and fetches the next one
        record = shown[0]
        verdict = "include" if record.pk % 20 == 0 else "exclude"
        decision_record(review=review, record=record, reviewer=me, stage=TA, verdict=verdict)
        shown[0] = show()

    figures: dict[str, tuple[float, float] | int] = {"next_record": _timed(show)}
    assert show() == shown[0], "next_record must not move without a decision"
    figures["decide round trip (decision_record + next_record)"] = _timed(decide)
    reset_queries()  # DEBUG keeps a log of at most 9,000 queries: count from an empty one
    with CaptureQueriesContext(connection) as queries:
        decide()
    figures["  queries per decide round trip"] = len(queries)
    figures["screening_progress (the card's progress bar)"] = _timed(
        lambda: screening_progress(review, me, TA)
    )
    figures["card (_card_context + #card partial)"] = _timed(lambda: _card(review, me))
    reset_queries()  # DEBUG keeps a log of at most 9,000 queries: count from an empty one
    with CaptureQueriesContext(connection) as queries:
        _card(review, me)
    figures["  queries per card"] = len(queries)

    return figures


def main() -> None:
    database = setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    users = {
        name: get_user_model().objects.get_or_create(username=f"bench-{name}")[0]
        for name in ("lead", "me", "other", "third")
    }
    built = {}
    for mode in ("single", "dual"):
        built[mode] = _build(mode, N_RECORDS, users)
    print(f"database: {database}; {N_RECORDS:,} records per review; {REPEATS} repetitions")
    rows = {}
    for mode, (review, build_s) in built.items():
        print(f"{mode} mode built in {build_s:.1f} s")
        if os.environ.get("BENCH_EXPLAIN"):
            sql, params = _next_record_sql(review, users["me"])
            print(f"\nnext_record ({mode} mode):\n{sql}\n{_explain(sql, params)}\n")
        rows[mode] = _measure(review, users["me"])
    # Issue 6: a ranked queue (dual mode) at RANKED_RECORDS records, ranked by a real training.
    from screening.prioritisation import ranking_train

    ranked, ranked_build_s = _build("dual", RANKED_RECORDS, users, slug="bench-next-ranked")
    started = time.perf_counter()
    settings = ranking_train(ranked)
    train_s = time.perf_counter() - started
    if connection.vendor == "postgresql":  # what autovacuum does soon after a large import
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(
        f"ranked review ({RANKED_RECORDS:,} records, dual) built in {ranked_build_s:.1f} s; "
        f"ranking_train on {settings.labels_at_training:,} labels took {train_s:.2f} s "
        f"(model: {settings.trained})"
    )
    ranked_rows = _measure(ranked, users["me"])
    print()
    print(f"| ranked queue, {RANKED_RECORDS:,} records | median | p95 |")
    print("|---|---:|---:|")
    for name, value in ranked_rows.items():
        if isinstance(value, int):
            print(f"| {name} | {value} | |")
        else:
            print(f"| {name} | {value[0]:.1f} | {value[1]:.1f} |")
    print()
    print("| operation | single: median | single: p95 | dual: median | dual: p95 |")
    print("|---|---:|---:|---:|---:|")
    for name in rows["single"]:
        single, dual = rows["single"][name], rows["dual"][name]
        if isinstance(single, int):
            print(f"| {name} | {single} | | {dual} | |")
        else:
            print(f"| {name} | {single[0]:.1f} | {single[1]:.1f} | {dual[0]:.1f} | {dual[1]:.1f} |")
