"""HTML pages of the identification side. Each view: authorise, parse, call one service, render."""

import copy

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services as accounts_services
from accounts.forms import InvitationForm
from accounts.selectors import invitations_open
from review import selectors, services
from review.access import abilities, review_for_user
from review.forms import MemberAddForm, MemberRoleForm, ReviewForm, SourceForm
from screening.agreement_selectors import agreement_by_pair
from screening.models import Stage
from screening.prisma import prisma_counts, studies_without_records, studies_without_records_note
from screening.record_selectors import pending_lines, prisma_boxes


def review_list(request):
    reviews = selectors.reviews_for_user(request.user)
    return render(request, "review/list.html", {"reviews": reviews})


@require_http_methods(["GET", "POST"])
def review_create(request):
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        review = services.review_create(lead=request.user, **form.cleaned_data)
        messages.success(request, f"Review “{review.title}” created. Add its sources next.")
        return redirect("review:dashboard", slug=review.slug)
    return render(request, "review/review_form.html", {"form": form, "creating": True})


def review_dashboard(request, slug):
    review = review_for_user(request.user, slug)
    can = abilities(request.user, review)
    counts = prisma_counts(review)
    # Agreement of a stage that is blind for this member would reveal the others' votes.
    agreement = [
        (Stage(stage).label, agreement_by_pair(review, stage))
        for stage in Stage.values
        if can.results.whole_stage(stage)
    ]
    context = {
        "review": review,
        "can": can,
        "counts": counts,
        "boxes": prisma_boxes(counts, can.results),
        "rules": counts.rules() if can.results.everything else [],
        "failing": counts.check() if can.results.everything else [],
        "pending": pending_lines(counts, can.results),
        "unrecorded": studies_without_records_note(studies_without_records(review)),
        "sources": selectors.source_counts(review),
        "agreement": agreement,
        "has_agreement": any(pairs for _label, pairs in agreement),
        "imports": review.imports.select_related("source", "uploaded_by").order_by("-created_at"),
    }
    return render(request, "review/dashboard.html", context)


@require_http_methods(["GET", "POST"])
def review_settings(request, slug):
    review = review_for_user(request.user, slug, need="manage")
    # The form validates a copy: a ModelForm writes cleaned values onto its instance, and the
    # page header must keep showing the saved review when the form has errors.
    form = ReviewForm(request.POST or None, instance=copy.copy(review))
    if request.method == "POST" and form.is_valid():
        services.review_update(review=review, user=request.user, **form.cleaned_data)
        messages.success(request, "Settings saved.")
        return redirect("review:dashboard", slug=review.slug)
    context = {"form": form, "review": review, "can": abilities(request.user, review)}
    return render(request, "review/review_form.html", context)


@require_http_methods(["GET", "POST"])
def source_create(request, slug):
    review = review_for_user(request.user, slug, need="manage")
    form = SourceForm(request.POST or None, review=review)
    if request.method == "POST" and form.is_valid():
        try:
            source = services.source_create(review=review, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Source “{source.name}” added.")
            return redirect("review:dashboard", slug=review.slug)
    return render(request, "review/source_form.html", {"form": form, "review": review})


def team(request, slug):
    review = review_for_user(request.user, slug)
    return _render_team(request, review)


@require_POST
def member_add(request, slug):
    review = review_for_user(request.user, slug, need="manage")
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            membership = services.membership_add(review=review, **form.cleaned_data)
        except ValidationError as error:
            form.add_error("username", error)
        else:
            messages.success(request, f"{membership.user.username} joined as {membership.role}.")
            return redirect("review:team", slug=review.slug)
    return _render_team(request, review, form=form, status=400)


@require_POST
def invite(request, slug):
    """Invite someone by e-mail; the link is shown to the lead once, here, and never again."""
    review = review_for_user(request.user, slug, need="manage")
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            result = accounts_services.invitation_create(
                review=review,
                invited_by=request.user,
                link_for=lambda token: request.build_absolute_uri(
                    reverse("accounts:invitation", args=[token])
                ),
                **form.cleaned_data,
            )
        except ValidationError as error:
            form.add_error("email", error)
        else:
            email = result.invitation.email
            if result.sent:
                messages.success(
                    request,
                    f"Invitation sent to {email}. Its link, shown only this once, in case the "
                    f"e-mail goes astray: {result.link}",
                )
            else:
                messages.warning(
                    request,
                    f"The invitation to {email} is ready but the e-mail could not be sent "
                    f"({result.error}). Copy this link and send it yourself; it is shown only "
                    f"this once: {result.link}",
                )
            return redirect("review:team", slug=review.slug)
    return _render_team(request, review, invite_form=form, status=400)


@require_POST
def invitation_revoke(request, slug, invitation_id):
    review = review_for_user(request.user, slug, need="manage")
    invitation = get_object_or_404(review.invitations, pk=invitation_id)
    accounts_services.invitation_revoke(invitation=invitation)
    messages.success(request, f"Invitation to {invitation.email} revoked.")
    return redirect("review:team", slug=review.slug)


@require_POST
def member_role(request, slug, member_id):
    review = review_for_user(request.user, slug, need="manage")
    membership = get_object_or_404(review.memberships.select_related("user"), pk=member_id)
    form = MemberRoleForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.membership_set_role(membership=membership, role=form.cleaned_data["role"])
        except ValidationError as e:
            error = " ".join(e.messages)
            membership.refresh_from_db()
    else:
        error = "Choose lead, reviewer or viewer."
    if request.htmx:
        context = {
            "review": review,
            "m": membership,
            "can": abilities(request.user, review),
            "row_error": error,
            "roles": MemberRoleForm.base_fields["role"].choices,
        }
        # htmx swaps only 2xx responses, so the row comes back with its error shown in it.
        return render(request, "review/team.html#member-row", context)
    if error:
        messages.error(request, error)
    return redirect("review:team", slug=review.slug)


@require_POST
def member_resolver(request, slug, member_id):
    """Choose (or stop choosing) a reviewer to resolve conflicts: a checkbox, htmx on change."""
    review = review_for_user(request.user, slug, need="manage")
    membership = get_object_or_404(review.memberships.select_related("user"), pk=member_id)
    error = None
    try:
        services.membership_set_resolver(
            membership=membership, can_resolve=request.POST.get("can_resolve") == "on"
        )
    except ValidationError as e:
        error = " ".join(e.messages)
        membership.refresh_from_db()
    if request.htmx:
        context = {
            "review": review,
            "m": membership,
            "can": abilities(request.user, review),
            "row_error": error,
            "roles": MemberRoleForm.base_fields["role"].choices,
        }
        return render(request, "review/team.html#member-row", context)
    if error:
        messages.error(request, error)
    return redirect("review:team", slug=review.slug)


@require_POST
def member_remove(request, slug, member_id):
    review = review_for_user(request.user, slug, need="manage")
    membership = get_object_or_404(review.memberships.select_related("user"), pk=member_id)
    try:
        services.membership_remove(membership=membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{membership.user.username} left the team.")
    return redirect("review:team", slug=review.slug)


def _render_team(request, review, form=None, invite_form=None, status=200):
    can = abilities(request.user, review)
    context = {
        "review": review,
        "can": can,
        "members": review.memberships.select_related("user").order_by("user__username"),
        "form": form or MemberAddForm(),
        "invite_form": invite_form or InvitationForm(),
        "invitations": invitations_open(review) if can.can_manage else [],
        "invitation_days": settings.INVITATION_DAYS,
        "roles": MemberRoleForm.base_fields["role"].choices,
    }
    return render(request, "review/team.html", context, status=status)
