"""Importing a search export: upload, (for CSV/Excel) confirm the columns, parse, validate,
de-duplicate against the review's earlier records, and write everything in one transaction.

    batch = import_upload(review=r, source=s, file=f, user=u)   # small files: done on return
                                                                # (or content=bytes)
    import_confirm_mapping(batch=batch, mapping={...})          # CSV/Excel only
    import_run(batch)                                           # what the worker task calls

Nothing is half-written: the file is parsed and every entry validated before the transaction
opens, and a problem anywhere fails the whole import, naming the file and line, with no records
written. Large files run as a background task that reports its phase and progress on the batch.
"""

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from review import importers, keys
from review.dedup_service import dedup_apply, dedup_plan_start
from review.heartbeat import Heartbeat, beat_interval
from review.importers import xlsx
from review.models import (
    DuplicatePair,
    ImportBatch,
    ImportFormat,
    ImportStatus,
    Record,
    Review,
    Source,
)
from review.services import record_numbers_next, statistics_refresh

logger = logging.getLogger(__name__)

TABULAR = (ImportFormat.CSV, ImportFormat.EXCEL)
Progress = Callable[[str, int], None]

# Record fields written on import, in the order of the INSERT's columns.
_TEXT_LIMITS = {
    f.name: f.max_length
    for f in Record._meta.concrete_fields
    if getattr(f, "max_length", None) and f.get_internal_type() == "CharField"
}


def _megabytes(n: int) -> str:
    """A size as people read it: 100 bytes, 2.1 KB, 201.0 MB."""
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def upload_too_large(filename: str, size: int) -> str | None:
    """Why an upload of `size` bytes is refused, or None: checked on the size Django measured
    while it streamed the file to disk, before anything reads it into memory."""
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    if size <= limit:
        return None
    return (
        f"{filename} is {_megabytes(size)}; the largest file this site accepts is "
        f"{_megabytes(limit)} (IMPORT_MAX_UPLOAD_MB)."
    )


def import_upload(
    *,
    review: Review,
    source: Source,
    filename: str,
    content: bytes | None = None,
    file=None,
    user=None,
    format: str | None = None,
    allow_same_file: bool = False,
    strict: bool = False,
) -> ImportBatch:
    """Check and store an uploaded export; import it now, later (worker) or after its mapping.
    With `strict`, a record without a title fails the import (kept on the batch for the worker).

    `file` (an uploaded file, as Django streamed it to disk) or `content` (bytes). The file is
    never read whole here: it is hashed and copied to storage in chunks, its format told from its
    first kilobytes, and of a CSV/Excel file only the header and first rows are read to guess
    the columns (`importers.preview`); the whole file is parsed by `import_run`, in the worker
    for every Excel file and for files over IMPORT_BACKGROUND_MB.

    Raises ValidationError, naming the file, when it is too large, was imported before (unless
    `allow_same_file`), is not a search export we can read, or is a workbook past the
    spreadsheet limits (a zip bomb).
    """
    stream = File(file) if file is not None else ContentFile(content or b"")
    batch = _new_batch(review, source, filename, stream, user, format, allow_same_file)
    batch.strict = strict
    if batch.format in TABULAR:
        try:
            batch.column_mapping = _guess_mapping(stream, filename, batch.format)
        except importers.ImportFileError as error:
            batch.file.delete(save=False)
            raise ValidationError(str(error)) from error
        batch.phase = "waiting for the columns to be confirmed"
        batch.save()
        return batch
    batch.save()
    return _start(batch)


def import_now(
    *,
    review: Review,
    source: Source,
    filename: str,
    content: bytes,
    user=None,
    format: str | None = None,
    column_mapping: dict[str, str] | None = None,
    allow_same_file: bool = False,
    progress: Progress | None = None,
    strict: bool = False,
) -> ImportBatch:
    """Import a file synchronously (the terminal command); CSV/Excel use the guessed columns
    unless `column_mapping` is given. A record without a title is left out with a warning, or,
    when `strict`, fails the import."""
    stream = ContentFile(content)
    batch = _new_batch(review, source, filename, stream, user, format, allow_same_file)
    batch.strict = strict
    if batch.format in TABULAR and not column_mapping:
        try:
            column_mapping = _guess_mapping(stream, filename, batch.format)
        except importers.ImportFileError as error:
            batch.file.delete(save=False)
            raise ValidationError(str(error)) from error
    if batch.format in TABULAR:
        batch.column_mapping = column_mapping
    batch.save()
    return import_run(batch, progress=progress, strict=strict)


#: How much of the file is read to tell its format (importers.detect looks at 16 KB).
_HEAD_BYTES = 64 * 1024


def _new_batch(review, source, filename, stream, user, format, allow_same_file) -> ImportBatch:
    if source.review_id != review.pk:
        raise ValidationError(f'The source "{source}" belongs to another review.')
    size = stream.size
    too_large = upload_too_large(filename, size)
    if too_large:
        raise ValidationError(too_large)
    digest = hashlib.sha256()
    stream.seek(0)
    for chunk in stream.chunks():
        digest.update(chunk)
    sha256 = digest.hexdigest()
    stream.seek(0)
    head = stream.read(_HEAD_BYTES)
    stream.seek(0)
    earlier = (
        review.imports.filter(sha256=sha256, status=ImportStatus.DONE)
        .select_related("source")
        .first()
    )
    if earlier and not allow_same_file:
        raise ValidationError(
            f"{filename} is the same file as “{earlier.filename}”, imported into "
            f"“{earlier.source}” on {earlier.created_at:%d %b %Y} "
            f"({earlier.record_count} records). Tick “import anyway” to import it again."
        )
    try:
        detected = format or importers.detect_format(head, filename)
    except importers.ImportFileError as error:
        raise ValidationError(str(error)) from error
    if detected not in ImportFormat.values or detected == ImportFormat.MANUAL:
        raise ValidationError(f"{filename}: unknown format {detected!r}.")
    batch = ImportBatch(
        review=review,
        source=source,
        filename=filename[:255],
        format=detected,
        sha256=sha256,
        size=size,
        uploaded_by=user,
        status=ImportStatus.PENDING,
    )
    batch.file.save(f"{sha256[:16]}-{filename[-80:]}", stream, save=False)
    stream.seek(0)
    return batch


def import_confirm_mapping(*, batch: ImportBatch, mapping: dict[str, str]) -> ImportBatch:
    """Store the columns a person confirmed for a CSV/Excel import, then import it."""
    if batch.status != ImportStatus.PENDING:
        raise ValidationError(f"{batch.filename} is already {batch.get_status_display().lower()}.")
    if not mapping.get("title"):
        raise ValidationError("Choose the column that holds the titles.")
    # "" keeps a person's "not in this file" over the column guessed from the header
    batch.column_mapping = {field: header or "" for field, header in mapping.items()}
    batch.phase = ""
    batch.save(update_fields=["column_mapping", "phase"])
    return _start(batch)


def spreadsheet_limits() -> xlsx.Limits:
    """What an imported workbook may hold (SPREADSHEET_* settings)."""
    return xlsx.Limits(
        max_uncompressed=settings.SPREADSHEET_MAX_UNCOMPRESSED_MB * 1024 * 1024,
        max_ratio=settings.SPREADSHEET_MAX_RATIO,
        max_members=settings.SPREADSHEET_MAX_MEMBERS,
        max_rows=settings.SPREADSHEET_MAX_ROWS,
        max_columns=settings.SPREADSHEET_MAX_COLUMNS,
    )


def _guess_mapping(stream, filename: str, format: str) -> dict[str, str]:
    """The columns guessed from the header (and the first rows) only: never the whole file.
    Raises ImportFileError when a workbook is past the spreadsheet limits or unreadable."""
    try:
        result = importers.preview(stream, filename, format, limits=spreadsheet_limits())
    finally:
        stream.seek(0)
    return dict(result.column_mapping or {})


def _start(batch: ImportBatch) -> ImportBatch:
    """Import now when the file is small, else hand it to the background worker. An Excel
    workbook always goes to the worker: its size says little about its work (a few MB of
    compressed XML can hold 200,000 rows), and a request must never parse one in full."""
    if batch.size > settings.IMPORT_BACKGROUND_BYTES or batch.format == ImportFormat.EXCEL:
        from review.tasks import run_import

        batch.phase = "queued for the background worker"
        batch.save(update_fields=["phase"])
        transaction.on_commit(lambda: run_import.enqueue(batch.pk))
        return batch
    return import_run(batch)


class _Stopped(Exception):
    """The run lost its claim on the batch: cancelled, or taken for dead and queued again."""


def _claim(batch: ImportBatch) -> int | None:
    """Take a waiting batch for this run (status running, one more attempt, heartbeat now);
    the attempt's number, or None when it is not waiting (a task delivered twice, a batch
    cancelled meanwhile)."""
    attempt = batch.attempts + 1
    claimed = ImportBatch.objects.filter(
        pk=batch.pk, status=ImportStatus.PENDING, attempts=batch.attempts
    ).update(status=ImportStatus.RUNNING, attempts=attempt, heartbeat_at=timezone.now())
    return attempt if claimed else None


def import_run(
    batch: ImportBatch, *, progress: Progress | None = None, strict: bool = False
) -> ImportBatch:
    """Parse, validate, de-duplicate and write one waiting batch. Returns it as done or failed
    (or as it is, when it was not waiting, or was cancelled while it ran). A record without a
    title is left out with a warning naming it, or, when `strict`, fails the batch.

    The run holds the batch while `status` is running and `attempts` is its own: each step
    checks that (a cancel, or a sweep that took this run for dead, stops it between steps), and
    the write transaction ends by marking the batch done on that condition, or rolls back, so a
    batch is written once, by the run that holds it, or not at all. A heartbeat keeps
    `heartbeat_at` fresh meanwhile (`imports_sweep`). A lost database connection leaves the
    batch running, queued again at once when the database answers again, else by the sweep
    once its heartbeat is stale.
    """
    attempt = _claim(batch)
    if attempt is None:
        batch.refresh_from_db()
        return batch
    batch.status, batch.attempts = ImportStatus.RUNNING, attempt
    mine = ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.RUNNING, attempts=attempt)

    def step(phase: str, percent: int) -> None:
        batch.phase, batch.progress, batch.heartbeat_at = phase, percent, timezone.now()
        if not mine.update(phase=phase, progress=percent, heartbeat_at=batch.heartbeat_at):
            raise _Stopped
        if progress:
            progress(phase, percent)

    touch = lambda: mine.update(heartbeat_at=timezone.now())  # noqa: E731
    with Heartbeat(touch, every=beat_interval(settings.IMPORT_STALE_SECONDS)):
        try:
            return _import_steps(batch, attempt, mine, step, progress, strict or batch.strict)
        except _Stopped:
            batch.refresh_from_db()
            return batch
        except importers.ImportFileError as error:
            problem = {"line": error.line, "message": str(error), "severity": "error"}
            return _fail(batch, attempt, [problem], [])
        except (OperationalError, InterfaceError) as error:
            lost = error  # below, once the heartbeat has stopped
        except Exception:
            logger.exception("Import of batch %s failed", batch.pk)
            message = f"{batch.filename}: the import failed unexpectedly; nothing was written."
            problem = {"line": None, "message": message, "severity": "error"}
            return _fail(batch, attempt, [problem], [])
    # The database went away mid-run (a restart, a cut connection): the write rolled back. Queue
    # the batch again now if the database is back (Django reconnects), else the sweep will.
    logger.warning("Import of batch %s lost its database connection (%s)", batch.pk, lost)
    if _queue_again(batch, mine, attempt):
        return batch
    raise lost


def _queue_again(batch: ImportBatch, mine, attempt: int) -> bool:
    try:
        beat = mine.values_list("heartbeat_at", flat=True).first()
        if beat is None or not import_worker_stopped(batch.pk, attempts=attempt, heartbeat_at=beat):
            return False
        batch.refresh_from_db()
    except (OperationalError, InterfaceError):
        return False
    return True


def _import_steps(batch, attempt, mine, step, progress, strict=False) -> ImportBatch:
    step("reading the file", 5)
    with batch.file.open("rb") as fh:
        content = fh.read()
    step("parsing", 10)
    result = importers.parse(
        content,
        batch.filename,
        batch.format,
        column_mapping=batch.column_mapping,
        limits=spreadsheet_limits(),
        strict=strict,
    )
    problems = [
        {"line": p.line, "message": p.message, "severity": p.severity} for p in result.problems
    ]
    step("validating", 35)
    problems += [
        {"line": line, "message": message, "severity": severity}
        for line, message, severity in validate_entries(batch.filename, result.records)
    ]
    errors = [p for p in problems if p["severity"] == "error"]
    if errors:
        return _fail(batch, attempt, errors, problems)
    if not result.records:
        message = f"{batch.filename} holds no records."
        error = [{"line": None, "message": message, "severity": "error"}]
        return _fail(batch, attempt, error, problems)

    step("de-duplicating and writing", 45)
    wait_for_plan = dedup_plan_start(review=batch.review, new=result.records)
    with transaction.atomic():
        ids = records_insert(batch, result.records)
        dedup_apply(wait_for_plan(), review=batch.review, new_ids=ids)
        statistics_refresh(len(ids))
        _rank_new_records(batch.review)
        # Done, if the batch is still this run's (not cancelled, not taken for dead and queued
        # again): else everything above rolls back. A cancel arriving after this UPDATE waits
        # for the commit on the row lock, then finds the batch done.
        now = timezone.now()
        done = {"record_count": len(ids), "problems": problems, "status": ImportStatus.DONE,
                "phase": "", "progress": 100, "finished_at": now, "heartbeat_at": now}  # fmt: skip
        if not mine.update(**done):
            raise _Stopped
        for name, value in done.items():
            setattr(batch, name, value)
    if progress:
        progress("done", 100)
    return batch


def _rank_new_records(review: Review) -> None:
    """Give the new records their place in the prioritised queue (a background retrain)."""
    from screening.prioritisation import ranking_after_import

    ranking_after_import(review)


def _fail(
    batch: ImportBatch, attempt: int, errors: list[dict], problems: list[dict]
) -> ImportBatch:
    """Fail the batch, if this run still holds it."""
    shown = errors[:20]
    more = f"\n… and {len(errors) - len(shown)} more problems." if len(errors) > len(shown) else ""
    fields = {
        "error": "\n".join(e["message"] for e in shown) + more,
        "problems": problems or errors,
        "status": ImportStatus.FAILED,
        "phase": "",
        "finished_at": timezone.now(),
    }
    ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.RUNNING, attempts=attempt).update(
        **fields
    )
    batch.refresh_from_db()
    return batch


# Faults: a run that lost its process, cancel and retry ------------------------------------

WORKER_STOPPED = (
    "The background worker stopped (or lost its database connection) while importing this file "
    "{n} time{s}; nothing was written. Retry the import, or ask the site's administrator to "
    "look at the worker's log."
)


def imports_sweep(*, now=None) -> int:
    """Find running imports whose heartbeat is older than IMPORT_STALE_SECONDS (their process
    died) and queue each again, or fail it with the reason once IMPORT_MAX_ATTEMPTS runs have
    started. Safe to run from several processes at once. Returns how many it handled."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.IMPORT_STALE_SECONDS)
    stale = ImportBatch.objects.filter(status=ImportStatus.RUNNING).filter(
        Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True, created_at__lt=stale_before)
    )
    return sum(
        import_worker_stopped(pk, attempts=attempts, heartbeat_at=beat)
        for pk, attempts, beat in stale.values_list("pk", "attempts", "heartbeat_at")
    )


def import_is_stale(batch: ImportBatch, *, now=None) -> bool:
    """Has this running batch lost its process? (the import page checks on each poll)"""
    if batch.status != ImportStatus.RUNNING:
        return False
    beat = batch.heartbeat_at or batch.created_at
    now = now or timezone.now()
    return beat < now - timedelta(seconds=settings.IMPORT_STALE_SECONDS)


def import_worker_stopped(batch_id: int, *, attempts: int, heartbeat_at) -> bool:
    """The process running attempt `attempts` of the batch is gone: queue the batch again, or
    fail it after IMPORT_MAX_ATTEMPTS. A compare-and-set on (status, attempts, heartbeat): a
    run that is alive after all, or another sweep, wins. True if this call changed the batch."""
    from review.worker import tasks_abandoned

    rows = ImportBatch.objects.filter(
        pk=batch_id, status=ImportStatus.RUNNING, attempts=attempts, heartbeat_at=heartbeat_at
    )
    with transaction.atomic():
        if attempts >= settings.IMPORT_MAX_ATTEMPTS:
            message = WORKER_STOPPED.format(n=attempts, s="" if attempts == 1 else "s")
            changed = rows.update(
                status=ImportStatus.FAILED, phase="", error=message, finished_at=timezone.now(),
                problems=[{"line": None, "message": message, "severity": "error"}],
            )  # fmt: skip
            if changed:
                logger.warning("Import batch %s failed: its worker stopped %s times", batch_id,
                               attempts)  # fmt: skip
        else:
            changed = rows.update(
                status=ImportStatus.PENDING, phase="queued again after the worker stopped",
                progress=0,
            )  # fmt: skip
            if changed:
                logger.warning("Import batch %s lost its worker (attempt %s): queued again",
                               batch_id, attempts)  # fmt: skip
                _enqueue(batch_id)
        if changed:
            tasks_abandoned("review.tasks.run_import", [batch_id])
    return bool(changed)


def _enqueue(batch_id: int) -> None:
    from review.tasks import run_import

    transaction.on_commit(lambda: run_import.enqueue(batch_id))


def import_may_act(user, batch: ImportBatch) -> bool:
    """Who may cancel or retry an import: its uploader while a member of the review, and the
    review's leads (`review.access.review_for_user` checked membership already)."""
    import rules

    if rules.test_rule("review.manage", user, batch.review):
        return True
    return batch.uploaded_by_id is not None and batch.uploaded_by_id == user.pk


def import_cancel(*, batch: ImportBatch, user) -> ImportBatch:
    """Cancel a waiting or running import; nothing is written. A running import stops at its
    next step, or before its write commits (it locks the batch and finds it cancelled); an
    import that committed first is done, and the cancel is refused."""
    if not import_may_act(user, batch):
        raise PermissionDenied("Only the person who uploaded this file or a lead can cancel it.")
    message = f"Cancelled by {user.get_username()}; nothing was written."
    changed = ImportBatch.objects.filter(
        pk=batch.pk, status__in=[ImportStatus.PENDING, ImportStatus.RUNNING]
    ).update(status=ImportStatus.CANCELLED, phase="", error=message, finished_at=timezone.now())
    batch.refresh_from_db()
    if not changed:
        raise ValidationError(
            f"{batch.filename} is {batch.get_status_display().lower()}: it can no longer be "
            "cancelled."
        )
    return batch


def import_retry(*, batch: ImportBatch, user) -> ImportBatch:
    """Run a failed or cancelled import again from its stored file: CSV/Excel go back to their
    column page, other formats start (in the background when large)."""
    if not import_may_act(user, batch):
        raise PermissionDenied("Only the person who uploaded this file or a lead can retry it.")
    tabular = batch.format in TABULAR
    changed = ImportBatch.objects.filter(
        pk=batch.pk, status__in=[ImportStatus.FAILED, ImportStatus.CANCELLED]
    ).update(
        status=ImportStatus.PENDING, attempts=0, error="", problems=[], progress=0,
        heartbeat_at=None, finished_at=None,
        phase="waiting for the columns to be confirmed" if tabular else "",
    )  # fmt: skip
    batch.refresh_from_db()
    if not changed:
        raise ValidationError(
            f"{batch.filename} is {batch.get_status_display().lower()}: only a failed or "
            "cancelled import can be retried."
        )
    if not batch.file:
        return _fail_now(batch, f"{batch.filename}: the uploaded file is gone; upload it again.")
    if tabular:
        return batch  # its column page again (the columns may have been the problem)
    return _start(batch)


def _fail_now(batch: ImportBatch, message: str) -> ImportBatch:
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportStatus.FAILED, error=message, finished_at=timezone.now(),
        problems=[{"line": None, "message": message, "severity": "error"}],
    )  # fmt: skip
    batch.refresh_from_db()
    return batch


def validate_entries(filename: str, records: Sequence) -> Iterable[tuple[int | None, str, str]]:
    """Yield (line, message, severity) for entries the database would refuse or cut.

    A missing title or an impossible year is an error (the file is not imported); a field longer
    than its column is cut to fit, with a warning naming the entry.
    """
    for record in records:
        where = f"{filename}, entry at line {record.line}" if record.line else filename
        if not (record.title or "").strip():
            yield record.line, f"{where} has no title.", "error"
        if record.year is not None and not 1000 <= record.year <= 2999:
            yield (
                record.line,
                f"{where}: the year {record.year} is not between 1000 and 2999.",
                "error",
            )
        for name, limit in _TEXT_LIMITS.items():
            value = getattr(record, name, None)
            if isinstance(value, str) and len(value) > limit:
                setattr(record, name, value[:limit])
                message = f"{where}: {name} is longer than {limit:,} characters; it was cut."
                yield record.line, message, "warning"


def records_insert(batch: ImportBatch, records: Sequence) -> list[int]:
    """Insert the batch's records quickly; returns their ids in the order given.

    COPY on PostgreSQL and `executemany` on SQLite: `bulk_create` would spend most of the time
    building SQL. Runs inside the caller's transaction.
    """
    first = record_numbers_next(batch.review_id)
    _insert_rows(_record_rows(batch, records, timezone.now(), first))
    ids = dict(Record.objects.filter(batch=batch).values_list("position", "pk"))
    return [ids[position] for position in range(1, len(records) + 1)]


_COLUMNS = [
    "review_id", "batch_id", "position", "number", "title", "abstract", "authors", "year",
    "journal", "volume", "issue", "pages", "doi", "pmid", "url", "keywords", "language", "raw",
    "title_key", "first_author_key", "removed_reason", "created_at",
]  # fmt: skip


def _insert_rows(rows: list[tuple]) -> None:
    if not rows:
        return
    table = connection.ops.quote_name(Record._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in _COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(_COLUMNS))
            # Table and column names come from the model, never from the file.
            sql = f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})"  # noqa: S608
            cursor.executemany(sql, rows)


def _record_rows(batch, records: Sequence, now, first_number: int) -> list[tuple]:

    dumps = json.dumps
    rows = []
    for i, r in enumerate(records):
        doi, pmid = keys.normalise_doi(r.doi), keys.normalise_pmid(r.pmid)
        rows.append(
            (
                batch.review_id, batch.pk, i + 1, first_number + i, r.title.strip(),
                r.abstract or "", dumps(list(r.authors or [])), r.year, r.journal or "",
                r.volume or "", r.issue or "", r.pages or "", doi, pmid, r.url or "",
                dumps(list(r.keywords or [])), r.language or "", dumps(r.raw or {}),
                keys.title_key(r.title)[:255], keys.first_author_key(r.authors)[:100], "", now,
            )
        )  # fmt: skip
    return rows


@dataclass(frozen=True)
class ImportSummary:
    records: int
    duplicates: int
    possible: int


def import_summary(batch: ImportBatch) -> ImportSummary:
    records = Record.objects.filter(batch=batch)
    possible = (
        DuplicatePair.objects.filter(review=batch.review_id, record_b__batch=batch)
        .awaiting()
        .count()
    )
    return ImportSummary(
        records=batch.record_count,
        duplicates=records.filter(duplicate_of__isnull=False).count(),
        possible=possible,
    )
