"""Refuse a request whose query string or form holds a NUL character, before any view.

No form of the app takes NUL, and PostgreSQL refuses it in text ("A string literal cannot contain
NUL (0x00) characters"): a search box or a filter value with NUL reached a query and gave 500.
One check here keeps every present and future view safe; the answer is Django's 400 page.
"""

from django.core.exceptions import BadRequest

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
