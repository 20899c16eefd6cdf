"""Site-wide bits: the favicon."""

import pytest
from django.urls import reverse


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
