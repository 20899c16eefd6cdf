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

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import connection, transaction
from django.utils import timezone

from review import importers, keys
from review.dedup_service import dedup_apply, dedup_plan_start
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
) -> ImportBatch:
    """Check and store an uploaded export; import it now, later (worker) or after its mapping.

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
) -> ImportBatch:
    """Import a file synchronously (the terminal command); CSV/Excel use the guessed columns
    unless `column_mapping` is given."""
    stream = ContentFile(content)
    batch = _new_batch(review, source, filename, stream, user, format, allow_same_file)
    if batch.format in TABULAR and not column_mapping:
        try:
            column_mapping = _guess_mapping(stream, filename, batch.format)
        except importers.ImportFileError as error:
            batch.file.delete(save=False)
            raise ValidationError(str(error)) from error
    if batch.format in TABULAR:
        batch.column_mapping = column_mapping
    batch.save()
    return import_run(batch, progress=progress)


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
    batch.column_mapping = {field: header for field, header in mapping.items() if header}
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


def import_run(batch: ImportBatch, *, progress: Progress | None = None) -> ImportBatch:
    """Parse, validate, de-duplicate and write one batch. Returns it as done or failed."""

    def step(phase: str, percent: int) -> None:
        batch.phase, batch.progress = phase, percent
        ImportBatch.objects.filter(pk=batch.pk).update(phase=phase, progress=percent)
        if progress:
            progress(phase, percent)

    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.RUNNING)
    batch.status = ImportStatus.RUNNING
    try:
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
            return _fail(batch, errors, problems)
        if not result.records:
            message = f"{batch.filename} holds no records."
            return _fail(batch, [{"line": None, "message": message, "severity": "error"}], problems)

        step("de-duplicating and writing", 45)
        wait_for_plan = dedup_plan_start(review=batch.review, new=result.records)
        with transaction.atomic():
            ids = records_insert(batch, result.records)
            dedup_apply(wait_for_plan(), review=batch.review, new_ids=ids)
            statistics_refresh(len(ids))
            _rank_new_records(batch.review)
            batch.record_count = len(ids)
            batch.problems = problems
            batch.status, batch.phase, batch.progress = ImportStatus.DONE, "", 100
            batch.finished_at = timezone.now()
            batch.save()
        if progress:
            progress("done", 100)
        return batch
    except importers.ImportFileError as error:
        return _fail(batch, [{"line": error.line, "message": str(error), "severity": "error"}], [])
    except Exception:
        logger.exception("Import of batch %s failed", batch.pk)
        message = f"{batch.filename}: the import failed unexpectedly; nothing was written."
        return _fail(batch, [{"line": None, "message": message, "severity": "error"}], [])


def _rank_new_records(review: Review) -> None:
    """Give the new records their place in the prioritised queue (a background retrain)."""
    from screening.prioritisation import ranking_after_import

    ranking_after_import(review)


def _fail(batch: ImportBatch, errors: list[dict], problems: list[dict]) -> ImportBatch:
    shown = errors[:20]
    more = f"\n… and {len(errors) - len(shown)} more problems." if len(errors) > len(shown) else ""
    batch.error = "\n".join(e["message"] for e in shown) + more
    batch.problems = problems or errors
    batch.status, batch.phase = ImportStatus.FAILED, ""
    batch.finished_at = timezone.now()
    batch.save(update_fields=["error", "problems", "status", "phase", "finished_at"])
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
