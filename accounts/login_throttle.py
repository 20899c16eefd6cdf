"""Login throttling: too many failed logins lock an account name, or a client address, for a while.

Failures live in the database (LoginFailure), so every web worker sees the same counts. An
account is locked once it has LOGIN_FAILURE_LIMIT failures within the last LOGIN_LOCKOUT_MINUTES,
an address once it has LOGIN_FAILURE_LIMIT_ADDRESS; while locked, no password is even checked.
Names that match no account count the same way (the message never tells whether one exists).
A successful login, or a password reset, clears the account's failures.

The password-reset form is throttled the same way (reset_lockout, reset_record): at most
PASSWORD_RESET_LIMIT requests per e-mail address and PASSWORD_RESET_LIMIT_ADDRESS per client
address within PASSWORD_RESET_WINDOW_MINUTES send a mail; beyond them nothing is sent, and the
asker sees the same "check your e-mail" page as always, so the page still tells nobody whether an
account has that address. Every request let through counts, for an unknown address too.

The address is REMOTE_ADDR, unless that is one of TRUSTED_PROXIES (a reverse proxy such as
nginx in front of gunicorn, which sees every request come from the proxy): then it is the
nearest address in X-Forwarded-For, read from the right, that is not itself a trusted proxy.
Entries to its left were sent by the client and are never read (anyone can send the header).
Without TRUSTED_PROXIES X-Forwarded-For is never read.
"""

import ipaddress
import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import LoginFailure, PasswordResetRequest


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


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address, proxies) -> bool:
    return address is not None and any(address in network for network in proxies)


def _proxies() -> list:
    networks = []
    for entry in settings.TRUSTED_PROXIES:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            continue  # config.settings refuses a bad entry at start-up
    return networks


def client_address(request) -> str | None:
    """REMOTE_ADDR, or behind a trusted proxy the client it forwarded for (module docstring)."""
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = _proxies() if settings.TRUSTED_PROXIES else []
    if remote is None or not _trusted(_ip(remote), proxies):
        return remote
    for entry in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _ip(entry)
        if address is None:
            return remote  # a malformed chain: count the proxy, never a made-up address
        if not _trusted(address, proxies):
            return str(address)
    return remote


def _window() -> timedelta:
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def _lock(failures, limit: int, scope: str, now, window=None) -> Lockout | None:
    """Locked while `limit` failures fall within the window: until the limit-th newest leaves it."""
    if limit <= 0:
        return None
    window = window or _window()
    times = list(failures.filter(at__gt=now - window).values_list("at", flat=True)[:limit])
    if len(times) < limit:
        return None
    seconds = (times[-1] + window - now).total_seconds()
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


# Password-reset requests ----------------------------------------------------------------------


def email_key(email: str) -> str:
    return (email or "").strip().casefold()[:254]


def _reset_window() -> timedelta:
    return timedelta(minutes=settings.PASSWORD_RESET_WINDOW_MINUTES)


def reset_lockout(*, email: str, address: str | None) -> Lockout | None:
    """The limit this reset request runs into, if any (the e-mail's first, then the address's)."""
    now, window = timezone.now(), _reset_window()
    asked = PasswordResetRequest.objects.filter(email=email_key(email)).order_by("-at")
    lock = _lock(asked, settings.PASSWORD_RESET_LIMIT, "account", now, window)
    if lock is None and address:
        by_address = PasswordResetRequest.objects.filter(address=address).order_by("-at")
        lock = _lock(by_address, settings.PASSWORD_RESET_LIMIT_ADDRESS, "address", now, window)
    return lock


def reset_record(*, email: str, address: str | None) -> None:
    """Count one reset request let through, and prune requests too old to matter."""
    now = timezone.now()
    PasswordResetRequest.objects.filter(at__lte=now - _reset_window()).delete()
    PasswordResetRequest.objects.create(email=email_key(email), address=address, at=now)
