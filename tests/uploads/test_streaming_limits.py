"""Issue 14, finding 2: oversize uploads were read into memory before the size check (a 201 MB
file took a worker to RSS 450 MB, then was refused). Now (config.uploads) a request whose
Content-Length is past its view's limit is refused with 413 before one byte of its body is
read, a file is stopped as soon as the bytes that streamed in pass the limit, and an accepted
upload is hashed, sniffed and stored in chunks: memory does not grow with the file's size."""

import re
import time
import tracemalloc
from pathlib import Path

import pytest
from django.urls import reverse

from config.uploads import UPLOAD_LIMITS
from review.models import ImportBatch
from tests import factories

pytestmark = pytest.mark.django_db
MB = 1024 * 1024
BOUNDARY = "----workbench-test-boundary"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


class Body:
    """A multipart body made while it is read (never held whole): the form fields, a file
    part of `size` bytes of `filler` (after `first`), the closing boundary. Counts bytes read."""

    def __init__(self, fields: dict, filename: str, size: int, first=b"", filler=b"x" * 1024):
        head = "".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        )
        head += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        self.head, self.first, self.filler = head.encode() + first, first, filler
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.size = size
        self.length = len(self.head) + (size - len(first)) + len(self.tail)
        self.position = 0
        self.bytes_read = 0

    def _byte_range(self, start: int, stop: int) -> bytes:
        parts = []
        head_end = len(self.head)
        file_end = head_end + self.size - len(self.first)
        while start < stop:
            if start < head_end:
                piece = self.head[start : min(stop, head_end)]
            elif start < file_end:
                offset = (start - head_end) % len(self.filler)
                n = min(stop, file_end) - start
                repeats = (offset + n) // len(self.filler) + 1
                piece = (self.filler * repeats)[offset : offset + n]
            else:
                piece = self.tail[start - file_end : stop - file_end]
            parts.append(piece)
            start += len(piece)
        return b"".join(parts)

    def read(self, size=-1):
        stop = self.length if size is None or size < 0 else min(self.length, self.position + size)
        data = self._byte_range(self.position, stop)
        self.position = stop
        self.bytes_read += len(data)
        return data

    def readline(self, size=-1):  # pragma: no cover - the multipart parser reads in chunks
        return self.read(size)


class Unreadable:
    bytes_read = 0

    def read(self, size=-1):
        raise AssertionError("the body was read")

    readline = read


def post(client, url, body, content_length=None):
    return client.request(
        REQUEST_METHOD="POST",
        PATH_INFO=url,
        CONTENT_TYPE=f"multipart/form-data; boundary={BOUNDARY}",
        CONTENT_LENGTH=str(body.length if content_length is None else content_length),
        **{"wsgi.input": body},
    )


@pytest.fixture
def import_url(review, lead, client):
    client.force_login(lead)
    return reverse("review:import-create", args=[review.slug])


def test_a_huge_declared_content_length_is_refused_without_reading_the_body(
    client, review, import_url
):
    source = factories.SourceFactory(review=review)
    response = post(client, import_url, Unreadable(), content_length=5 * 1024 * MB)
    assert response.status_code == 413
    html = response.content.decode()
    assert (
        "This upload is 5120.0 MB; the largest search export this site accepts is 200.0 MB "
        "(IMPORT_MAX_UPLOAD_MB)." in html
    )
    assert not response.has_header("Connection")  # hop-by-hop: WSGI servers refuse it
    assert source.imports.count() == 0


@pytest.mark.parametrize(
    ("url_name", "setting", "value", "message"),
    [
        ("screening:retrieval-save", "FULLTEXT_MAX_UPLOAD_MB", 1, "full text"),
        ("screening:bulk-upload", "FULLTEXT_BULK_MAX_MB", 1, "upload of full texts"),
        ("analysis:sheet-upload", "EXTRACTION_SHEET_MAX_MB", 1, "extraction sheet"),
    ],
)
def test_every_upload_view_refuses_by_content_length(
    client, review, lead, settings, url_name, setting, value, message
):
    setattr(settings, setting, value)
    client.force_login(lead)
    args = [review.slug, 1] if url_name == "screening:retrieval-save" else [review.slug]
    response = post(client, reverse(url_name, args=args), Unreadable(), content_length=3 * MB)
    assert response.status_code == 413
    assert f"the largest {message} this site accepts is 1.0 MB ({setting})" in (
        response.content.decode()
    )


def test_an_oversize_file_is_stopped_while_it_streams_in(client, review, import_url, settings):
    """The Content-Length allowance is opened wide so that the handler alone is tested: it
    stops a 50 MB file after about 1 MB (the limit plus one 64 KB chunk), reading no further,
    and memory stays small."""
    settings.IMPORT_MAX_UPLOAD_BYTES = 1 * MB
    settings.UPLOAD_FORM_FIELDS_BYTES = 100 * MB
    source = factories.SourceFactory(review=review)
    body = Body({"source": source.pk}, "huge.ris", 50 * MB, first=b"TY  - JOUR\n")
    tracemalloc.start()
    try:
        response = post(client, import_url, body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 413
    assert (
        "huge.ris is larger than 1.0 MB: the largest search export this site accepts is 1.0 MB "
        "(IMPORT_MAX_UPLOAD_MB)." in response.content.decode()
    )
    assert MB < body.bytes_read < MB + 3 * 64 * 1024, body.bytes_read
    assert peak < 5 * MB, peak
    assert not ImportBatch.objects.exists()


def test_a_file_just_past_the_limit_has_the_rest_drained_so_the_page_arrives(
    client, review, import_url, settings
):
    """With less than DRAIN_BYTES left, the rest of the body is read and dropped: a browser that
    is still sending gets the 413 page, not a reset connection."""
    settings.IMPORT_MAX_UPLOAD_BYTES = 1 * MB
    source = factories.SourceFactory(review=review)
    body = Body({"source": source.pk}, "over.ris", MB + MB // 2, first=b"TY  - JOUR\n")
    response = post(client, import_url, body)
    assert response.status_code == 413
    assert "over.ris is larger than 1.0 MB" in response.content.decode()
    assert body.bytes_read == body.length


def test_an_accepted_50_mb_export_is_never_held_in_memory(
    client, review, import_url, settings, django_capture_on_commit_callbacks
):
    """Before: the view handed `upload.read()` (the whole file) to the service, which hashed,
    sniffed and stored the bytes. Now all three stream, and a large file waits for the worker:
    the request's peak memory is a few MB for a 50 MB file."""
    source = factories.SourceFactory(review=review)
    record = b"TY  - JOUR\nTI  - A title long enough to be a title\nPY  - 2020\nER  - \n\n"
    body = Body({"source": source.pk}, "big.ris", 50 * MB, first=record, filler=record)
    tracemalloc.start()
    try:
        with django_capture_on_commit_callbacks(execute=False):
            started = time.perf_counter()
            response = post(client, import_url, body)
            elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    batch = ImportBatch.objects.get()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert (batch.format, batch.size, batch.status) == ("ris", 50 * MB, "pending")
    assert "queued" in batch.phase
    assert Path(batch.file.path).stat().st_size == 50 * MB
    assert peak < 8 * MB, peak
    assert elapsed < 30


def test_a_small_upload_is_untouched(client, review, import_url):
    source = factories.SourceFactory(review=review)
    ris = b"TY  - JOUR\nTI  - A small file\nPY  - 2020\nER  - \n"
    body = Body({"source": source.pk}, "small.ris", len(ris), first=ris, filler=b"")
    response = post(client, import_url, body)
    assert response.status_code == 302
    assert ImportBatch.objects.get().record_count == 1


def test_every_form_with_a_file_posts_to_a_view_with_a_limit():
    """A new upload form must get its own line in config.uploads.UPLOAD_LIMITS (otherwise
    it gets UPLOAD_MAX_OTHER_MB)."""
    templates = Path(__file__).resolve().parents[2] / "templates"
    forms = re.compile(r"<form\b[^>]*>.*?</form>", re.S)
    action = re.compile(r"""action="\{% url '([\w:-]+)'""")
    # forms that post to the page that shows them: the template's page
    posts_to_itself = {
        "screening/bulk_upload.html": "screening:bulk-upload",
        "review/import_form.html": "review:import-create",
    }
    found = set()
    for path in templates.rglob("*.html"):
        name = path.relative_to(templates).as_posix()
        for form in forms.findall(path.read_text()):
            if "multipart/form-data" in form or 'type="file"' in form:
                target = action.search(form)
                assert target or name in posts_to_itself, f"{name}: which view takes this file?"
                found.add(target.group(1) if target else posts_to_itself[name])
    assert len(found) == 4, found  # the import, a full text, a bulk upload, the sheet
    assert found <= set(UPLOAD_LIMITS), found - set(UPLOAD_LIMITS)
