"""The API's Swagger UI page (/api/docs/), under the site's Content-Security-Policy."""

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script loaded from this view (`?script`), not inline, and
    without drf-spectacular's <style> element; its files come from drf-spectacular-sidecar."""

    template_name = "api/swagger_ui.html"
