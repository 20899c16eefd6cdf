"""ASGI entry point (not needed for production; `gunicorn config.wsgi` serves the app)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

try:
    settings.SECRET_KEY  # noqa: B018  (Django refuses an empty key when it is read)
except ImproperlyConfigured:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set in the environment when DEBUG is off."
    ) from None

application = get_asgi_application()
