"""Pages for importing search exports and resolving possible duplicates."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from review import dedup_service, import_service, selectors
from review.access import abilities, review_for_user
from review.forms import ColumnMappingForm, ImportForm
from review.models import DuplicatePair, ImportStatus, PairStatus, Record
from review.params import id_param


@require_http_methods(["GET", "POST"])
def import_create(request, slug):
    review = review_for_user(request.user, slug, need="manage")
    form = ImportForm(request.POST or None, request.FILES or None, review=review)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch = import_service.import_upload(
                review=review,
                source=form.cleaned_data["source"],
                filename=upload.name,
                file=upload,
                user=request.user,
                format=form.cleaned_data["format"] or None,
                allow_same_file=form.cleaned_data["allow_same_file"],
                strict=form.cleaned_data["strict"],
            )
        except ValidationError as error:
            form.add_error("file", error)
        else:
            if batch.status == ImportStatus.PENDING and batch.column_mapping is not None:
                return redirect("review:import-mapping", slug=review.slug, batch_id=batch.pk)
            return redirect("review:import-detail", slug=review.slug, batch_id=batch.pk)
    context = {"review": review, "can": abilities(request.user, review), "form": form}
    return render(request, "review/import_form.html", context)


@require_http_methods(["GET", "POST"])
def import_mapping(request, slug, batch_id):
    review = review_for_user(request.user, slug, need="manage")
    batch = get_object_or_404(review.imports, pk=batch_id, status=ImportStatus.PENDING)
    headers = selectors.import_headers(batch)
    form = ColumnMappingForm(
        request.POST or None, headers=headers, initial_mapping=batch.column_mapping or {}
    )
    if request.method == "POST" and form.is_valid():
        try:
            import_service.import_confirm_mapping(batch=batch, mapping=form.mapping())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("review:import-detail", slug=review.slug, batch_id=batch.pk)
    context = {"review": review, "can": abilities(request.user, review), "form": form,
               "batch": batch, "preview": selectors.import_preview(batch)}  # fmt: skip
    return render(request, "review/import_mapping.html", context)


def import_detail(request, slug, batch_id):
    review = review_for_user(request.user, slug)
    batch = get_object_or_404(review.imports.select_related("source", "uploaded_by"), pk=batch_id)
    if import_service.import_is_stale(batch):  # its process died: queue it again (or fail it)
        import_service.import_worker_stopped(
            batch.pk, attempts=batch.attempts, heartbeat_at=batch.heartbeat_at
        )
        batch.refresh_from_db()
    context = {
        "review": review,
        "can": abilities(request.user, review),
        "may_act": import_service.import_may_act(request.user, batch),
        "batch": batch,
        "summary": import_service.import_summary(batch)
        if batch.status == ImportStatus.DONE
        else None,
    }
    template = "review/import_detail.html"
    if request.htmx:
        template += "#import-status"
    return render(request, template, context)


@require_POST
def import_cancel(request, slug, batch_id):
    """Cancel a waiting or running import (its uploader or a lead); nothing is written."""
    review = review_for_user(request.user, slug)
    batch = get_object_or_404(review.imports, pk=batch_id)
    try:
        import_service.import_cancel(batch=batch, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"The import of {batch.filename} was cancelled.")
    return redirect("review:import-detail", slug=review.slug, batch_id=batch.pk)


@require_POST
def import_retry(request, slug, batch_id):
    """Run a failed or cancelled import again from its stored file (its uploader or a lead)."""
    review = review_for_user(request.user, slug)
    batch = get_object_or_404(review.imports, pk=batch_id)
    try:
        batch = import_service.import_retry(batch=batch, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if batch.status == ImportStatus.PENDING and batch.format in import_service.TABULAR:
            return redirect("review:import-mapping", slug=review.slug, batch_id=batch.pk)
    return redirect("review:import-detail", slug=review.slug, batch_id=batch.pk)


def duplicates(request, slug):
    review = review_for_user(request.user, slug)
    status = request.GET.get("status", PairStatus.POSSIBLE)
    if status not in PairStatus.values:
        status = PairStatus.POSSIBLE
    if status == PairStatus.POSSIBLE:  # one question per group of records, not per pair
        pairs = selectors.possible_groups(review)
    else:
        pairs = selectors.duplicate_pairs(review, status=status)
    page = Paginator(pairs, 20).get_page(request.GET.get("page"))
    context = {
        "review": review,
        "can": abilities(request.user, review),
        "page": page,
        "status": status,
        "statuses": PairStatus.choices,
        "tallies": selectors.duplicate_tallies(review),
        "questions": page.paginator.count if status == PairStatus.POSSIBLE else None,
        "events": review.dedup_events.select_related("user").order_by("-created_at")[:20],
    }
    return render(request, "review/duplicates.html", context)


_PAIR_ACTIONS = {
    "confirm": dedup_service.duplicate_pair_confirm,
    "reject": dedup_service.duplicate_pair_reject,
    "undo": dedup_service.duplicate_pair_undo,
}


@require_POST
def duplicate_decide(request, slug, pair_id, action):
    review = review_for_user(request.user, slug, need="manage")
    pair = get_object_or_404(DuplicatePair.objects.filter(review=review), pk=pair_id)
    error = None
    try:
        if action == "primary":
            record = get_object_or_404(
                Record.objects.filter(review=review, pk__in=[pair.record_a_id, pair.record_b_id]),
                pk=id_param(request.POST.get("record")) or 0,
            )
            dedup_service.record_set_primary(record=record, user=request.user)
        elif action in _PAIR_ACTIONS:
            _PAIR_ACTIONS[action](pair=pair, user=request.user)
        else:
            raise ValidationError(f"Unknown action {action!r}.")
    except ValidationError as e:
        error = " ".join(e.messages)
    if request.htmx:  # the card, and the page's counters swapped out of band
        context = {"review": review, "can": abilities(request.user, review),
                   "pair": selectors.duplicate_pair(review, pair.pk), "error": error,
                   "tallies": selectors.duplicate_tallies(review), "statuses": PairStatus.choices,
                   "oob": True}  # fmt: skip
        return render(request, "review/duplicates.html#decided", context)
    if error:
        messages.error(request, error)
    return redirect("review:duplicates", slug=review.slug)


@require_POST
def duplicate_group_decide(request, slug, action):
    """Decide the possible pairs of a group of records at once (`pair`: the pairs to decide;
    `shown`: every pair of the group as shown, to show it again)."""
    review = review_for_user(request.user, slug, need="manage")
    if action not in ("confirm", "reject"):
        raise Http404("Unknown decision.")
    wanted = {i for i in map(id_param, request.POST.getlist("pair")) if i is not None}
    shown = [i for i in map(id_param, request.POST.getlist("shown")) if i is not None]
    pairs = list(DuplicatePair.objects.filter(review=review, pk__in=wanted))
    if not wanted or len(pairs) != len(wanted):
        raise Http404("No such pairs in this review.")
    error = None
    try:
        dedup_service.duplicate_pairs_decide(pairs=pairs, verdict=action, user=request.user)
    except ValidationError as e:
        error = " ".join(e.messages)
    if request.htmx:  # the group's card, and the page's counters swapped out of band
        group = selectors.possible_group(review, shown or sorted(wanted))
        context = {"review": review, "can": abilities(request.user, review), "group": group,
                   "error": error, "tallies": selectors.duplicate_tallies(review),
                   "statuses": PairStatus.choices, "oob": True}  # fmt: skip
        return render(request, "review/duplicates.html#group-decided", context)
    if error:
        messages.error(request, error)
    return redirect("review:duplicates", slug=review.slug)
