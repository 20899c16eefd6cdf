"""WSGI entry point: `gunicorn config.wsgi` is the production server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

try:
    settings.SECRET_KEY  # noqa: B018  (Django refuses an empty key when it is read)
except ImproperlyConfigured:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set in the environment when DEBUG is off."
    ) from None

application = get_wsgi_application()
