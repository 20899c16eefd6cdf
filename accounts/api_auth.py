"""How the API knows who asks: a personal token (accounts.models.ApiToken) or the session.

    Authorization: Bearer pwb_…      (or: Authorization: Token pwb_…)

An unknown or revoked token, or the token of an inactive user, is a 401. A read-only token
may only use safe methods (GET, HEAD, OPTIONS): anything else is a 403. Which review a user
may see or change is not decided here: every endpoint loads its review through
review.access.review_for_user on every request, so a removed member's token stops working
for that review at once. Requests are throttled per token (or per user on a session).
"""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiToken

KEYWORDS = (b"bearer", b"token")


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None  # no token: the session may still authenticate
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Authorization header: give exactly one token after 'Bearer' or 'Token'."
            )
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        token = ApiToken.for_secret(secret)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token's account is inactive.")
        token.touch()
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class TokenScopeAllows(BasePermission):
    """A read-only token reads; writing needs a read-write token (or the session)."""

    message = "This token is read-only: create a read-write token to change anything."

    def has_permission(self, request, view):
        token = request.auth
        if isinstance(token, ApiToken) and not token.can_write:
            return request.method in SAFE_METHODS
        return True


class ApiRateThrottle(SimpleRateThrottle):
    """Requests per token ("api_token" rate) or, on a session, per user ("api_user").

    The rates are read from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] at each request, so a
    test (or an operator) changing the settings changes them. Anonymous requests never get
    here: the API's permission refuses them first (401).
    """

    def __init__(self):
        pass  # the scope, and with it the rate, depends on the request

    def allow_request(self, request, view):
        if isinstance(request.auth, ApiToken):
            self.scope, self.ident = "api_token", request.auth.pk
        elif request.user and request.user.is_authenticated:
            self.scope, self.ident = "api_user", request.user.pk
        else:
            return True
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.ident}
