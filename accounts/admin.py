from django.contrib import admin

from accounts.models import Invitation
from screening.admin import ReadOnlyAdmin


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
