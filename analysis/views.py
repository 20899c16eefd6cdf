"""Extraction pages (outcomes, moderators, each outcome's data, each study's characteristics and
risk of bias, the sheet upload) and the analysis page of an outcome with its plots."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import escape
from django.views.decorators.http import require_POST

from analysis import conventions, display, dual, extraction, plotting
from analysis.engine import MetaAnalysisError
from analysis.forms import AnalysisForm, ModeratorForm, OutcomeForm, SheetForm
from analysis.models import (
    MEASURE_LABELS,
    ROB2_DOMAINS,
    EffectData,
    ExtractionAction,
    Judgement,
    ModeratorValue,
    Outcome,
    RiskOfBias,
    Study,
)
from review.access import abilities, review_for_user
from review.params import id_param


def _context(request, review, tab, **extra):
    return {"review": review, "can": abilities(request.user, review), "tab": tab, **extra}


def extraction_page(request, slug):
    review = review_for_user(request.user, slug)
    outcomes = list(review.outcomes.annotate(n_data=Count("data")))
    studies = list(review.studies.select_related("risk_of_bias").order_by("label"))
    context = _context(
        request,
        review,
        "extraction",
        outcomes=[(o, o.n_data) for o in outcomes],
        moderators=list(review.moderators.all()),
        studies=studies,
        outcome_form=OutcomeForm(review=review),
        moderator_form=ModeratorForm(review=review),
        sheet_form=SheetForm(review=review),
        field_labels=extraction.FIELD_LABELS,
    )
    return render(request, "analysis/extraction.html", context)


@require_POST
def outcome_create(request, slug):
    review = review_for_user(request.user, slug, need="manage")
    form = OutcomeForm(request.POST, review=review)
    if form.is_valid():
        outcome = form.save(commit=False)
        outcome.review = review
        outcome.save()
        messages.success(request, f"Outcome “{outcome.name}” added.")
        return redirect("analysis:outcome-data", review.slug, outcome.pk)
    for field, errors in form.errors.items():
        messages.error(request, f"{field}: {' '.join(errors)}")
    return redirect("analysis:extraction", review.slug)


@require_POST
def moderator_create(request, slug):
    review = review_for_user(request.user, slug, need="manage")
    form = ModeratorForm(request.POST, review=review)
    if form.is_valid():
        moderator = form.save(commit=False)
        moderator.review = review
        moderator.save()
        messages.success(request, f"Moderator “{moderator.name}” added.")
    else:
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
    return redirect("analysis:extraction", review.slug)


@require_POST
def sheet_upload(request, slug):
    review = review_for_user(request.user, slug, need="screen")
    form = SheetForm(request.POST, request.FILES, review=review)
    if not form.is_valid():
        messages.error(request, "Choose a CSV or Excel file.")
        return redirect("analysis:extraction", review.slug)
    upload = form.cleaned_data["file"]
    try:
        summary = extraction.import_sheet(
            review=review,
            name=upload.name,
            content=upload.read(),
            user=request.user,
            decimal=form.cleaned_data["decimal_separator"]
            if "decimal_separator" in request.POST
            else None,
        )
    except extraction.ExtractionError as exc:
        return render(
            request,
            "analysis/sheet_errors.html",
            _context(
                request,
                review,
                "extraction",
                name=upload.name,
                errors=exc.message_dict.get("file", exc.messages),
            ),
            status=400,
        )
    messages.success(
        request,
        f"{upload.name}: {summary.rows} rows; {summary.effect_rows} outcome rows, "
        f"{summary.moderator_values} moderator values, {summary.rob_rows} risk-of-bias rows saved.",
    )
    return redirect("analysis:extraction", review.slug)


def sheet_template(request, slug):
    """A CSV with the sheet's columns for this review's outcomes and moderators, one row per
    study and outcome, filled with what is already extracted."""
    review = review_for_user(request.user, slug)
    body = extraction.sheet_csv(review)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{review.slug}-extraction.csv"'
    return response


def _outcome(review, outcome_id) -> Outcome:
    return get_object_or_404(Outcome, pk=outcome_id, review=review)


def outcome_data(request, slug, outcome_id):
    review = review_for_user(request.user, slug)
    outcome = _outcome(review, outcome_id)
    existing = {d.study_id: d for d in EffectData.objects.filter(outcome=outcome)}
    errors: dict[int, dict] = {}
    posted: dict[int, dict] = {}
    if request.method == "POST":
        review_for_user(request.user, slug, need="screen")
        study = get_object_or_404(Study, pk=id_param(request.POST.get("study")) or 0, review=review)
        raw = {f: request.POST.get(f, "") for f in outcome.fields}
        if outcome.data_type == "generic":
            raw |= {f: request.POST.get(f, "") for f in ("ci_lb", "ci_ub")}
        notes = request.POST.get("notes", "")
        try:
            if outcome.dual_extraction:
                dual.save_draft(
                    outcome=outcome,
                    study=study,
                    raw=raw,
                    user=request.user,
                    notes=notes,
                    decimal=review.decimal_separator,
                )
            else:
                extraction.save_effect_data(
                    outcome=outcome,
                    study=study,
                    raw=raw,
                    user=request.user,
                    notes=notes,
                    expected=request.POST.get("version"),  # None: no check (not from the page)
                    decimal=review.decimal_separator,
                )
            messages.success(request, f"{study.label}: saved.")
            return redirect(f"{request.path}#study-{study.pk}")
        except extraction.ExtractionError as exc:
            errors[study.pk] = exc.message_dict
            posted[study.pk] = raw
    states = dual.states(outcome) if outcome.dual_extraction else {}
    rows = []
    for study in review.studies.order_by("label"):
        data = existing.get(study.pk)
        state = states.get(study.pk)
        mine = state.mine(request.user) if state else None
        if outcome.dual_extraction:  # blind: only your own extraction is shown
            shown = mine.values if mine else {}
            notes = mine.notes if mine else ""
        else:
            shown = data.values if data else {}
            notes = data.notes if data else ""
        shown = extraction.values_for_input(shown, review.decimal_separator)
        effect = extraction.effect_summary(outcome, data.values) if data else None
        rows.append(
            {
                "version": extraction.version_of(data),
                "study": study,
                "data": data,
                "values": posted.get(study.pk) or shown,
                "notes": notes,
                "effect": effect,
                "state": state.state if state else None,
                "extractions": len(state.drafts) if state else 0,
                "errors": errors.get(study.pk, {}),
            }
        )
    fields = [(f, extraction.FIELD_LABELS[f]) for f in outcome.fields]
    if outcome.data_type == "generic":
        fields += [(f, extraction.FIELD_LABELS[f]) for f in ("ci_lb", "ci_ub")]
    context = _context(
        request,
        review,
        "extraction",
        outcome=outcome,
        rows=rows,
        fields=fields,
        measure_label=MEASURE_LABELS[outcome.measure],
        conflicts=sum(1 for s in states.values() if s.state == dual.CONFLICT),
    )
    return render(request, "analysis/outcome_data.html", context, status=400 if errors else 200)


def reconcile_page(request, slug, outcome_id):
    """Dual extraction: the studies whose two extractions differ, side by side, for a lead or a
    chosen resolver to settle field by field. A resolver who is not a lead does not see (or
    settle) a study they extracted themselves."""
    review = review_for_user(request.user, slug, need="resolve")
    outcome = _outcome(review, outcome_id)
    is_lead = abilities(request.user, review).can_manage
    errors: dict[int, dict] = {}
    if request.method == "POST":
        study = get_object_or_404(Study, pk=id_param(request.POST.get("study")) or 0, review=review)
        state = dual.states(outcome)[study.pk]
        if not is_lead and state.mine(request.user):
            raise PermissionDenied("You extracted this study: another resolver settles it.")
        raw = {f: request.POST.get(f, "") for f in outcome.fields}
        try:
            dual.reconcile(
                outcome=outcome,
                study=study,
                raw=raw,
                user=request.user,
                notes=request.POST.get("notes", ""),
            )
            messages.success(request, f"{study.label}: reconciled.")
            return redirect("analysis:reconcile", review.slug, outcome.pk)
        except extraction.ExtractionError as exc:
            errors[study.pk] = exc.message_dict
    conflicts = []
    for state in dual.states(outcome).values():
        if state.state != dual.CONFLICT or (not is_lead and state.mine(request.user)):
            continue
        differing = state.differing()
        a, b = state.drafts[0], state.drafts[1]
        conflicts.append(
            {
                "study": state.study,
                "a": a,
                "b": b,
                "errors": errors.get(state.study.pk, {}),
                "fields": [
                    (
                        f,
                        extraction.FIELD_LABELS[f],
                        extraction.number_for_input(a.values.get(f), review.decimal_separator),
                        extraction.number_for_input(b.values.get(f), review.decimal_separator),
                        f in differing,
                    )
                    for f in outcome.fields
                ],
            }
        )
    context = _context(request, review, "extraction", outcome=outcome, conflicts=conflicts)
    return render(request, "analysis/reconcile.html", context, status=400 if errors else 200)


@require_POST
def effect_preview(request, slug, outcome_id):
    """htmx: the effect and variance of the values being typed, or what is wrong with them."""
    review = review_for_user(request.user, slug, need="screen")
    outcome = _outcome(review, outcome_id)
    raw = {f: request.POST.get(f, "") for f in (*outcome.fields, "ci_lb", "ci_ub")}
    try:
        values = extraction.clean_values(outcome, raw, decimal=review.decimal_separator)
    except extraction.ExtractionError as exc:
        text = "; ".join(m for ms in exc.message_dict.values() for m in ms)
        return HttpResponse(f'<span class="error">{escape(text)}</span>')
    summary = extraction.effect_summary(outcome, values)
    if summary is None:
        return HttpResponse('<span class="error">Cannot compute the effect.</span>')
    return HttpResponse(escape(summary))


def study_page(request, slug, study_id):
    review = review_for_user(request.user, slug)
    study = get_object_or_404(Study, pk=study_id, review=review)
    moderators = list(review.moderators.all())
    errors = {}
    if request.method == "POST":
        review_for_user(request.user, slug, need="screen")
        try:
            for moderator in moderators:
                extraction.save_moderator_value(
                    moderator=moderator,
                    study=study,
                    value=request.POST.get(f"moderator-{moderator.pk}", ""),
                    user=request.user,
                )
            extraction.save_risk_of_bias(
                study=study,
                judgements={
                    name: request.POST.get(name, "") for name, _ in [*ROB2_DOMAINS, ("overall", "")]
                },
                user=request.user,
                notes=request.POST.get("rob_notes", ""),
            )
            messages.success(request, f"{study.label}: saved.")
            return redirect("analysis:study", review.slug, study.pk)
        except extraction.ExtractionError as exc:
            errors = exc.message_dict
    values = dict(ModeratorValue.objects.filter(study=study).values_list("moderator_id", "value"))
    rob = RiskOfBias.objects.filter(study=study).first()
    context = _context(
        request,
        review,
        "extraction",
        study=study,
        errors=errors,
        moderators=[
            (m, extraction.moderator_for_input(m, values.get(m.pk, ""), review.decimal_separator))
            for m in moderators
        ],
        domains=[
            (name, label, getattr(rob, name, "") if rob else "")
            for name, label in [*ROB2_DOMAINS, ("overall", "Overall")]
        ],
        judgements=Judgement.choices,
        rob=rob,
        reports=study.reports.select_related("record"),
        events=_visible_events(request.user, review, study),
        other_studies=review.studies.exclude(pk=study.pk).order_by("label"),
        study_events=study.study_events.select_related("user").order_by("-created_at", "-id"),
    )
    return render(request, "analysis/study.html", context, status=400 if errors else 200)


def _visible_events(user, review, study) -> list:
    """The study's extraction log as `user` may see it: while a dual extraction of the study is
    not settled, another reviewer's independent extraction stays hidden (leads see it)."""
    events = list(
        study.events.select_related("user", "outcome").order_by("-created_at", "-id")[:50]
    )
    if abilities(user, review).can_manage:
        return events
    settled = {}
    for e in events:
        if e.action == ExtractionAction.DRAFT and e.outcome_id not in settled:
            settled[e.outcome_id] = dual.states(e.outcome)[study.pk].state in (
                dual.AGREED,
                dual.RECONCILED,
            )
    return [
        e
        for e in events
        if e.action != ExtractionAction.DRAFT or e.user_id == user.pk or settled[e.outcome_id]
    ]


def _settings(request, outcome) -> tuple[AnalysisForm, dict]:
    data = AnalysisForm.switch_convention(request.GET) if "method" in request.GET else None
    form = AnalysisForm(data, outcome=outcome, initial=AnalysisForm.initial_for(outcome))
    if data is not None and form.is_valid():
        return form, dict(form.cleaned_data)
    initial = AnalysisForm.initial_for(outcome)
    initial["subgroup_by"] = outcome.subgroup_by
    initial["regress_on"] = outcome.regress_on
    return form, initial


def analysis_page(request, slug, outcome_id):
    review = review_for_user(request.user, slug)
    outcome = _outcome(review, outcome_id)
    form, settings = _settings(request, outcome)
    report = error = None
    try:
        report = extraction.run_analysis(outcome, **settings)
    except MetaAnalysisError as exc:
        error = str(exc)
    query = request.GET.urlencode()
    has_funnel = report is not None and report.main.k >= 3
    has_bubble = report is not None and bool(report.metareg)
    context = _context(
        request,
        review,
        "analysis",
        outcome=outcome,
        form=form,
        report=report,
        error=error,
        settings=settings,
        query=query,
        view=display.report_view(
            report, outcome.log_scale, natural_scale=settings.get("scale") != "analysis"
        )
        if report
        else None,
    )
    if report is not None:
        rows = extraction.outcome_rows(outcome)
        context["conventions"] = conventions.view_rows(conventions.compare(
            report.measure, rows.rows, rows.labels, level=report.level,
            log_scale=outcome.log_scale))  # fmt: skip
    plots = (("forest", plotting.forest_svg, report is not None),
             ("funnel", plotting.funnel_svg, has_funnel),
             ("bubble", plotting.bubble_svg, has_bubble))  # fmt: skip
    for kind, draw, wanted in plots:
        context[f"{kind}_svg"], context[f"{kind}_error"] = (
            _plot(draw, outcome, settings, report) if wanted else ("", "")
        )
    return render(request, "analysis/analysis.html", context)


def _plot(draw, outcome, settings, report) -> tuple[str, str]:
    """(the plot's inline SVG, "") or ("", why it could not be drawn): a plot that fails is
    said in its place and the rest of the page still renders."""
    try:
        return draw(outcome, settings, report), ""
    except (MetaAnalysisError, ValueError) as exc:
        return "", str(exc)


@require_POST
def analysis_save(request, slug, outcome_id):
    """Keep the page's settings as the outcome's analysis (what exports reproduce)."""
    review = review_for_user(request.user, slug, need="manage")
    outcome = _outcome(review, outcome_id)
    form = AnalysisForm(request.POST, outcome=outcome)
    if not form.is_valid():
        messages.error(request, "These settings are not valid.")
    else:
        extraction.keep_analysis_settings(
            outcome=outcome, settings=form.cleaned_data, user=request.user
        )
        messages.success(request, "Saved as this outcome's analysis; exports use it.")
    return redirect("analysis:analysis", review.slug, outcome.pk)


PLOT_TYPES = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}


def plot_download(request, slug, outcome_id, kind, fmt):
    review = review_for_user(request.user, slug)
    outcome = _outcome(review, outcome_id)
    if fmt not in PLOT_TYPES or kind not in ("forest", "funnel", "bubble"):
        raise Http404("No such plot.")
    _, settings = _settings(request, outcome)
    try:
        report = extraction.run_analysis(outcome, **settings)
        body = plotting.plot_bytes(kind, fmt, outcome, settings, report)
    except (MetaAnalysisError, ValueError) as exc:
        raise Http404(str(exc)) from exc
    response = HttpResponse(body, content_type=PLOT_TYPES[fmt])
    name = f"{review.slug}-{outcome.pk}-{kind}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def export_zip(request, slug):
    """The finished meta-analysis as a ZIP (analysis/exports.py)."""
    from analysis.exports import build_zip

    review = review_for_user(request.user, slug)
    with_prisma = abilities(request.user, review).results.everything
    content = build_zip(review, with_prisma=with_prisma)
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{review.slug}-meta-analysis.zip"'
    return response
