"""The records pages: the records behind a PRISMA count (or all of them) and one record with
its stages and audit trail."""

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from review.access import abilities, review_for_user
from screening import record_selectors

PAGE_SIZE = 50


def record_list(request, slug):
    review = review_for_user(request.user, slug)
    count = request.GET.get("count") or None
    key = request.GET.get("key")
    search = request.GET.get("q", "")[:200]
    try:
        records = record_selectors.record_list(
            review, count=count, key=key, search=search, viewer=request.user
        )
    except ValueError as error:
        raise Http404(str(error)) from None
    except PermissionError as error:
        raise PermissionDenied(str(error)) from None
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "review": review,
        "can": abilities(request.user, review),
        "page": page,
        "count": count,
        "key": key,
        "heading": record_selectors.count_label(count, key) if count else "All records",
        "query": record_selectors.count_query(count, key) if count else "",
        "search": search,
    }
    return render(request, "screening/record_list.html", context)


def record_detail(request, slug, record_id):
    review = review_for_user(request.user, slug)
    record = get_object_or_404(
        review.records.select_related("batch__source", "duplicate_of", "study_report__study"),
        pk=record_id,
    )
    can = abilities(request.user, review)
    view = record_selectors.record_view(review, record, request.user, can_resolve=can.can_resolve)
    return render(
        request, "screening/record_detail.html", {"review": review, "can": can, "view": view}
    )
