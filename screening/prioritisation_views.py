"""The prioritisation page: the ranked queue's state, the recall curve, the stopping test, and
the lead's controls (settings, retrain now, start the random sample, stop screening)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from review.access import abilities, review_for_user
from screening import prioritisation

WIDTH, HEIGHT, PAD = 560, 220, 36


def _plot(status) -> dict:
    """Polyline points of the recall curve (relevant found against records screened) in an SVG
    box, with the axes' maxima."""
    x_max = max(status.n_records, 1)
    y_max = max(status.relevant, 1)
    sx, sy = (WIDTH - 2 * PAD) / x_max, (HEIGHT - 2 * PAD) / y_max
    points = " ".join(f"{PAD + sx * x:.1f},{HEIGHT - PAD - sy * y:.1f}" for x, y in status.curve)
    return {"points": points, "x_max": x_max, "y_max": y_max, "width": WIDTH,
            "height": HEIGHT, "pad": PAD, "right": WIDTH - PAD, "bottom": HEIGHT - PAD}  # fmt: skip


def page(request, slug):
    review = review_for_user(request.user, slug)
    can = abilities(request.user, review)
    settings = prioritisation.prioritisation_for(review)
    personal = None
    if prioritisation.personal_mode(review):
        personal = prioritisation.personal_ranking_status(review, request.user)
    context = {
        "review": review,
        "can": can,
        "settings": settings,
        "personal": personal,
        "personal_mode": prioritisation.personal_mode(review),
        "recall_percent": round(settings.recall_target * 100, 1),
        "confidence_percent": round(settings.confidence * 100, 1),
    }
    if can.results.title_abstract:
        # The stopping panel counts settled results: blind reviewers do not see it.
        status = prioritisation.stopping_status(review)
        context.update(status=status, plot=_plot(status))
    return render(request, "screening/prioritisation.html", context)


def _percent(value: str, default: float) -> float:
    try:
        return float(value) / 100
    except (TypeError, ValueError):
        return default


@require_POST
def update(request, slug):
    review = review_for_user(request.user, slug, need="manage")
    try:
        prioritisation.prioritisation_update(
            review=review,
            enabled=request.POST.get("enabled") == "on",
            show_scores=request.POST.get("show_scores") == "on",
            recall_target=_percent(request.POST.get("recall_target"), -1),
            confidence=_percent(request.POST.get("confidence"), -1),
        )
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, "Prioritisation settings saved.")
    return redirect("screening:prioritisation", slug=review.slug)


@require_POST
def retrain(request, slug):
    review = review_for_user(request.user, slug, need="manage")
    try:
        settings = prioritisation.ranking_train(review)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        how = "a model" if settings.trained else "random order (no include and exclude yet)"
        messages.success(
            request, f"Ranked by {how}, from {settings.labels_at_training} labelled records."
        )
    return redirect("screening:prioritisation", slug=review.slug)


@require_POST
def sample(request, slug):
    review = review_for_user(request.user, slug, need="manage")
    try:
        n = prioritisation.sampling_start(review=review, user=request.user)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, f"The queue now serves the {n:,} records left in random order.")
    return redirect("screening:prioritisation", slug=review.slug)


@require_POST
def stop(request, slug):
    review = review_for_user(request.user, slug, need="manage")
    try:
        n = prioritisation.stopping_apply(review=review, user=request.user)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, f"Screening stopped: {n:,} records excluded by automation.")
    return redirect("screening:prioritisation", slug=review.slug)
