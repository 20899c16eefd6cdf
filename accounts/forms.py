import logging

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordResetForm,
    SetPasswordForm,
    UserCreationForm,
)
from django.core.exceptions import ValidationError

from accounts import login_throttle
from accounts.models import TokenScope
from review.models import Role

logger = logging.getLogger(__name__)


class InvitationForm(forms.Form):
    email = forms.EmailField(label="E-mail", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.REVIEWER)


class AccountForm(UserCreationForm):
    """Username, e-mail and the password twice (first run and open sign-up)."""

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        self.fields["email"].help_text = "For resetting a forgotten password."


class InvitedAccountForm(UserCreationForm):
    """An invitee's new account: the e-mail is the invitation's. Pass
    `instance=User(email=invitation.email)` so the password validators see it."""

    full_name = forms.CharField(label="Full name (optional)", max_length=300, required=False)
    field_order = ["username", "full_name", "password1", "password2"]

    class Meta(UserCreationForm.Meta):
        fields = ("username",)


class ThrottledLoginMixin:
    """Refuse any password while the account or the address is locked; count each failure.

    The lock is checked before the password, so the right password during a lockout is
    refused like a wrong one (see accounts.login_throttle).
    """

    def clean(self):
        username = self.cleaned_data.get("username")
        address = login_throttle.client_address(self.request)
        if username is not None:
            lock = login_throttle.lockout(username=username, address=address)
            if lock is not None:
                raise ValidationError(lock.message, code="locked")
        try:
            cleaned_data = super().clean()
        except ValidationError as error:
            if username is not None and error.code == "invalid_login":
                login_throttle.failure_record(username=username, address=address)
            raise
        if self.user_cache is not None:
            login_throttle.failures_clear(username=username)
        return cleaned_data


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password didn't match. Please try again.",
    }


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


class ResetPasswordForm(SetPasswordForm):
    """Setting a new password from a reset link also lifts the account's login lock."""

    def save(self, commit=True):
        user = super().save(commit=commit)
        login_throttle.failures_clear(username=user.get_username())
        return user


class ThrottledPasswordResetForm(PasswordResetForm):
    """At most PASSWORD_RESET_LIMIT mails per e-mail address and PASSWORD_RESET_LIMIT_ADDRESS
    requests per client address within the window (accounts.login_throttle). A refused request
    sends nothing; the view answers it with the same "check your e-mail" page as any other."""

    def save(self, *args, request=None, **kwargs):
        email = self.cleaned_data["email"]
        address = login_throttle.client_address(request)
        lock = login_throttle.reset_lockout(email=email, address=address)
        if lock is not None:
            logger.warning(
                "Password reset not sent: too many requests for this %s (%s, from %s)",
                "e-mail" if lock.scope == "account" else "address",
                login_throttle.email_key(email),
                address,
            )
            return
        login_throttle.reset_record(email=email, address=address)
        super().save(*args, request=request, **kwargs)


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. “monthly search upload”."
    )
    scope = forms.ChoiceField(
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        help_text="A read-only token can fetch data but change nothing.",
    )
