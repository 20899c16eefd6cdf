"""The calibration page (leads): start a round, follow it, read the agreement, close it."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from review.access import abilities, review_for_user
from review.models import Role, ScreeningMode
from screening import calibration, services
from screening.models import Stage

PAST_ROUNDS_SHOWN = 10


class CalibrationStartForm(forms.Form):
    reviewer_a = forms.ModelChoiceField(queryset=None, label="First reviewer")
    reviewer_b = forms.ModelChoiceField(queryset=None, label="Second reviewer")
    size = forms.IntegerField(
        label="Sample size",
        min_value=1,
        max_value=calibration.MAX_SAMPLE_SIZE,
        initial=calibration.DEFAULT_SAMPLE_SIZE,
        help_text="Capped by the records nobody has screened yet.",
    )

    def __init__(self, *args, review, **kwargs):
        super().__init__(*args, **kwargs)
        screeners = (
            get_user_model()
            .objects.filter(
                memberships__review=review, memberships__role__in=[Role.LEAD, Role.REVIEWER]
            )
            .order_by("username")
        )
        self.fields["reviewer_a"].queryset = screeners
        self.fields["reviewer_b"].queryset = screeners
        self.fields["reviewer_a"].label_from_instance = lambda u: u.username
        self.fields["reviewer_b"].label_from_instance = lambda u: u.username


def _stage(stage: str) -> str:
    if stage not in Stage.values:
        raise Http404("No such stage.")
    return stage


def calibration_page(request, slug, stage, form=None, status=200):
    review = review_for_user(request.user, slug, need="manage")
    stage = _stage(stage)
    mode, _blind = services.stage_mode(review, stage)
    round_ = calibration.open_round(review, stage)
    past = [
        calibration.round_progress(r)
        for r in calibration.rounds(review, stage).filter(closed_at__isnull=False)[
            :PAST_ROUNDS_SHOWN
        ]
    ]
    context = {
        "review": review,
        "can": abilities(request.user, review),
        "stage": stage,
        "stage_label": Stage(stage).label,
        "dual": mode == ScreeningMode.DUAL,
        "current": round_ and calibration.round_progress(round_),
        "past": past,
        "available": calibration.calibration_candidates(review, stage).count(),
        "form": form or CalibrationStartForm(review=review),
    }
    return render(request, "screening/calibration.html", context, status=status)


@require_POST
def calibration_start(request, slug, stage):
    review = review_for_user(request.user, slug, need="manage")
    stage = _stage(stage)
    form = CalibrationStartForm(request.POST, review=review)
    if form.is_valid():
        try:
            round_ = calibration.calibration_start(
                review=review,
                stage=stage,
                reviewer_a=form.cleaned_data["reviewer_a"],
                reviewer_b=form.cleaned_data["reviewer_b"],
                size=form.cleaned_data["size"],
                user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"Calibration round started: {round_.samples.count()} records for "
                f"{round_.reviewer_a.username} and {round_.reviewer_b.username}.",
            )
            return redirect("screening:calibration", slug=review.slug, stage=stage)
    return calibration_page(request, slug, stage, form=form, status=400)


@require_POST
def calibration_close(request, slug, stage, round_id):
    review = review_for_user(request.user, slug, need="manage")
    stage = _stage(stage)
    round_ = get_object_or_404(review.calibration_rounds, pk=round_id, stage=stage)
    try:
        calibration.calibration_close(round=round_, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Calibration round closed: screening is open to everyone.")
    return redirect("screening:calibration", slug=review.slug, stage=stage)
