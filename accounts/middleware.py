from django.conf import settings
from django.shortcuts import redirect, resolve_url
from django.urls import reverse

from accounts.selectors import first_run


class FirstRunMiddleware:
    """While no account exists at all, the home and login pages lead to /setup/."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.path in (reverse("review:list"), resolve_url(settings.LOGIN_URL))
            and not request.user.is_authenticated
            and first_run()
        ):
            return redirect("accounts:setup")
        return self.get_response(request)
