"""Upload requests with spreadsheets (issue 14, finding 2): how long the web request takes for a
legitimate 20,000-row Excel export and for an ~90 KB zip bomb, before and after.

    make bench BENCH=upload          # or: .venv/bin/python -m bench upload

"Before" is the work the upload request used to do: `_guess_mapping` parsed the whole workbook
(`importers.parse`, no limits) to guess the columns, so the request took as long as a full parse.
"After" is the whole request now, through Django's test client (middleware, form, hashing and
storing the file in chunks, the zip-directory check, the header and five rows), then the column
page; the full parse happens in the worker (timed once, as `import_run`, records written too).
Medians of RUNS runs (3 for the old parse of the workbook, 1 for the old parse of the bomb);
peak traced memory from one separate run (tracing slows Python down).
The workbook is generated (openpyxl, write-only): titles, authors, years, journals, DOIs and
~1,000-character abstracts, as in a Scopus export.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import statistics
import tempfile
import time
import tracemalloc

from bench.django_env import setup

N_ROWS = int(os.environ.get("BENCH_UPLOAD_ROWS", "20000"))
RUNS = 5
WORDS = (
    "effect exercise randomised trial older adults depression cohort risk mortality cancer "
    "diabetes metformin intervention outcome meta-analysis systematic review placebo "
    "hypertension stroke cognitive decline quality life pain chronic therapy primary care"
).split()


def make_workbook(n: int) -> bytes:
    import openpyxl

    rng = random.Random(14)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Scopus")
    sheet.append(["Authors", "Title", "Year", "Source title", "DOI", "Abstract"])
    for i in range(n):
        sheet.append(
            [
                "; ".join(f"{rng.choice(WORDS).title()} {chr(65 + rng.randrange(26))}."
                          for _ in range(rng.randint(1, 6))),
                " ".join(rng.choices(WORDS, k=12)).capitalize() + f" ({i})",
                rng.randint(1990, 2025),
                rng.choice(["The Lancet", "BMJ", "JAMA", "PLoS One"]),
                f"10.1000/bench.{i}",
                " ".join(rng.choices(WORDS, k=140)),
            ]
        )  # fmt: skip
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def median_seconds(call, runs=RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_mib(call) -> float:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="workbench-bench-media-"))
    database = setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from review import import_service, importers
    from review.importers import xlsx
    from review.models import ImportBatch, ImportStatus, Membership, Review, Role, Source
    from tests.uploads.workbooks import zip_bomb

    setup_test_environment()
    user = get_user_model().objects.create_user("bench-upload", password="x")  # noqa: S106
    review = Review.objects.create(title="Upload bench", slug=f"upload-{int(time.time())}")
    Membership.objects.create(review=review, user=user, role=Role.LEAD)
    source = Source.objects.create(review=review, name="Scopus", arm="database")
    client = Client()
    client.force_login(user)
    create = reverse("review:import-create", args=[review.slug])
    client.get(create)  # load the URL conf, views and templates

    legit = make_workbook(N_ROWS)
    bomb = zip_bomb()
    no_limits = xlsx.Limits(max_uncompressed=2**40, max_ratio=2**30, max_rows=2**30)

    def old_request_parse(data, name):
        def call():
            with contextlib.suppress(importers.ImportFileError):
                importers.parse(data, name, "excel", limits=no_limits)

        return call

    def upload(data, name):
        def call():
            handle = io.BytesIO(data)
            handle.name = name
            response = client.post(
                create, {"source": source.pk, "file": handle, "allow_same_file": "on"}
            )
            assert response.status_code in (200, 302), response.status_code
            if response.status_code == 302 and "columns" in response.url:
                assert client.get(response.url).status_code == 200  # the column page
            return response

        return call

    rows = []
    for label, data, name in (
        (f"legitimate, {N_ROWS:,} rows", legit, "scopus.xlsx"),
        ("zip bomb, 200,000 rows", bomb, "bomb.xlsx"),
    ):
        # the bomb's full parse takes tens of seconds: once is enough to see it
        before = median_seconds(old_request_parse(data, name), runs=3 if data is legit else 1)
        after = median_seconds(upload(data, name))
        before_peak = peak_mib(old_request_parse(data, name))
        after_peak = peak_mib(upload(data, name))
        rows.append((label, len(data) / 2**20, before, after, before_peak, after_peak))

    batch = (
        ImportBatch.objects.filter(review=review, status=ImportStatus.PENDING)
        .order_by("pk")
        .first()
    )
    assert batch.column_mapping["title"] == "Title"  # guessed from the header
    started = time.perf_counter()
    done = import_service.import_run(batch)
    worker = time.perf_counter() - started

    print(f"Upload request with an Excel export, {database}, median of {RUNS} runs\n")
    print(
        "| file | size MiB | before: parse in the request, s | after: upload + column page, s "
        "| before peak MiB | after peak MiB |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, size, before, after, before_peak, after_peak in rows:
        print(
            f"| {label} | {size:.2f} | {before:.2f} | {after:.3f} | {before_peak:.0f} "
            f"| {after_peak:.1f} |"
        )
    print(
        f"\nThe worker's import of the legitimate file (parse, validate, de-duplicate, write "
        f"{done.record_count:,} records): {worker:.1f} s, status {done.status}."
    )


if __name__ == "__main__":
    main()
