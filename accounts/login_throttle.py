"""Login throttling: too many failed logins lock an account name, or a client address, for a while.

Failures live in the database (LoginFailure), so every web worker sees the same counts. An
account is locked once it has LOGIN_FAILURE_LIMIT failures within the last LOGIN_LOCKOUT_MINUTES,
an address once it has LOGIN_FAILURE_LIMIT_ADDRESS; while locked, no password is even checked.
Names that match no account count the same way (the message never tells whether one exists).
A successful login, or a password reset, clears the account's failures.

The address is REMOTE_ADDR: behind a reverse proxy, the proxy must pass the client's address
there (X-Forwarded-For is never read, anyone can send it).
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import LoginFailure


@dataclass(frozen=True)
class Lockout:
    scope: str  # "account" or "address"
    minutes: int  # until the lock lifts, rounded up

    @property
    def message(self) -> str:
        unit = "minute" if self.minutes == 1 else "minutes"
        if self.scope == "account":
            return (
                f"Too many failed logins for this account: try again in {self.minutes} {unit}, "
                "or reset your password."
            )
        return f"Too many failed logins from your address: try again in {self.minutes} {unit}."


def account_key(username: str) -> str:
    return (username or "").strip().casefold()[:150]


def client_address(request) -> str | None:
    """REMOTE_ADDR only (see the module's docstring)."""
    return (request.META.get("REMOTE_ADDR") or None) if request is not None else None


def _window() -> timedelta:
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def _lock(failures, limit: int, scope: str, now) -> Lockout | None:
    """Locked while `limit` failures fall within the window: until the limit-th newest leaves it."""
    if limit <= 0:
        return None
    times = list(failures.filter(at__gt=now - _window()).values_list("at", flat=True)[:limit])
    if len(times) < limit:
        return None
    seconds = (times[-1] + _window() - now).total_seconds()
    return Lockout(scope, max(1, math.ceil(seconds / 60)))


def lockout(*, username: str, address: str | None) -> Lockout | None:
    """The lock on this account name or address now, if any (the account's first)."""
    now = timezone.now()
    account = LoginFailure.objects.filter(username=account_key(username)).order_by("-at")
    lock = _lock(account, settings.LOGIN_FAILURE_LIMIT, "account", now)
    if lock is None and address:
        by_address = LoginFailure.objects.filter(address=address).order_by("-at")
        lock = _lock(by_address, settings.LOGIN_FAILURE_LIMIT_ADDRESS, "address", now)
    return lock


def failure_record(*, username: str, address: str | None) -> None:
    """Count one failed login, and prune failures too old to matter."""
    now = timezone.now()
    LoginFailure.objects.filter(at__lte=now - _window()).delete()
    LoginFailure.objects.create(username=account_key(username), address=address, at=now)


def failures_clear(*, username: str) -> None:
    """A successful login or a password reset: the account's count starts again."""
    LoginFailure.objects.filter(username=account_key(username)).delete()
