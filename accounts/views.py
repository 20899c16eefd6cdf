"""Pages anyone may open without an account (an invitation's link, the first run, sign-up) and
the signed-in user's own API tokens."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts import selectors, services
from accounts.forms import AccountForm, ApiTokenForm, InvitedAccountForm
from accounts.models import ApiToken, InvitationState

BACKEND = "django.contrib.auth.backends.ModelBackend"


@login_not_required
@require_http_methods(["GET", "POST"])
def invitation(request, token):
    """Accept an invitation: a new person creates their account, a logged-in user joins."""
    invitation = selectors.invitation_for_token(token)
    if invitation is None:
        return render(request, "accounts/invitation_closed.html", {"invitation": None}, status=404)
    if invitation.state() != InvitationState.PENDING:
        return _closed(request, invitation)
    if request.user.is_authenticated:
        return _join(request, invitation)
    User = get_user_model()
    form = InvitedAccountForm(request.POST or None, instance=User(email=invitation.email))
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept_as_new_user(
                invitation=invitation,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"],
            )
        except services.InvitationClosed as closed:
            return _closed(request, closed.invitation)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            login(request, user, backend=BACKEND)
            return _welcome(request, invitation)
    context = {"invitation": invitation, "form": form}
    return render(request, "accounts/invitation.html", context, status=400 if form.errors else 200)


def _join(request, invitation):
    error = ""
    if request.method == "POST":
        try:
            services.invitation_accept(invitation=invitation, user=request.user)
        except services.InvitationClosed as closed:
            return _closed(request, closed.invitation)
        except ValidationError as e:
            error = " ".join(e.messages)
        else:
            return _welcome(request, invitation)
    other_email = invitation.email.casefold() != request.user.email.casefold()
    context = {"invitation": invitation, "join_error": error, "other_email": other_email}
    return render(request, "accounts/invitation.html", context, status=400 if error else 200)


def _welcome(request, invitation):
    messages.success(
        request, f"Welcome to the team of “{invitation.review.title}” ({invitation.role})."
    )
    return redirect("review:dashboard", slug=invitation.review.slug)


def _closed(request, invitation):
    return render(
        request,
        "accounts/invitation_closed.html",
        {"invitation": invitation, "state": invitation.state()},
        status=410,
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def setup(request):
    """First run: create the first account, a superuser. 404 once any account exists."""
    if not selectors.first_run():
        raise Http404("The first account exists already.")
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.superuser_create_first(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except services.FirstRunOver:
            raise Http404("The first account exists already.") from None
        login(request, user, backend=BACKEND)
        messages.success(
            request, f"Welcome, {user.username}. Start a review, then invite your team."
        )
        return redirect("review:list")
    return render(
        request, "accounts/setup.html", {"form": form}, status=400 if form.errors else 200
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request):
    """Open sign-up, only when ALLOW_SIGNUP is on."""
    if not settings.ALLOW_SIGNUP:
        raise Http404("Sign-up is off: ask a review's lead for an invitation.")
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            login(request, user, backend=BACKEND)
            messages.success(request, f"Welcome, {user.username}.")
            return redirect("review:list")
    return render(
        request, "accounts/signup.html", {"form": form}, status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
def tokens(request):
    """The user's API tokens: create one (its secret is shown on this response only), see each
    one's prefix, scope, creation and last use, revoke."""
    form = ApiTokenForm(request.POST or None)
    secret = ""
    if request.method == "POST" and form.is_valid():
        _, secret = ApiToken.issue(user=request.user, **form.cleaned_data)
        form = ApiTokenForm()
    context = {
        "form": form,
        "secret": secret,
        "tokens": ApiToken.objects.filter(user=request.user),
    }
    return render(request, "accounts/tokens.html", context, status=400 if form.errors else 200)


@require_http_methods(["POST"])
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token.revoke()
    messages.success(request, f"Token “{token.name}” ({token.prefix}…) revoked.")
    return redirect("accounts:tokens")
