"""Full texts: a retrieval's file served to the members who may see it, and the lead's bulk
upload of PDFs with its match report."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from review.access import abilities, review_for_user
from review.params import id_param
from screening import fulltext
from screening.models import BulkUpload, BulkUploadStatus


@xframe_options_sameorigin
def retrieval_file(request, slug, record_id):
    """The PDF of a record's retrieval, shown in the browser (framed by the full-text card);
    anything else that was stored is only ever downloaded."""
    review = review_for_user(request.user, slug)
    retrieval = fulltext.visible_retrieval(review, record_id, request.user)
    if retrieval is None:
        raise Http404("No full text.")
    handle, is_pdf, name = fulltext.open_file(retrieval)
    response = FileResponse(
        handle,
        as_attachment=not is_pdf,
        filename=name,
        content_type="application/pdf" if is_pdf else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _upload(review, upload_id):
    return get_object_or_404(BulkUpload, pk=upload_id, review=review)


def bulk_upload(request, slug):
    """A lead uploads several PDFs or a ZIP of PDFs; the match report follows."""
    review = review_for_user(request.user, slug, need="manage")
    error = None
    if request.method == "POST":
        try:
            upload = fulltext.bulk_upload_create(
                review=review, user=request.user, files=request.FILES.getlist("files")
            )
        except ValidationError as e:
            error = " ".join(e.messages)
        else:
            return redirect("screening:bulk-report", slug=review.slug, upload_id=upload.pk)
    context = {
        "review": review,
        "can": abilities(request.user, review),
        "error": error,
        "open_uploads": BulkUpload.objects.filter(review=review, status=BulkUploadStatus.OPEN),
        "max_mb": settings.FULLTEXT_MAX_UPLOAD_MB,
        "bulk_max_mb": settings.FULLTEXT_BULK_MAX_MB,
    }
    return render(request, "screening/bulk_upload.html", context, status=400 if error else 200)


def bulk_report(request, slug, upload_id):
    review = review_for_user(request.user, slug, need="manage")
    upload = _upload(review, upload_id)
    context = {
        "review": review,
        "can": abilities(request.user, review),
        "report": fulltext.bulk_upload_report(upload),
    }
    return render(request, "screening/bulk_report.html", context)


def _choices(post) -> dict[int, int | None]:
    """The lead's choice for each record matched by several files: a file id or "none"."""
    choices = {}
    for key, value in post.items():
        record_id = key.removeprefix("choice-")
        if key.startswith("choice-") and id_param(record_id) is not None:
            choices[id_param(record_id)] = id_param(value)
    return choices


@require_POST
def bulk_confirm(request, slug, upload_id):
    review = review_for_user(request.user, slug, need="manage")
    upload = _upload(review, upload_id)
    try:
        attached = fulltext.bulk_upload_confirm(
            upload=upload,
            user=request.user,
            attach=[pk for pk in map(id_param, request.POST.getlist("attach")) if pk is not None],
            choices=_choices(request.POST),
        )
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
        return redirect("screening:bulk-report", slug=review.slug, upload_id=upload.pk)
    messages.success(request, f"{attached} full text{pluralize(attached)} attached.")
    return redirect("screening:retrieval", slug=review.slug)


@require_POST
def bulk_discard(request, slug, upload_id):
    review = review_for_user(request.user, slug, need="manage")
    upload = _upload(review, upload_id)
    try:
        fulltext.bulk_upload_discard(upload=upload, user=request.user)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, "Upload discarded: nothing was attached.")
    return redirect("screening:bulk-upload", slug=review.slug)
