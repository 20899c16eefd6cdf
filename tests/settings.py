"""Settings for the test suite: the production settings module, read with a test secret key.

Only what tests need differs: a fast password hasher, static files without a manifest, and
the database from DATABASE_URL exactly as in production (SQLite unless it points elsewhere).
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)

from config.settings import *  # noqa: F403
from config.settings import STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = BASE_DIR / "media-test"  # noqa: F405
SECURE_SSL_REDIRECT = False  # the test client and live server speak plain HTTP
WHITENOISE_USE_FINDERS = True  # serve static files without collectstatic, as in development
WHITENOISE_AUTOREFRESH = True
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
