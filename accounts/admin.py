from django.contrib import admin

from accounts.forms import AdminLoginForm
from accounts.models import ApiToken, Invitation, LoginFailure, PasswordResetRequest
from screening.admin import ReadOnlyAdmin

# The admin's own login page counts failures and honours lockouts like /accounts/login/.
admin.site.login_form = AdminLoginForm


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Invitations are made, revoked and accepted on the review's Team tab only."""

    list_display = [
        "email",
        "review",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_by",
        "revoked_at",
    ]
    list_filter = ["role"]
    search_fields = ["email", "review__title"]
    exclude = ["token_hash"]


@admin.register(LoginFailure)
class LoginFailureAdmin(ReadOnlyAdmin):
    """Recent failed logins (the lockout window's worth); deleting rows lifts a lock."""

    list_display = ["username", "address", "at"]
    search_fields = ["username", "address"]

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(PasswordResetRequest)
class PasswordResetRequestAdmin(ReadOnlyAdmin):
    """Recent password-reset requests (the reset window's worth); deleting rows lifts a limit."""

    list_display = ["email", "address", "at"]
    search_fields = ["email", "address"]

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Users' API tokens (made on their own tokens page): seen here, and revoked by an
    administrator if one leaks. The secret is not stored, so it cannot be shown."""

    list_display = ["name", "user", "prefix", "scope", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["scope"]
    search_fields = ["name", "prefix", "user__username"]
    exclude = ["secret_hash"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            token.revoke()
