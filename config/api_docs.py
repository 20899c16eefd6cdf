"""The API's Swagger UI page (/api/docs/), under the site's Content-Security-Policy."""

from django.http import JsonResponse
from django.views.defaults import bad_request, page_not_found
from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script loaded from this view (`?script`), not inline, and
    without drf-spectacular's <style> element; its files come from drf-spectacular-sidecar."""

    template_name = "api/swagger_ui.html"


def not_found(request, exception):
    """The site's 404 handler: JSON `{"detail": …}` under /api/ (as the API's own 404s), the
    HTML page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def refused(request, exception):
    """The site's 400 handler (a NUL character in the address, `config.middleware`): JSON
    `{"detail": …}` under /api/, as the schema says, the HTML page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return bad_request(request, exception)
