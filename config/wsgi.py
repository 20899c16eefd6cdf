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

# Import the URL configuration, and with it every view and scikit-learn, scipy and matplotlib
# (seconds of CPU), now rather than in each web worker's first request: four cold workers doing
# it at once on a busy 2-core machine overran gunicorn's 30 s timeout, and the first requests
# answered 500. With `gunicorn --preload` it happens once, in the master, before the fork.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018
