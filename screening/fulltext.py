"""Full texts: who may open a retrieval's file, and the lead's bulk upload of PDFs (several
PDFs or one ZIP) matched to the records sought for retrieval.

The files live under MEDIA_ROOT, which no URL serves: they are read only through
`fulltext_views.retrieval_file`, for members who may see the record's retrieval (the blind rule
of `review.access`, the same as the retrieval page's).
"""

from pathlib import PurePosixPath

from review.models import Record, Review
from screening.fulltext_pdf import HEAD_BYTES, looks_like_pdf
from screening.models import Retrieval
from screening.services import downstream_visible


def visible_retrieval(review: Review, record_id: int, viewer) -> Retrieval | None:
    """The retrieval with a file of record `record_id`, if `viewer` may see it (as on the
    retrieval page: while title/abstract screening is blind for them, only other-methods
    records)."""
    records = Record.objects.filter(review=review).filter(downstream_visible(review, viewer))
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
