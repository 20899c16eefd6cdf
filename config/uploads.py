"""Upload sizes checked while the request streams in, before any view reads it.

Django reads a multipart body into temporary files before any view can look at an upload's
size (`ImportForm.clean_file` saw the size only after a 201 MB file had been received). Here:

- `UploadLimitMiddleware` (first in MIDDLEWARE after CommonMiddleware, before anything reads
  `request.POST`) finds the view's limit (`UPLOAD_LIMITS`, by URL name) and answers **413**
  with a page naming the limit and its setting when the request's Content-Length is past the
  limit plus `UPLOAD_FORM_FIELDS_BYTES` (the room for the form's other fields): not one byte of
  the body is read. Django never reads past Content-Length, so this bounds every request.
- `LimitedUploadHandler` (first in FILE_UPLOAD_HANDLERS) counts the bytes of the request's
  files as they arrive, chunk by chunk, and stops the upload (`StopUpload`) as soon as they
  pass the limit; the middleware then answers 413 too. So a body within the Content-Length
  allowance still cannot bring a file past its limit. The little that is left of such a body
  (at most DRAIN_BYTES, 1 MB) is read and dropped so that the client gets the 413 page.

A body refused by its Content-Length is never read: a client that waits for `100 Continue`
(curl) gets the 413 at once; one that sends the body straight away (browsers) may see the
connection closed under it instead of the page, since gunicorn does not linger. In production
the reverse proxy refuses such bodies first with its own 413 (docs/operations.md).

Only the view's limit is read from settings; the views and forms keep their own checks (a
bulk upload's ZIP content, the PDF type) as before.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.shortcuts import render
from django.urls import Resolver404, resolve

_MB = 1024 * 1024

#: URL name -> (setting, limit in bytes, what is uploaded there). Every view that takes a file is
#: listed; any other URL gets UPLOAD_MAX_OTHER_MB.
UPLOAD_LIMITS = {
    "review:import-create": ("IMPORT_MAX_UPLOAD_MB", lambda: settings.IMPORT_MAX_UPLOAD_BYTES,
                             "a search export"),
    "screening:retrieval-save": ("FULLTEXT_MAX_UPLOAD_MB",
                                 lambda: settings.FULLTEXT_MAX_UPLOAD_MB * _MB, "a full text"),
    "screening:bulk-upload": ("FULLTEXT_BULK_MAX_MB", lambda: settings.FULLTEXT_BULK_MAX_MB * _MB,
                              "an upload of full texts"),
    "analysis:sheet-upload": ("EXTRACTION_SHEET_MAX_MB",
                              lambda: settings.EXTRACTION_SHEET_MAX_MB * _MB,
                              "an extraction sheet"),
}  # fmt: skip
#: A file stopped past its limit with no more than this left of the body has the rest read and
#: dropped (the client then gets the 413 page); with more left, the rest is never read.
DRAIN_BYTES = _MB
_OTHER = ("UPLOAD_MAX_OTHER_MB", lambda: settings.UPLOAD_MAX_OTHER_MB * _MB, "an upload")


class UploadLimit:
    """The limit of one request's files, and why an upload was refused (if it was)."""

    def __init__(self, setting: str, limit: int, what: str):
        self.setting, self.limit, self.what = setting, limit, what
        self.received = 0  # bytes of files received so far
        self.refused: str | None = None

    def message(self, size: int, name: str = "", *, so_far: bool = False) -> str:
        """Why the upload is refused: `size` is the declared body, or with `so_far` what had
        arrived of `name` when it was stopped."""
        thing = self.what.removeprefix("a ").removeprefix("an ")
        largest = (
            f"the largest {thing} this site accepts is {size_text(self.limit)} ({self.setting})"
        )
        if so_far:
            return f"{name or 'The file'} is larger than {size_text(self.limit)}: {largest}."
        return f"This upload is {size_text(size)}; {largest}."


def size_text(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < _MB:
        return f"{n / 1024:.1f} KB"
    return f"{n / _MB:.1f} MB"


def upload_limit(request) -> UploadLimit:
    """The request's UploadLimit, made once from its URL name."""
    found = getattr(request, "_upload_limit", None)
    if found is None:
        try:
            name = resolve(request.path_info).view_name
        except Resolver404:
            name = ""
        setting, limit, what = UPLOAD_LIMITS.get(name, _OTHER)
        found = request._upload_limit = UploadLimit(setting, limit(), what)
    return found


def _content_length(request) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _refused(request, limit: UploadLimit, message: str):
    # No "Connection: close" here: WSGI forbids hop-by-hop headers (runserver asserts on them).
    # The server deals with the unread rest of the body: gunicorn discards it before reading
    # another request on the connection, runserver reads and drops it.
    return render(
        request,
        "upload_refused.html",
        {"message": message, "back": request.path, "limit": limit},
        status=413,
    )


class UploadLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("POST", "PUT", "PATCH"):
            return self.get_response(request)
        limit = upload_limit(request)
        declared = _content_length(request)
        if declared > limit.limit + settings.UPLOAD_FORM_FIELDS_BYTES:
            limit.refused = limit.message(declared)
            return _refused(request, limit, limit.refused)
        if request.content_type == "multipart/form-data":
            request.FILES  # noqa: B018 - parse now, through LimitedUploadHandler
            if limit.refused:
                return _refused(request, limit, limit.refused)
        return self.get_response(request)


class LimitedUploadHandler(FileUploadHandler):
    """Counts the bytes of a request's files as they stream in; stops past the view's limit."""

    def __init__(self, request=None):
        super().__init__(request)
        self.upload = upload_limit(request) if request is not None else None
        self.body_length = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.body_length = content_length

    def receive_data_chunk(self, raw_data, start):
        if self.upload is None:
            return raw_data
        self.upload.received += len(raw_data)
        if self.upload.received > self.upload.limit:
            # the size so far; the rest of the body is left unread
            self.upload.refused = self.upload.message(
                self.upload.received, self.file_name, so_far=True
            )
            # Up to DRAIN_BYTES left of the body are read and dropped, so that the client, which
            # is still sending, receives the 413 page instead of a reset connection; more is
            # left unread.
            left = self.body_length - self.upload.received
            raise StopUpload(connection_reset=left > DRAIN_BYTES)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) keeps the file
