"""Export a review's records with their screening decisions, as CSV or Excel.

Two layouts, both built by `records_table` as a header plus a lazy stream of rows:

- **wide** (default): one row per record (every record of the review, duplicates and removed
  ones included): its bibliographic fields and source; for each stage the settled result and
  one group of columns per reviewer whose vote the requester may see; the full-text retrieval
  between the two stages; the study an included report is linked to.
- **long**: one row per current vote the requester may see, with who and when, beside the
  record's settled result at that stage.

Blind screening: votes come from `services.visible_decisions` only, so in blind dual mode the
requester sees nobody else's vote (a lead also sees the votes of settled records and the two
votes of a conflict, as on the conflicts page). A reviewer whose votes are all hidden gets no
columns either. Results follow `review.access.results_visibility`: a stage blind for the
requester leaves its result columns empty, and so are the retrieval, full-text and study cells
of a database record while its title/abstract stage is blind for them.

Formula injection (OWASP "CSV injection"): every cell goes through `review.cells.safe_cell`
(text that starts with = + - @, a tab or a carriage return gets a leading apostrophe, in CSV and
in Excel; numbers stay numbers). Excel cells holding text are written as strings, never as
formulas.

Scale: records are read in keyset chunks of `CHUNK` with their source, retrieval and study in
the same query, then each chunk's results and visible votes in one query per stage, so the
number of queries grows with the number of chunks, not of records. The CSV is streamed; the
workbook is written by openpyxl in write-only mode to a temporary file. Times are UTC
(ISO 8601 in CSV, date-time cells in Excel).
"""

import csv
import datetime as dt
import logging
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.files import File
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from review.access import results_visibility
from review.cells import safe_cell
from review.models import Record, Review
from screening.models import ExportStatus, Stage, StageResult
from screening.services import visible_decisions

logger = logging.getLogger(__name__)

CHUNK = 1000
LAYOUTS = ("wide", "long")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXCEL_MAX_TEXT = 32_767

# `record_number` is the record's number in its review ("Record N" on the pages); `record_id` and
# `duplicate_of` are database ids (as in the pages' addresses), unique across reviews.
RECORD_COLUMNS = [
    "record_number",
    "record_id",
    "title",
    "authors",
    "journal",
    "year",
    "doi",
    "pmid",
    "source",
    "source_arm",
    "import_file",
    "duplicate_of",
    "removed_reason",
]
RESULT_FIELDS = ["result", "method", "reason", "resolved_by", "settled_at", "resolution_note"]
VOTE_FIELDS = ["vote", "reason", "note", "voted_at"]
RETRIEVAL_COLUMNS = ["retrieval_status", "retrieval_url", "retrieval_file", "not_retrieved_reason"]
LONG_COLUMNS = [
    "record_number",
    "record_id",
    "title",
    "doi",
    "stage",
    "reviewer",
    "vote",
    "reason",
    "note",
    "voted_at",
    "stage_result",
    "stage_method",
]


@dataclass(frozen=True)
class Table:
    """A header and a lazy stream of rows (values are str, int, aware datetime or None)."""

    header: list[str]
    rows: Iterable[list]
    name: str = "records"  # "records" (wide) or "votes" (long): file and sheet name


def records_table(*, review: Review, viewer, resolver: bool = False, layout: str = "wide") -> Table:
    """The export of `review` as `viewer` may see it (`resolver`: may see conflicts' votes)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    visibility = results_visibility(viewer, review)
    if layout == "long":
        return Table(LONG_COLUMNS, _long_rows(review, viewer, resolver, visibility), name="votes")
    reviewers = {
        stage: _voters(review, stage, viewer, resolver, visibility) for stage in Stage.values
    }
    header = list(RECORD_COLUMNS)
    for stage in Stage.values:
        header += [f"{stage}_{field}" for field in RESULT_FIELDS]
        for _pk, username in reviewers[stage]:
            header += [f"{stage}_{username}_{field}" for field in VOTE_FIELDS]
        if stage == Stage.TITLE_ABSTRACT:
            header += RETRIEVAL_COLUMNS
    header.append("study")
    return Table(header, _wide_rows(review, viewer, resolver, visibility, reviewers))


def _visible(review, stage, viewer, resolver, visibility, record_ids):
    return visible_decisions(
        review=review, stage=stage, viewer=viewer, record_ids=record_ids, conflicts=resolver,
        visibility=visibility,
    )  # fmt: skip


def _voters(review, stage, viewer, resolver, visibility) -> list[tuple[int, str]]:
    """(id, username) of every reviewer with a current vote at `stage` that viewer may see."""
    every_record = Record.objects.filter(review=review).values("pk")
    votes = _visible(review, stage, viewer, resolver, visibility, every_record)
    voters = votes.order_by().values_list("reviewer_id", "reviewer__username").distinct()
    return sorted(voters, key=lambda voter: (voter[1], voter[0]))


def _chunks(review: Review) -> Iterator[list[Record]]:
    """Every record of the review in id order, `CHUNK` at a time (keyset, not OFFSET)."""
    records = (
        Record.objects.filter(review=review)
        .select_related("batch__source", "retrieval", "study_report__study")
        .defer("raw", "abstract", "keywords", "batch__problems", "batch__column_mapping")
        .order_by("pk")
    )
    last = 0
    while chunk := list(records.filter(pk__gt=last)[:CHUNK]):
        yield chunk
        last = chunk[-1].pk


def _facts(review, viewer, resolver, visibility, chunk):
    """The chunk's current results {(record, stage): result} the viewer may see and visible
    votes {(record, stage): [votes in order]}."""
    ids = [record.pk for record in chunk]
    by_id = {record.pk: record for record in chunk}
    results = {
        (r.record_id, r.stage): r
        for r in StageResult.objects.filter(
            review=review, record_id__in=ids, superseded_at__isnull=True
        ).select_related("reason", "decided_by")
        if visibility.stage(r.stage)
        and (
            r.stage == Stage.TITLE_ABSTRACT
            or visibility.downstream(by_id[r.record_id].batch.source.arm)
        )
    }
    votes: dict[tuple[int, str], list] = {}
    for stage in Stage.values:
        visible = _visible(review, stage, viewer, resolver, visibility, ids)
        for vote in visible.order_by("created_at", "pk"):
            votes.setdefault((vote.record_id, stage), []).append(vote)
    return results, votes


def _record_cells(record: Record) -> list:
    source = record.batch.source
    authors = record.authors
    if isinstance(authors, list):
        authors = "; ".join(str(author) for author in authors)
    return [
        record.number,
        record.pk,
        record.title,
        authors or "",
        record.journal,
        record.year,
        record.doi,
        record.pmid,
        source.name,
        source.arm,
        record.batch.filename,
        record.duplicate_of_id,
        record.removed_reason,
    ]


def _result_cells(result) -> list:
    if result is None:
        return [None] * len(RESULT_FIELDS)
    return [
        result.verdict,
        result.method,
        result.reason.label if result.reason else "",
        result.decided_by.get_username() if result.decided_by else "",
        result.created_at,
        result.note,
    ]


def _retrieval_cells(record: Record) -> list:
    retrieval = getattr(record, "retrieval", None)
    if retrieval is None:
        return [None] * len(RETRIEVAL_COLUMNS)
    return [
        retrieval.status,
        retrieval.url,
        retrieval.file.name or "",
        retrieval.not_retrieved_reason,
    ]


def _wide_rows(review, viewer, resolver, visibility, reviewers) -> Iterator[list]:
    for chunk in _chunks(review):
        results, votes = _facts(review, viewer, resolver, visibility, chunk)
        for record in chunk:
            downstream = visibility.downstream(record.batch.source.arm)
            row = _record_cells(record)
            for stage in Stage.values:
                row += _result_cells(results.get((record.pk, stage)))
                mine = {v.reviewer_id: v for v in votes.get((record.pk, stage), [])}
                for pk, _username in reviewers[stage]:
                    vote = mine.get(pk)
                    row += (
                        [vote.verdict, vote.reason.label if vote.reason else "", vote.note,
                         vote.created_at]
                        if vote else [None] * len(VOTE_FIELDS)
                    )  # fmt: skip
                if stage == Stage.TITLE_ABSTRACT:
                    row += (
                        _retrieval_cells(record) if downstream else [None] * len(RETRIEVAL_COLUMNS)
                    )
            link = getattr(record, "study_report", None)
            shown = link and downstream and visibility.full_text
            row.append(link.study.label if shown else None)
            yield row


def _long_rows(review, viewer, resolver, visibility) -> Iterator[list]:
    for chunk in _chunks(review):
        results, votes = _facts(review, viewer, resolver, visibility, chunk)
        for record in chunk:
            for stage in Stage.values:
                result = results.get((record.pk, stage))
                for vote in votes.get((record.pk, stage), []):
                    yield [
                        record.number,
                        record.pk,
                        record.title,
                        record.doi,
                        stage,
                        vote.reviewer.get_username(),
                        vote.verdict,
                        vote.reason.label if vote.reason else "",
                        vote.note,
                        vote.created_at,
                        result.verdict if result else None,
                        result.method if result else None,
                    ]


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.replace(microsecond=0)


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_cell(value)
    if isinstance(value, dt.datetime):
        return _utc(value).isoformat()
    return value


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_lines(table: Table, batch: int = 500) -> Iterator[str]:
    """The table as CSV text (RFC 4180, CRLF), yielded `batch` rows at a time."""
    writer = csv.writer(_Echo())
    lines = [writer.writerow([_csv_value(name) for name in table.header])]
    for row in table.rows:
        lines.append(writer.writerow([_csv_value(value) for value in row]))
        if len(lines) >= batch:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def _xlsx_cell(sheet, value):
    if isinstance(value, str):
        text = safe_cell(ILLEGAL_CHARACTERS_RE.sub("", value))[:EXCEL_MAX_TEXT]
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"  # text, never a formula, whatever it starts with
        return cell
    if isinstance(value, dt.datetime):
        value = _utc(value).replace(tzinfo=None)  # Excel has no time zones: UTC
    return WriteOnlyCell(sheet, value=value)


def xlsx_file(table: Table):
    """The table as an .xlsx workbook in a temporary file, rewound (the caller closes it)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(table.name.capitalize())
    sheet.append([_xlsx_cell(sheet, name) for name in table.header])
    for row in table.rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    file = tempfile.TemporaryFile()  # noqa: SIM115  (handed to the response, which closes it)
    workbook.save(file)
    file.seek(0)
    return file


def export_job_run(job) -> None:
    """Build a queued Excel export (the background task): the file, or the error, on the job."""
    try:
        table = records_table(
            review=job.review, viewer=job.user, resolver=job.resolver, layout=job.layout
        )
        with xlsx_file(table) as handle:
            job.filename = f"{job.review.slug}-{table.name}.xlsx"
            job.file.save(job.filename, File(handle), save=False)
        job.status = ExportStatus.DONE
    except Exception as error:
        import logging

        logging.getLogger(__name__).exception("Export %s failed", job.pk)
        job.status, job.error = ExportStatus.FAILED, f"The export failed: {error}"
    job.finished_at = timezone.now()
    job.save()
