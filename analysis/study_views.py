"""A lead renames, merges and deletes studies (analysis/studies.py does the work)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from analysis import studies
from analysis.models import Study
from review.access import abilities, review_for_user
from review.params import id_param


def _study(review, study_id) -> Study:
    return get_object_or_404(Study, pk=study_id, review=review)


@require_POST
def study_rename(request, slug, study_id):
    review = review_for_user(request.user, slug, need="manage")
    study = _study(review, study_id)
    try:
        study = studies.study_rename(
            study=study, label=request.POST.get("label", ""), user=request.user
        )
    except ValidationError as exc:
        messages.error(request, f"{study.label}: {' '.join(exc.messages)}")
    else:
        messages.success(request, f"Renamed: {study.label}.")
    return redirect("analysis:study", review.slug, study.pk)


@require_http_methods(["GET", "POST"])
def study_merge(request, slug, study_id):
    """GET: what merging this study into `into` does, conflicts to settle; POST: merge."""
    review = review_for_user(request.user, slug, need="manage")
    other = _study(review, study_id)
    data = request.POST if request.method == "POST" else request.GET
    keep = get_object_or_404(Study, pk=id_param(data.get("into")) or 0, review=review)
    choices = {k.removeprefix("choice-"): v for k, v in data.items() if k.startswith("choice-")}
    errors = []
    try:
        plan = studies.study_merge_plan(keep=keep, other=other)
        if request.method == "POST":
            studies.study_merge(keep=keep, other=other, choices=choices, user=request.user)
            messages.success(request, f"“{other.label}” merged into “{keep.label}”.")
            return redirect("analysis:study", review.slug, keep.pk)
    except ValidationError as exc:
        errors = exc.messages
        if request.method == "GET":
            messages.error(request, " ".join(errors))
            return redirect("analysis:study", review.slug, other.pk)
    context = {
        "review": review,
        "can": abilities(request.user, review),
        "plan": plan,
        "choices": choices,
        "errors": errors,
    }
    return render(request, "analysis/study_merge.html", context, status=400 if errors else 200)


@require_http_methods(["GET", "POST"])
def study_delete(request, slug, study_id):
    """GET: the study's data, to confirm deleting it with the study; POST: delete."""
    review = review_for_user(request.user, slug, need="manage")
    study = _study(review, study_id)
    errors = []
    if request.method == "POST":
        try:
            studies.study_delete(study=study, user=request.user)
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, f"“{study.label}” deleted.")
            return redirect("analysis:extraction", review.slug)
    reports = study.reports.count()
    context = {
        "review": review,
        "can": abilities(request.user, review),
        "study": study,
        "reports": reports,
        "data": studies.study_data(study),
        "errors": errors,
    }
    return render(request, "analysis/study_delete.html", context, status=400 if errors else 200)
