"""Content-Security-Policy: every page carries it, and no template needs inline script or style."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "frame-src": "'self'",
    "object-src": "'self'",
    "frame-ancestors": "'self'",
    "base-uri": "'self'",
    "form-action": "'self'",
}


def directives(header: str) -> dict[str, str]:
    parts = (p.strip().split(None, 1) for p in header.split(";") if p.strip())
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "login",
        "password_reset",
        "review:list",
        "review:dashboard",
        "review:team",
        "prisma",
        "accounts:tokens",
    ],
)
def test_pages_carry_the_policy(client, lead, review, name):
    if name not in ("login", "password_reset"):
        client.force_login(lead)
    no_review = ("login", "password_reset", "review:list", "accounts:tokens")
    args = [] if name in no_review else [review.slug]
    url = reverse("analysis:prisma" if name == "prisma" else name, args=args)
    response = client.get(url)
    assert response.status_code == 200
    policy = directives(response.headers["Content-Security-Policy"])
    for directive, value in POLICY.items():
        assert policy.get(directive) == value, (directive, policy)
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]


@pytest.mark.django_db
def test_the_inline_plots_have_no_style_element(client, lead):
    """Matplotlib's SVG carries a <style> element; inlined in the page, style-src blocks it."""
    from analysis.demo import bcg_demo_load
    from review.models import Role

    review = bcg_demo_load({"lead": (lead, Role.LEAD)})
    client.force_login(lead)
    outcome = review.outcomes.first()
    url = reverse("analysis:analysis", args=[review.slug, outcome.pk])
    response = client.get(url, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<svg") >= 2
    assert "<style" not in page


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I | re.S)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.I | re.S)
STYLE_ELEMENT = re.compile(r"<style\b", re.I)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_no_template_has_inline_script_or_style(path):
    text = path.read_text()
    assert not INLINE_SCRIPT.search(text), "inline <script>: move it to static/js/"
    assert not EVENT_HANDLER.search(text), "on…= handler: use data-confirm or static/js/"
    assert not STYLE_ATTRIBUTE.search(text), "style= attribute: use a class in app.css"
    assert not STYLE_ELEMENT.search(text), "<style> element: move it to static/css/app.css"


def test_the_scan_finds_what_it_looks_for():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/x.js" defer></script>')
    assert EVENT_HANDLER.search('<form method="post"\n      onsubmit="return confirm(1)">')
    assert not EVENT_HANDLER.search('<form data-confirm="Sure?">')
    assert STYLE_ATTRIBUTE.search('<div class="x" style="color: red">')


def test_htmx_does_not_inject_its_indicator_style():
    base = (ROOT / "templates" / "base.html").read_text()
    assert '"includeIndicatorStyles": false' in base
    assert ".htmx-indicator" in (ROOT / "static" / "css" / "app.css").read_text()


def test_check_deploy_is_clean_with_the_policy():
    from tests.test_settings import PRODUCTION, run

    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    probe = "from config import settings as s; print('csp' in ' '.join(s.MIDDLEWARE))"
    assert run(probe, **PRODUCTION).stdout.strip() == "True"
