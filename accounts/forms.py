from django import forms
from django.contrib.auth.forms import UserCreationForm

from review.models import Role


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
