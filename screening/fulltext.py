"""Full texts: who may open a retrieval's file, and the lead's bulk upload of PDFs (several
PDFs or one ZIP) matched to the records sought for retrieval.

The files live under MEDIA_ROOT, which no URL serves: they are read only through
`fulltext_views.retrieval_file`, for members who may see the record's retrieval (the blind rule
of `review.access`, the same as the retrieval page's).
"""

import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from review.models import Record, Review
from screening import services
from screening.fulltext_match import Candidate, PdfFile, match_files
from screening.fulltext_pdf import HEAD_BYTES, looks_like_pdf, pdf_problem, read_pdf
from screening.models import (
    BulkUpload,
    BulkUploadFile,
    BulkUploadStatus,
    Retrieval,
    RetrievalStatus,
)


def visible_retrieval(review: Review, record_id: int, viewer) -> Retrieval | None:
    """The retrieval with a file of record `record_id`, if `viewer` may see it (as on the
    retrieval page: while title/abstract screening is blind for them, only other-methods
    records)."""
    records = Record.objects.filter(review=review).filter(
        services.downstream_visible(review, viewer)
    )
    return (
        Retrieval.objects.filter(review=review, record_id=record_id, record__in=records)
        .exclude(file="")
        .first()
    )


def open_file(retrieval: Retrieval):
    """The stored file opened for reading, whether it really is a PDF, and its name."""
    handle = retrieval.file.open("rb")
    is_pdf = looks_like_pdf(handle.read(HEAD_BYTES))
    handle.seek(0)
    return handle, is_pdf, PurePosixPath(retrieval.file.name).name


# --- Bulk upload ---------------------------------------------------------------------------

#: At most this many entries are read from one ZIP.
ZIP_MAX_ENTRIES = 2000
CHUNK = 1024 * 1024


@dataclass
class _Entry:
    name: str
    stream: object = None  # a binary file object positioned at 0, or None when refused
    size: int = 0
    problem: str = ""


def _mb(n_bytes: int) -> int:
    return n_bytes // (1024 * 1024)


def _zip_entries(upload, budget: list[int]) -> list[_Entry]:
    """The PDFs of a ZIP, each copied into a temporary file with its real size counted, so a
    ZIP that lies about its sizes cannot fill the disk: past the upload's budget the whole
    upload is refused. Entry paths are never used (only their last part, as a label)."""
    max_bytes = services.fulltext_max_bytes()
    try:
        archive = zipfile.ZipFile(upload)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return [_Entry(upload.name, problem=f"“{upload.name}” is not a readable ZIP file.")]
    too_big = ValidationError(
        f"“{upload.name}” holds more than the {_mb(settings.FULLTEXT_BULK_MAX_MB * 1024 * 1024)}"
        " MB an upload may hold (uncompressed)."
    )
    if len(infos) > ZIP_MAX_ENTRIES:
        raise ValidationError(f"“{upload.name}” holds more than {ZIP_MAX_ENTRIES} files.")
    if sum(info.file_size for info in infos) > budget[0]:
        raise too_big
    entries = []
    for info in infos:
        name = PureWindowsPath(info.filename).name
        if info.is_dir() or not name or info.filename.startswith("__MACOSX/"):
            continue
        if name.startswith("._") or name.startswith("."):
            continue
        if not name.lower().endswith(".pdf"):
            entries.append(_Entry(name, problem=f"“{name}” is not a PDF file: skipped."))
            continue
        # Closed by bulk_upload_create once the upload is stored.
        copy = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115
        size = 0
        try:
            with archive.open(info) as member:
                while chunk := member.read(CHUNK):
                    size += len(chunk)
                    if size > budget[0]:
                        raise too_big
                    if size <= max_bytes:
                        copy.write(chunk)
        except (zipfile.BadZipFile, RuntimeError, OSError, EOFError):
            entries.append(_Entry(name, problem=f"“{name}” could not be read from the ZIP."))
            continue
        budget[0] -= size
        copy.seek(0)
        entries.append(_Entry(name, copy, size))
    return entries


def _entries(files) -> list[_Entry]:
    budget = [settings.FULLTEXT_BULK_MAX_MB * 1024 * 1024]
    entries = []
    for upload in files:
        head = upload.read(4)
        upload.seek(0)
        if upload.name.lower().endswith(".zip") or head == b"PK\x03\x04":
            entries += _zip_entries(upload, budget)
            continue
        if upload.size > budget[0]:
            raise ValidationError(
                f"The files hold more than the {settings.FULLTEXT_BULK_MAX_MB} MB an upload may"
                f" hold (“{upload.name}” is past it)."
            )
        budget[0] -= upload.size
        entries.append(_Entry(PureWindowsPath(upload.name).name, upload, upload.size))
    return entries


def _check(entry: _Entry) -> None:
    if entry.problem:
        return
    head = entry.stream.read(HEAD_BYTES)
    entry.stream.seek(0)
    problem = pdf_problem(entry.name, head, entry.size, services.fulltext_max_bytes())
    if problem:
        entry.problem, entry.stream = problem, None


def bulk_upload_create(*, review: Review, user, files) -> BulkUpload:
    """Read the uploaded PDFs and ZIPs, match every PDF to a record sought for retrieval and
    keep the files waiting for the lead's confirmation. Refused files are listed with why;
    an upload with no PDF at all is refused as a whole, naming each file."""
    if not files:
        raise ValidationError("Choose the PDF files or a ZIP of PDFs to upload.")
    entries = _entries(files)
    try:
        return _store(review, user, entries)
    finally:
        for entry in entries:
            if isinstance(entry.stream, tempfile.SpooledTemporaryFile):
                entry.stream.close()


def _store(review: Review, user, entries: list[_Entry]) -> BulkUpload:
    for entry in entries:
        _check(entry)
    pdfs = [entry for entry in entries if not entry.problem]
    if not pdfs:
        problems = " ".join(entry.problem for entry in entries) or "The ZIP holds no files."
        raise ValidationError(f"No PDF to match. {problems}")
    texts = []
    for entry in pdfs:
        read = read_pdf(entry.stream)
        entry.stream.seek(0)
        texts.append(PdfFile(entry.name, read.text, read.metadata))
    candidates = [
        Candidate(pk, doi, title)
        for pk, doi, title in services.sought_records(review, viewer=user).values_list(
            "pk", "doi", "title"
        )
    ]
    matches = iter(match_files(texts, candidates))
    saved: list[str] = []
    try:
        with transaction.atomic():
            upload = BulkUpload.objects.create(review=review, created_by=user)
            for position, entry in enumerate(entries):
                row = BulkUploadFile(
                    upload=upload,
                    position=position,
                    filename=entry.name[:255],
                    size=entry.size,
                    problem=entry.problem,
                )
                if not entry.problem:
                    match = next(matches)
                    row.record_id, row.method = match.record_id, match.method
                    row.score, row.duplicate, row.note = match.score, match.duplicate, match.note
                    row.file.save(entry.name[-100:], File(entry.stream), save=False)
                    saved.append(row.file.name)
                row.save()
    except BaseException:
        for name in saved:
            default_storage.delete(name)
        raise
    return upload


@dataclass
class ReportRow:
    file: BulkUploadFile
    replaces: bool = False  # the record already has a PDF


@dataclass
class BulkReport:
    upload: BulkUpload
    matched: list[ReportRow]
    duplicates: list[tuple[Record, list[ReportRow]]]
    unmatched: list[BulkUploadFile]
    refused: list[BulkUploadFile]

    @property
    def pdf_count(self) -> int:
        return len(self.upload_files) - len(self.refused)

    @property
    def matched_count(self) -> int:
        return len(self.matched) + sum(len(rows) for _, rows in self.duplicates)

    upload_files: list[BulkUploadFile] = field(default_factory=list)


def bulk_upload_report(upload: BulkUpload) -> BulkReport:
    files = list(upload.files.select_related("record"))
    with_pdf = set(
        Retrieval.objects.filter(record__in=[f.record_id for f in files if f.record_id])
        .exclude(file="")
        .values_list("record_id", flat=True)
    )
    matched, groups = [], {}
    for f in files:
        if f.record_id and not f.problem:
            row = ReportRow(f, replaces=f.record_id in with_pdf)
            if f.duplicate:
                groups.setdefault(f.record_id, (f.record, []))[1].append(row)
            else:
                matched.append(row)
    return BulkReport(
        upload=upload,
        matched=matched,
        duplicates=list(groups.values()),
        unmatched=[f for f in files if not f.record_id and not f.problem],
        refused=[f for f in files if f.problem],
        upload_files=files,
    )


def _finish(upload: BulkUpload, user, status: str, attached: int = 0) -> None:
    upload.status, upload.finished_by, upload.finished_at = status, user, timezone.now()
    upload.attached = attached
    upload.save(update_fields=["status", "finished_by", "finished_at", "attached"])
    names = [name for name in upload.files.exclude(file="").values_list("file", flat=True)]
    transaction.on_commit(lambda: [default_storage.delete(name) for name in names])


def _lock_open(upload: BulkUpload) -> BulkUpload:
    upload = BulkUpload.objects.select_for_update().get(pk=upload.pk)
    if upload.status != BulkUploadStatus.OPEN:
        raise ValidationError(f"This upload was already {upload.status}.")
    return upload


@transaction.atomic
def bulk_upload_confirm(*, upload: BulkUpload, user, attach, choices) -> int:
    """Attach the files the lead kept: `attach`, the ids of ticked files matched to a record no
    other file matched; `choices`, for each record matched by several files, the id of the one
    file chosen or None (neither). All or nothing; returns how many were attached."""
    upload = _lock_open(upload)
    files = list(upload.files.filter(record__isnull=False, problem="").select_related("record"))
    attach = {int(pk) for pk in attach}
    chosen = [f for f in files if not f.duplicate and f.pk in attach]
    groups: dict[int, list[BulkUploadFile]] = {}
    for f in files:
        if f.duplicate:
            groups.setdefault(f.record_id, []).append(f)
    for record_id, group in groups.items():
        number = group[0].record.number
        if record_id not in choices:
            names = ", ".join(f"“{f.filename}”" for f in group)
            raise ValidationError(
                f"Record {number} is matched by {len(group)} files ({names}): choose which "
                "one to attach, or neither."
            )
        choice = choices[record_id]
        if choice is not None:
            picked = [f for f in group if f.pk == choice]
            if not picked:
                raise ValidationError(f"Choose one of the files matched to record {number}.")
            chosen += picked
    for f in chosen:
        retrieval = Retrieval.objects.filter(record=f.record).first()
        try:
            with f.file.open("rb") as handle:
                services.retrieval_set(
                    review=upload.review,
                    record=f.record,
                    user=user,
                    status=RetrievalStatus.RETRIEVED,
                    file=File(handle, name=f.filename),
                    url=retrieval.url if retrieval else "",
                )
        except ValidationError as error:
            raise ValidationError(f"“{f.filename}”: {' '.join(error.messages)}") from None
    _finish(upload, user, BulkUploadStatus.CONFIRMED, attached=len(chosen))
    return len(chosen)


@transaction.atomic
def bulk_upload_discard(*, upload: BulkUpload, user) -> None:
    _finish(_lock_open(upload), user, BulkUploadStatus.DISCARDED)
