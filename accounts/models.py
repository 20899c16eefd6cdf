"""Invitations (a lead asks someone, by e-mail, to join a review's team with a role), login
throttling records and personal API tokens."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from review.models import Review, Role


def token_hash(token: str) -> str:
    """What is stored of an invitation's or API token's secret: its SHA-256, so the table gives
    no link or token away."""
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationState(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class Invitation(models.Model):
    """Single use (accepted once), revocable, and valid until `expires_at`."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField("e-mail")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.REVIEWER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="accepted_invitations",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="invitation_role_valid"),
            # One open invitation per address and review: inviting again replaces it.
            models.UniqueConstraint(
                Lower("email"),
                "review",
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.role}) to {self.review}"

    def state(self, now=None) -> InvitationState:
        if self.accepted_at:
            return InvitationState.ACCEPTED
        if self.revoked_at:
            return InvitationState.REVOKED
        if self.expires_at <= (now or timezone.now()):
            return InvitationState.EXPIRED
        return InvitationState.PENDING

    @property
    def is_expired(self) -> bool:
        return self.state() == InvitationState.EXPIRED


class LoginFailure(models.Model):
    """One failed login: the username tried (case-folded, whether or not it exists) and the
    client address. Rows older than the lockout window are pruned (accounts.login_throttle)."""

    username = models.CharField(max_length=150, db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.username} from {self.address} at {self.at:%Y-%m-%d %H:%M:%S}"


class PasswordResetRequest(models.Model):
    """One password-reset request that was let through: the e-mail asked for (case-folded,
    whether or not an account has it) and the client address. Rows older than the window are
    pruned (accounts.login_throttle)."""

    email = models.CharField(max_length=254, db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.email} from {self.address} at {self.at:%Y-%m-%d %H:%M:%S}"


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    READ_WRITE = "read-write", "Read and write"


class ApiToken(models.Model):
    """A personal API token. Only the SHA-256 of its secret is stored; the secret is shown
    once, when the token is created. `prefix` (the secret's first characters) tells tokens
    apart on the page. A revoked token stays listed, and answers 401."""

    PREFIX = "pwb_"
    PREFIX_LENGTH = len(PREFIX) + 8
    # last_used_at is written at most this often, so a busy token costs no write per request.
    TOUCH_EVERY = timedelta(minutes=1)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=10, choices=TokenScope.choices, default=TokenScope.READ)
    prefix = models.CharField(max_length=16, editable=False)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=TokenScope.values), name="api_token_scope_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"

    @classmethod
    def issue(cls, *, user, name: str, scope: str) -> tuple["ApiToken", str]:
        """Create a token; returns it with its secret, which is not stored anywhere."""
        secret = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls(
            user=user,
            name=name,
            scope=scope,
            prefix=secret[: cls.PREFIX_LENGTH],
            secret_hash=token_hash(secret),
        )
        token.full_clean()
        token.save()
        return token, secret

    @classmethod
    def for_secret(cls, secret: str) -> "ApiToken | None":
        """The live (not revoked) token a secret belongs to, with its user; None if none."""
        return (
            cls.objects.select_related("user")
            .filter(secret_hash=token_hash(secret), revoked_at__isnull=True)
            .first()
        )

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.READ_WRITE

    def touch(self, now=None) -> None:
        """Record a use, unless one was recorded less than TOUCH_EVERY ago."""
        now = now or timezone.now()
        if self.last_used_at and now - self.last_used_at < self.TOUCH_EVERY:
            return
        self.last_used_at = now
        ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
