"""Site-wide bits: the favicon, and each log line of `make run` printed once."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_every_page_links_the_favicon_and_it_is_served(client, reviewer):
    client.force_login(reviewer)
    html = client.get(reverse("review:list")).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200
    body = b"".join(icon.streaming_content) if icon.streaming else icon.content
    assert body.lstrip().startswith(b"<svg") and b"</svg>" in body


@pytest.mark.django_db
def test_favicon_ico_redirects_to_the_svg(client):
    """Browsers ask for /favicon.ico whatever the page says; no login needed."""
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"


# Project loggers, the development server's request lines, and Django's own loggers (request
# errors, the worker's task lines, the reloader): `make run` printed the last three twice.
LOGGERS = (
    "screening",
    "review.import_service",
    "django.server",
    "django.request",
    "django.tasks",
    "django.utils.autoreload",
)
LOG_ONCE = f"""
import django, logging
django.setup()  # Django's DEFAULT_LOGGING, then settings.LOGGING (dictConfig), as runserver does
for name in {LOGGERS!r}:
    logging.getLogger(name).warning("marker-%s", name)
"""


@pytest.mark.parametrize("debug", ["true", "false"])
def test_each_log_line_is_printed_once(debug):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DEBUG=debug, SECRET_KEY="x" * 50, DJANGO_SETTINGS_MODULE="config.settings")
    run = subprocess.run(
        [sys.executable, "-c", LOG_ONCE], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True, timeout=60,
    )  # fmt: skip
    lines = (run.stdout + run.stderr).splitlines()
    counts = {name: sum(f"marker-{name}" in line for line in lines) for name in LOGGERS}
    assert counts == dict.fromkeys(LOGGERS, 1), lines
    server = next(line for line in lines if "marker-django.server" in line)
    assert server.startswith("[") and server.endswith("] marker-django.server")
