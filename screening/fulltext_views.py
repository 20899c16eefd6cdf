"""Full texts: a retrieval's file served to the members who may see it, and the lead's bulk
upload of PDFs with its match report."""

from django.http import FileResponse, Http404
from django.views.decorators.clickjacking import xframe_options_sameorigin

from review.access import review_for_user
from screening import fulltext


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
