"""The PRISMA 2020 flow diagram page and its downloads (the drawing is analysis.prisma_diagram).

Any member may view and download; others get a 404 (`review_for_user`). Downloads of counts
that break a hard rule answer 409 with the rule and its equation, never a wrong diagram.
"""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render

from analysis import prisma_diagram
from review.access import abilities, review_for_user
from review.params import id_param
from screening.prisma import studies_without_records, studies_without_records_note

BLIND = (
    "The PRISMA 2020 flow diagram is shown to the leads and the reviewers chosen to resolve "
    "conflicts while screening is blind; it appears for everyone once a lead lifts the blinding."
)


def _review_seeing_results(request, slug):
    """The review, for a member who may see every stage's results (blind screening)."""
    review = review_for_user(request.user, slug)
    if not abilities(request.user, review).results.everything:
        raise PermissionDenied(BLIND)
    return review


def page(request, slug):
    review = review_for_user(request.user, slug)
    can = abilities(request.user, review)
    unrecorded = studies_without_records_note(studies_without_records(review))
    if not can.results.everything:
        context = {"review": review, "can": can, "tab": "prisma", "blind": BLIND,
                   "unrecorded": unrecorded}  # fmt: skip
        return render(request, "analysis/prisma.html", context)
    diagram = prisma_diagram.diagram_page(review, link=prisma_diagram.records_link(review))
    context = {
        "review": review,
        "can": can,
        "tab": "prisma",
        "diagram": diagram,
        "formats": prisma_diagram.FORMATS,
        "dpis": prisma_diagram.DPIS,
        "unrecorded": unrecorded,
    }
    return render(request, "analysis/prisma.html", context)


def _refused(error: prisma_diagram.PrismaRuleError) -> HttpResponse:
    return HttpResponse(str(error), status=409, content_type="text/plain; charset=utf-8")


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def diagram_download(request, slug, fmt):
    review = _review_seeing_results(request, slug)
    dpi = id_param(request.GET.get("dpi"))
    dpi = dpi if dpi in prisma_diagram.DPIS else 300
    try:
        content, content_type, filename = prisma_diagram.diagram_file(review, fmt, dpi=dpi)
    except prisma_diagram.PrismaRuleError as error:
        return _refused(error)
    return _attachment(content, content_type, filename)


def counts_csv(request, slug):
    review = _review_seeing_results(request, slug)
    try:
        content, filename = prisma_diagram.template_csv(review)
    except prisma_diagram.PrismaRuleError as error:
        return _refused(error)
    return _attachment(content, "text/csv; charset=utf-8", filename)
