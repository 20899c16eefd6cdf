"""The screening page (one record at a time, keyboard and htmx) and the conflicts page."""

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from analysis.studies import clean_label
from review.access import abilities, review_for_user
from review.db import drop_connection
from review.params import id_param
from screening import calibration, exports, prioritisation, selectors, services, tasks
from screening.agreement_selectors import agreement_csv
from screening.models import (
    ExportJob,
    ExportStatus,
    Prioritisation,
    RecordRank,
    Retrieval,
    Stage,
)

logger = logging.getLogger(__name__)


def _stage(stage: str) -> str:
    if stage not in Stage.values:
        raise Http404("No such stage.")
    return stage


def _card_context(request, review, stage, error=None, outcome=None):
    card = services.next_card(review=review, reviewer=request.user, stage=stage)
    record = card.record if card else None
    last = selectors.last_decision(review, request.user, stage)
    reasons = list(review.exclusion_reasons.filter(is_active=True)[:9])
    return {
        "review": review,
        "can": abilities(request.user, review),
        "stage": stage,
        "stage_label": Stage(stage).label,
        "record": record,
        "lease": card.lease if card else None,
        "outcome": outcome,
        "title": record
        and selectors.highlight(record.title, review.highlight_include, review.highlight_exclude),
        "abstract": record
        and selectors.highlight(
            record.abstract, review.highlight_include, review.highlight_exclude
        ),
        "reasons": reasons,
        "progress": selectors.screening_progress(review, request.user, stage),
        "last": last,
        "last_refusal": last and services.undo_refusal(review, last),
        "calibration": calibration.round_for_reviewer(review, stage, request.user),
        "score": _visible_score(review, stage, record, request.user),
        "retrieval": record and stage == Stage.FULL_TEXT and _retrieval(record),
        "error": error,
    }


def _retrieval(record):
    """The full text beside a full-text card (a record reaches the card only once retrieved,
    and only for reviewers who may see its retrieval)."""
    return Retrieval.objects.filter(record=record).first()


def _visible_score(review, stage, record, user):
    """The model's score of the record, only when the lead shows scores (hidden by default, so
    blind reviewers are not nudged): the reviewer's own model's at a blind stage."""
    if record is None or stage != Stage.TITLE_ABSTRACT:
        return None
    if not Prioritisation.objects.filter(review=review, show_scores=True).exists():
        return None
    if prioritisation.personal_mode(review):
        return prioritisation.personal_score(review, user, record)
    shown = RecordRank.objects.filter(record=record, score__isnull=False)
    return shown.values_list("score", flat=True).first()


def screen(request, slug, stage):
    review = review_for_user(request.user, slug, need="screen")
    context = _card_context(request, review, _stage(stage))
    return render(request, "screening/screen.html", context)


@require_POST
def decide(request, slug, stage):
    review = review_for_user(request.user, slug, need="screen")
    stage = _stage(stage)
    record = get_object_or_404(review.records, pk=id_param(request.POST.get("record")) or 0)
    request.voted_record_number = record.number
    error = None
    try:
        if request.POST.get("verdict") == "skip":
            services.card_skip(review=review, record=record, reviewer=request.user, stage=stage)
            return _respond(request, review, stage, None, outcome="skipped")
        services.decision_record(
            review=review,
            record=record,
            reviewer=request.user,
            stage=stage,
            verdict=request.POST.get("verdict", ""),
            reason=id_param(request.POST.get("reason")),
            note=request.POST.get("note", "")[:2000],
        )
    except ValidationError as e:
        error = " ".join(e.messages)
    return _respond(request, review, stage, error, outcome="refused" if error else "recorded")


@require_POST
def undo(request, slug, stage):
    review = review_for_user(request.user, slug, need="screen")
    stage = _stage(stage)
    last = selectors.last_decision(review, request.user, stage)
    error = None
    if last is None:
        error = "Nothing to undo."
    else:
        try:
            services.decision_undo(
                review=review, record=last.record, reviewer=request.user, stage=stage
            )
        except ValidationError as e:
            error = " ".join(e.messages)
    return _respond(request, review, stage, error)


def _respond(request, review, stage, error, outcome=None):
    """The next card (htmx) or a redirect to the page; `X-Screening-Outcome` says whether the
    vote was recorded or refused, for scripts and the load benchmark."""
    if request.htmx:
        response = _next_card(request, review, stage, error, outcome)
    else:
        if error:
            messages.error(request, error)
        response = redirect("screening:screen", slug=review.slug, stage=stage)
    if outcome:
        response["X-Screening-Outcome"] = outcome
    return response


def _next_card(request, review, stage, error, outcome):
    """The next card after a vote. The vote has committed by now: when the connection drops
    before the card is read, read it once more on a new connection, and if the database is
    still unreachable say that the vote was saved (never a 500 that reads as "not saved")."""
    try:
        context = _card_context(request, review, stage, error, outcome)
    except (OperationalError, InterfaceError):
        if outcome != "recorded":
            raise  # nothing was saved: DatabaseUnavailableMiddleware answers 503
        logger.warning("Connection lost after a vote in review %s; reading the card again",
                       review.pk)  # fmt: skip
        drop_connection()
        try:
            context = _card_context(request, review, stage, error, outcome)
        except (OperationalError, InterfaceError):
            drop_connection()
            context = {"review": review, "stage": stage, "voted": request.voted_record_number}
            return render(request, "screening/_card_saved_offline.html", context)
    return render(request, "screening/screen.html#card", context)


def conflicts(request, slug, stage):
    review = review_for_user(request.user, slug, need="resolve")
    stage = _stage(stage)
    open_conflicts = services.conflicts_for(review, stage, request.user)
    awaiting = services.awaiting_second(review, stage)
    mode, blind = services.stage_mode(review, stage)
    context = {
        "review": review,
        "can": abilities(request.user, review),
        "stage": stage,
        "stage_label": Stage(stage).label,
        "items": selectors.conflict_views(review, stage, open_conflicts[:50]),
        "conflict_count": open_conflicts.count(),
        "awaiting": selectors.awaiting_views(review, stage, awaiting[:50]),
        "awaiting_count": awaiting.count(),
        "dual": mode == "dual",
        "blind": blind,
        "reasons": review.exclusion_reasons.filter(is_active=True),
    }
    return render(request, "screening/conflicts.html", context)


@require_POST
def resolve(request, slug, stage, record_id):
    review = review_for_user(request.user, slug, need="resolve")
    stage = _stage(stage)
    record = get_object_or_404(review.records, pk=record_id)
    try:
        services.conflict_resolve(
            review=review,
            record=record,
            stage=stage,
            resolver=request.user,
            verdict=request.POST.get("verdict", ""),
            reason=id_param(request.POST.get("reason")),
            note=request.POST.get("note", "")[:2000],
        )
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, f"Record {record.number} resolved.")
    return redirect("screening:conflicts", slug=review.slug, stage=stage)


@require_POST
def blinding(request, slug, stage):
    """A lead lifts a stage's blinding, or turns it back on."""
    review = review_for_user(request.user, slug, need="manage")
    stage = _stage(stage)
    blind = request.POST.get("blind") == "on"
    try:
        changed = services.stage_blinding_set(
            review=review, stage=stage, blind=blind, user=request.user
        )
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        if changed:
            what = "turned back on" if blind else "lifted"
            messages.success(request, f"Blinding of {Stage(stage).label.lower()} {what}.")
    return redirect("screening:conflicts", slug=review.slug, stage=stage)


@require_POST
def reopen(request, slug, record_id, stage):
    """A lead re-opens a settled record at a stage as a conflict (record page)."""
    review = review_for_user(request.user, slug, need="manage")
    stage = _stage(stage)
    record = get_object_or_404(review.records, pk=record_id)
    try:
        services.stage_reopen(
            review=review,
            record=record,
            stage=stage,
            lead=request.user,
            note=request.POST.get("note", "")[:2000],
            cascade=request.POST.get("cascade") == "on",
        )
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(
            request, f"Record {record.number} re-opened: it waits on the conflicts page."
        )
    return redirect("screening:record", slug=review.slug, record_id=record.pk)


def retrieval(request, slug):
    review = review_for_user(request.user, slug, need="screen")
    records = (
        services.sought_records(review, viewer=request.user)
        .select_related("retrieval", "batch__source")
        .order_by("pk")[:200]
    )
    context = {"review": review, "can": abilities(request.user, review), "records": records}
    return render(request, "screening/retrieval.html", context)


@require_POST
def retrieval_save(request, slug, record_id):
    review = review_for_user(request.user, slug, need="screen")
    record = get_object_or_404(review.records, pk=record_id)
    try:
        services.retrieval_set(
            review=review,
            record=record,
            user=request.user,
            status=request.POST.get("status", ""),
            file=request.FILES.get("file"),
            url=request.POST.get("url", ""),
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as e:
        messages.error(request, f"Record {record.number}: {' '.join(e.messages)}")
    else:
        messages.success(request, f"Record {record.number} saved.")
    return redirect("screening:retrieval", slug=review.slug)


def agreement_export(request, slug):
    review = review_for_user(request.user, slug)
    results = abilities(request.user, review).results
    stages = [stage for stage in Stage.values if results.whole_stage(stage)]
    response = HttpResponse(
        agreement_csv(review, stages=stages), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{review.slug}-agreement.csv"'
    return response


def _export_table(request, review):
    layout = request.GET.get("layout", "wide")
    if layout not in exports.LAYOUTS:
        return None
    can_manage = abilities(request.user, review).can_manage
    return exports.records_table(
        review=review, viewer=request.user, resolver=can_manage, layout=layout
    )


def records_export_csv(request, slug):
    review = review_for_user(request.user, slug)
    table = _export_table(request, review)
    if table is None:
        return HttpResponseBadRequest("layout is wide or long.")
    response = StreamingHttpResponse(
        exports.csv_lines(table), content_type="text/csv; charset=utf-8"
    )
    filename = f"{review.slug}-{table.name}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def records_export_xlsx(request, slug):
    review = review_for_user(request.user, slug)
    layout = request.GET.get("layout", "wide")
    if layout not in exports.LAYOUTS:
        return HttpResponseBadRequest("layout is wide or long.")
    if review.records.count() > settings.EXPORT_INLINE_MAX_RECORDS:
        # A large workbook takes longer than a request may: the worker builds it.
        job = ExportJob.objects.create(
            review=review,
            user=request.user,
            layout=layout,
            resolver=abilities(request.user, review).can_manage,
        )
        transaction.on_commit(lambda: tasks.run_export.enqueue(job.pk))
        return redirect("screening:export-job", slug=review.slug, job_id=job.pk)
    table = _export_table(request, review)
    return FileResponse(
        exports.xlsx_file(table),
        as_attachment=True,
        filename=f"{review.slug}-{table.name}.xlsx",
        content_type=exports.XLSX_CONTENT_TYPE,
    )


def inclusion(request, slug):
    review = review_for_user(request.user, slug)
    can = abilities(request.user, review)
    reports = (
        services.included_reports(review, viewer=request.user)
        .select_related("study_report__study", "batch__source")
        .order_by("pk")[:500]
    )
    context = {
        "review": review,
        "can": can,
        "reports": reports,
        "studies": review.studies.order_by("label") if can.results.everything else [],
    }
    return render(request, "screening/inclusion.html", context)


@require_POST
def inclusion_link(request, slug, record_id):
    review = review_for_user(request.user, slug, need="screen")
    record = get_object_or_404(review.records, pk=record_id)
    try:
        typed = clean_label(request.POST.get("study", ""))
        link = services.report_link_study(
            review=review, record=record, user=request.user, study_label=typed
        )
    except ValidationError as e:
        messages.error(request, f"Record {record.number}: {' '.join(e.messages)}")
    else:
        if link.study.label != typed:
            messages.info(
                request,
                f"Record {record.number}: “{typed}” is the existing study “{link.study.label}”; "
                "the report was linked to it.",
            )
    return redirect("screening:inclusion", slug=review.slug)


def export_job(request, slug, job_id):
    """The page of a queued Excel export: polls until it is ready (its owner only)."""
    review = review_for_user(request.user, slug)
    job = get_object_or_404(ExportJob, pk=job_id, review=review, user=request.user)
    context = {"review": review, "can": abilities(request.user, review), "job": job}
    if request.htmx:
        return render(request, "screening/export_job.html#status", context)
    return render(request, "screening/export_job.html", context)


def export_download(request, slug, job_id):
    review = review_for_user(request.user, slug)
    job = get_object_or_404(
        ExportJob, pk=job_id, review=review, user=request.user, status=ExportStatus.DONE
    )
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=job.filename,
        content_type=exports.XLSX_CONTENT_TYPE,
    )
