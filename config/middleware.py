"""Refuse a request whose query string or form holds a NUL character, before any view.

No form of the app takes NUL, and PostgreSQL refuses it in text ("A string literal cannot contain
NUL (0x00) characters"): a search box or a filter value with NUL reached a query and gave 500.
One check here keeps every present and future view safe; the answer is Django's 400 page.
"""

import logging

from django.core.exceptions import BadRequest
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string

from review.db import drop_connection

logger = logging.getLogger(__name__)

NUL = "\x00"


def has_nul(querydict) -> bool:
    """True when a key or any value of a QueryDict contains NUL."""
    return any(NUL in key or any(NUL in v for v in values) for key, values in querydict.lists())


class RefuseNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if NUL in request.path_info or has_nul(request.GET):
            raise BadRequest("A NUL character in the address.")
        if request.method == "POST" and has_nul(request.POST):
            raise BadRequest("A NUL character in the form.")
        return self.get_response(request)


DATABASE_DOWN = (
    "The database could not be reached, so what you just did may not have been saved. "
    "Reload the page in a moment to see where things stand."
)


class DatabaseUnavailableMiddleware:
    """A view that meets an unreachable database (a dropped connection, a restarting server)
    answers 503 with a page that says what may not have been saved, never a bare 500.

    The page is rendered without the database (no session, no user); htmx requests get the
    message in `X-Error-Message` as well, which static/js/errors.js shows in a banner. The
    connection is closed so the next request opens a new one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning("Database unreachable during %s %s: %s", request.method,
                       request.path, exception)  # fmt: skip
        drop_connection()
        html = render_to_string("db_unavailable.html", {"message": DATABASE_DOWN})
        response = HttpResponse(html, status=503)
        response["Retry-After"] = "5"
        response["X-Error-Message"] = DATABASE_DOWN
        return response
