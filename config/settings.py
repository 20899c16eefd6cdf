"""Settings for Prisma Workbench, read from the environment (12-factor).

Every value has a default that makes `make run` work on a laptop with nothing configured:
SQLite in the project folder, DEBUG only when asked for. Production sets at least
SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL; `manage.py check --deploy` then passes cleanly.

Environment variables (all optional unless DEBUG is off):
    DEBUG                 "true" turns on debug mode (default false).
    SECRET_KEY            required when DEBUG is off.
    ALLOWED_HOSTS         comma-separated host names (default: localhost names when DEBUG is on).
    CSRF_TRUSTED_ORIGINS  comma-separated origins, e.g. https://workbench.example.org.
    DATABASE_URL          e.g. postgres://user@host:5432/name (default: sqlite:///<project>/db.sqlite3).
    IMPORT_MAX_UPLOAD_MB  the largest search export a user may upload, in MB (default 200).
    IMPORT_BACKGROUND_MB  exports larger than this are imported by the worker (default 2).
    FULLTEXT_MAX_UPLOAD_MB  the largest full-text PDF a user may upload, in MB (default 50).
    FULLTEXT_BULK_MAX_MB  the most a lead may upload at once as PDFs or a ZIP (uncompressed),
                          in MB (default 500).
    EXTRACTION_SHEET_MAX_MB, EXTRACTION_SHEET_MAX_ROWS  the filled-in extraction sheet: its
                          size (default 10) and rows (default 5,000).
    UPLOAD_MAX_OTHER_MB   any other form's upload, in MB (default 10).
    UPLOAD_FORM_FIELDS_BYTES  room for a form's other fields beside its files (default 1 MB).
    SPREADSHEET_MAX_UNCOMPRESSED_MB, SPREADSHEET_MAX_RATIO, SPREADSHEET_MAX_MEMBERS,
    SPREADSHEET_MAX_ROWS, SPREADSHEET_MAX_COLUMNS  what an uploaded Excel workbook may hold
                          (defaults 100 MB, 100 times per part, 2,000 parts, 200,000 rows,
                          500 columns): checked on the zip directory before parsing.
    EXPORT_INLINE_MAX_RECORDS  Excel exports of larger reviews are built by the worker (20000).
    CONN_MAX_AGE          seconds a web worker keeps its database connection between requests
                          (default 60; 0 closes it after every request).
    EMAIL_URL             how e-mail is sent, e.g. smtp+tls://user:password@smtp.example.org:587;
                          or EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
                          EMAIL_USE_TLS, EMAIL_USE_SSL. Without either, DEBUG prints e-mails to
                          the console and production sends by SMTP to localhost:25.
    DEFAULT_FROM_EMAIL    the sender of invitations and password resets.
    INVITATION_DAYS       how long an invitation link stays valid, in days (default 14).
    ALLOW_SIGNUP          "true" lets anyone create an account at /accounts/signup/ (default
                          false: people join by invitation).
    LOGIN_FAILURE_LIMIT   failed logins per account name within the lockout window before it is
                          locked (default 10; 0 turns the account limit off).
    LOGIN_FAILURE_LIMIT_ADDRESS  failed logins per client address (REMOTE_ADDR: behind a
                          reverse proxy the proxy must set it) before it is locked (default 50).
    LOGIN_LOCKOUT_MINUTES  the window, and so the longest lock, in minutes (default 15).
    TRUSTED_PROXIES       comma-separated addresses or networks of the reverse proxies in front
                          of the app (e.g. 127.0.0.1 for nginx on the same machine): from them,
                          the client address the throttles count is read from X-Forwarded-For
                          (default none: REMOTE_ADDR only).
    PASSWORD_RESET_LIMIT  password-reset mails per e-mail address within the reset window
                          (default 3; 0 turns it off). Requests beyond it send nothing and get
                          the same page.
    PASSWORD_RESET_LIMIT_ADDRESS  password-reset requests per client address (REMOTE_ADDR)
                          within the window (default 20; 0 turns it off).
    PASSWORD_RESET_WINDOW_MINUTES  the password-reset window, in minutes (default 60).
    SCREENING_LEASE_MINUTES  how long a record served to a reviewer stays reserved for them while
                          they read it, in minutes (default 10).
    TASKS_BACKEND         django.tasks backend (default: the database backend of django-tasks-db).
    TASK_HEARTBEAT_SECONDS  how often a running import or ranking retrain shows it is alive
                          (default 10).
    IMPORT_STALE_SECONDS  a running import silent for longer lost its worker: it is queued again
                          (default 120) ...
    IMPORT_MAX_ATTEMPTS   ... until this many runs have started, then it fails (default 3).
    RANKING_STALE_SECONDS  a queued or running ranking retrain silent for longer may be queued
                          again by the next decision (default 120).
    DATA_UPLOAD_MAX_MEMORY_SIZE, FILE_UPLOAD_MAX_MEMORY_SIZE  Django's own request limits, in bytes.
    API_TOKEN_RATE, API_USER_RATE  API requests allowed per token / per signed-in user (session),
                          e.g. "1200/minute" (the default); past it the API answers 429.
    SECURE_SSL_REDIRECT, SECURE_HSTS_SECONDS, SECURE_PROXY_SSL_HEADER_HTTPS  HTTPS hardening
                          (on by default when DEBUG is off).
"""

import ipaddress
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105
# Without DEBUG a real key is required to serve pages (config/wsgi.py and asgi.py refuse to start
# without one); terminal commands that sign nothing (meta_analyze, dedupe_file) run without it.
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from this site (no CDN)
    "django_htmx",
    "django_tasks_db",
    "rules.apps.AutodiscoverRulesConfig",
    "review",
    "screening",
    "analysis",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header (SECURE_CSP below) on every response.
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # An upload past its view's limit is a 413 before its body is read (config.uploads); it
    # must come before anything that reads request.POST.
    "config.uploads.UploadLimitMiddleware",
    # A NUL character in the address or a form is a 400 (PostgreSQL refuses NUL in text).
    "config.middleware.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # While no account exists, the home and login pages lead to /setup/ (the first account).
    "accounts.middleware.FirstRunMiddleware",
    # Every page needs a login unless its view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A view that meets an unreachable database answers 503 saying what may not be saved.
    "config.middleware.DatabaseUnavailableMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# Database: SQLite by default, PostgreSQL (or anything Django supports) through DATABASE_URL.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Keep each web worker's database connection between requests (a reviewer's key press is one
# request: opening a PostgreSQL connection each time costs more than the request's queries),
# checked before reuse so a restarted database is reconnected.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several reviewers screening at once: wait for the write lock instead of failing, and
    # take it at the start of a transaction so that read-then-write transactions never deadlock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=20000;",
            "transaction_mode": "IMMEDIATE",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "review:list"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (accounts.login_throttle): this many failed logins within the window lock an
# account name, or a client address (REMOTE_ADDR), until the window has passed.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_FAILURE_LIMIT_ADDRESS = env.int("LOGIN_FAILURE_LIMIT_ADDRESS", default=50)
LOGIN_LOCKOUT_MINUTES = env.float("LOGIN_LOCKOUT_MINUTES", default=15.0)
# Reverse proxies whose X-Forwarded-For names the client (the throttles' address); a bad entry
# stops the start-up rather than silently trusting nothing.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy.strip(), strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or network."
        ) from None
# Password-reset throttling (same module): at most this many reset mails per e-mail address, and
# requests per client address, within the window; beyond them nothing is sent, same page.
PASSWORD_RESET_LIMIT = env.int("PASSWORD_RESET_LIMIT", default=3)
PASSWORD_RESET_LIMIT_ADDRESS = env.int("PASSWORD_RESET_LIMIT_ADDRESS", default=20)
PASSWORD_RESET_WINDOW_MINUTES = env.float("PASSWORD_RESET_WINDOW_MINUTES", default=60.0)

# Invitations to a review's team, and open sign-up (off: people join by invitation).
INVITATION_DAYS = env.int("INVITATION_DAYS", default=14)
ALLOW_SIGNUP = env.bool("ALLOW_SIGNUP", default=False)

# E-mail (invitations, password resets): SMTP from EMAIL_URL or EMAIL_HOST and friends; with
# neither, the console in development (`make run` shows the links in its log).
_SMTP = "django.core.mail.backends.smtp.EmailBackend"
if DEBUG and "EMAIL_URL" not in env and "EMAIL_HOST" not in env:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
else:
    _url = env.email_url("EMAIL_URL") if "EMAIL_URL" in env else {}
    MAILERS = {"default": {"BACKEND": _url.get("EMAIL_BACKEND", _SMTP)}}
    if MAILERS["default"]["BACKEND"] == _SMTP:
        MAILERS["default"]["OPTIONS"] = {
            "host": _url.get("EMAIL_HOST") or env.str("EMAIL_HOST", default="localhost"),
            "port": _url.get("EMAIL_PORT") or env.int("EMAIL_PORT", default=25),
            "username": _url.get("EMAIL_HOST_USER") or env.str("EMAIL_HOST_USER", default=""),
            "password": _url.get("EMAIL_HOST_PASSWORD")
            or env.str("EMAIL_HOST_PASSWORD", default=""),
            "use_tls": _url.get("EMAIL_USE_TLS") or env.bool("EMAIL_USE_TLS", default=False),
            "use_ssl": _url.get("EMAIL_USE_SSL") or env.bool("EMAIL_USE_SSL", default=False),
            # seconds: a mail server that does not answer never hangs a page for long
            "timeout": env.int("EMAIL_TIMEOUT", default=10),
        }
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Prisma Workbench <webmaster@localhost>")

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files: served by whitenoise from the app process; nothing comes from a CDN.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"

# Background work (large imports, de-duplication): django.tasks with the database backend; a
# worker runs beside the web server (`python manage.py db_worker`, started by `make run`).
TASKS = {
    "default": {"BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")}
}

# Excel exports of reviews with more records than this are built by the background worker.
EXPORT_INLINE_MAX_RECORDS = env.int("EXPORT_INLINE_MAX_RECORDS", default=20_000)

# A record served on a reviewer's screening card is reserved for them (one of its two places in
# dual mode, its one place in single mode) until they vote or skip, or for this long idle.
SCREENING_LEASE_MINUTES = env.float("SCREENING_LEASE_MINUTES", default=10.0)

# Upload limits. Search exports can be large; ordinary form posts stay small.
IMPORT_MAX_UPLOAD_MB = env.int("IMPORT_MAX_UPLOAD_MB", default=200)
IMPORT_MAX_UPLOAD_BYTES = IMPORT_MAX_UPLOAD_MB * 1024 * 1024
# Files larger than this are imported by the background worker, with a progress bar.
IMPORT_BACKGROUND_MB = env.float("IMPORT_BACKGROUND_MB", default=2.0)
IMPORT_BACKGROUND_BYTES = int(IMPORT_BACKGROUND_MB * 1024 * 1024)
# Background work that survives faults (review/worker.py, docs/operations.md): a running import
# or ranking retrain shows it is alive every TASK_HEARTBEAT_SECONDS; one silent for longer than
# its stale time lost its process (a killed worker, a web worker timed out) and is queued again,
# an import at most IMPORT_MAX_ATTEMPTS times before it fails with the reason.
TASK_HEARTBEAT_SECONDS = env.float("TASK_HEARTBEAT_SECONDS", default=10.0)
IMPORT_STALE_SECONDS = env.float("IMPORT_STALE_SECONDS", default=120.0)
IMPORT_MAX_ATTEMPTS = env.int("IMPORT_MAX_ATTEMPTS", default=3)
RANKING_STALE_SECONDS = env.float("RANKING_STALE_SECONDS", default=120.0)
# Full texts: each PDF, and a bulk upload of several PDFs or a ZIP (its uncompressed content).
FULLTEXT_MAX_UPLOAD_MB = env.int("FULLTEXT_MAX_UPLOAD_MB", default=50)
FULLTEXT_BULK_MAX_MB = env.int("FULLTEXT_BULK_MAX_MB", default=500)
# The filled-in extraction sheet (CSV or Excel), read in the request (analysis.extraction).
EXTRACTION_SHEET_MAX_MB = env.int("EXTRACTION_SHEET_MAX_MB", default=10)
# 2,000 rows load in about 5 s (read and written, one transaction), so 5,000 stay well inside
# gunicorn's 30 s timeout.
EXTRACTION_SHEET_MAX_ROWS = env.int("EXTRACTION_SHEET_MAX_ROWS", default=5_000)
# Any other upload (a form with a file field that is none of the above), and the room a form's
# other fields may take beside its files: a request whose Content-Length is past its view's
# limit plus this is refused (413) before its body is read (config.uploads).
UPLOAD_MAX_OTHER_MB = env.int("UPLOAD_MAX_OTHER_MB", default=10)
UPLOAD_FORM_FIELDS_BYTES = env.int("UPLOAD_FORM_FIELDS_BYTES", default=1024 * 1024)
# Excel workbooks (imports and the extraction sheet) are zips of XML: before anything is parsed,
# their zip directory is checked (review.importers.xlsx): at most this much uncompressed, no
# part over 1 MB expanding more than SPREADSHEET_MAX_RATIO times (a zip bomb), at most
# SPREADSHEET_MAX_MEMBERS parts; reading stops past SPREADSHEET_MAX_ROWS rows (imports; the
# sheet has EXTRACTION_SHEET_MAX_ROWS) or SPREADSHEET_MAX_COLUMNS columns.
SPREADSHEET_MAX_UNCOMPRESSED_MB = env.int("SPREADSHEET_MAX_UNCOMPRESSED_MB", default=100)
SPREADSHEET_MAX_RATIO = env.int("SPREADSHEET_MAX_RATIO", default=100)
SPREADSHEET_MAX_MEMBERS = env.int("SPREADSHEET_MAX_MEMBERS", default=2000)
SPREADSHEET_MAX_ROWS = env.int("SPREADSHEET_MAX_ROWS", default=200_000)
SPREADSHEET_MAX_COLUMNS = env.int("SPREADSHEET_MAX_COLUMNS", default=500)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
# Files are counted as they stream in and stopped past their view's limit (config.uploads).
FILE_UPLOAD_HANDLERS = [
    "config.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# The API: personal tokens (accounts.api_auth; first, so a missing or bad credential is a 401
# with WWW-Authenticate) or the session; a read-only token may only read. Throttled per token
# (per user on a session); rates are env-tunable (API_TOKEN_RATE, API_USER_RATE).
REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.api_auth.TokenScopeAllows",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api_auth.ApiRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_token": env.str("API_TOKEN_RATE", default="1200/minute"),
        "api_user": env.str("API_USER_RATE", default="1200/minute"),
    },
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "config.api_schema.AutoSchema",
}

# The OpenAPI schema (/api/schema/) and its Swagger UI (/api/docs/), for logged-in users;
# the UI's files come from drf-spectacular-sidecar through the static files (docs/api.md).
SPECTACULAR_SETTINGS = {
    "TITLE": "Prisma Workbench API",
    "DESCRIPTION": "Systematic reviews under /api/v1/ (docs/api.md).",
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"ScreeningModeEnum": "review.models.ScreeningMode"},
}

# Content-Security-Policy: scripts and stylesheets only from this site, no inline <script>,
# no on…= handlers, no <style> elements (templates/ holds none: tests/test_csp.py scans them).
# Style *attributes* are allowed (style-src-attr): the inlined matplotlib plots carry dozens of
# style="fill: …" attributes; an attribute can neither run script nor load anything from
# elsewhere (img-src and default-src stay 'self'). The full-text PDF is framed from this site.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "style-src-attr": [CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "frame-src": [CSP.SELF],
    "object-src": [CSP.SELF],
    "frame-ancestors": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
}

# HTTPS hardening whenever DEBUG is off (`check --deploy` passes with no warnings).
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env.bool("SECURE_PROXY_SSL_HEADER_HTTPS", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Every line once: the root handler prints everything, the development server's request lines
# keep their own format. Django's default config gives its "django" logger a console handler
# of its own, which printed each of its lines (the worker's tasks, the reloader, request
# errors) a second time through the root: here "django" has no handler and propagates.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
