"""The OpenAPI schema's shared parts: the error responses every operation may give, and the
Swagger UI page (/api/docs/) that works under the site's Content-Security-Policy.

Errors have DRF's shapes: 400 maps each field (or query parameter) to its messages; 401 (no
credentials, a bad token), 403 (not allowed), 429 (throttled) and 404 (nothing there, or a
review you are not a member of) carry one `detail` message (so does a list's page number past
the last page, a bad cursor, and an address under /api/ that matches no route:
`config.api_docs.not_found`). The Swagger UI page is `config.api_docs.ApiDocsView`.
"""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Each field or query parameter in error, with its messages.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}


def _error(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema plus the error responses of each operation."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors = {
            "401": _error("No credentials, or a token that is unknown or revoked.", DETAIL),
            "403": _error("Not allowed (a role, or a read-only token writing).", DETAIL),
            "429": _error("Too many requests: wait the Retry-After seconds.", DETAIL),
        }
        if "{" in self.path or self._is_list_view():
            errors["404"] = _error(
                "Not found, not yours to see, or a page or cursor past the end.", DETAIL
            )
        errors["400"] = _error(
            "A query parameter is wrong (its messages), or the address is refused (a NUL).",
            {"anyOf": [FIELD_ERRORS, DETAIL]},
        )
        return {**responses, **{code: r for code, r in errors.items() if code not in responses}}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Personal API tokens in the schema: `Authorization: Bearer pwb_…` (docs/api.md)."""

    target_class = "accounts.api_auth.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (docs/api.md, Authentication).",
        }
