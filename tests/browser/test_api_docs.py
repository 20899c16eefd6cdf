"""The API docs (/api/docs/) in a real browser: Swagger UI draws the operations from the schema
with the site's Content-Security-Policy on, and the console reports no violation."""

import pytest

from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_under_the_policy(live_server, page):
    factories.MembershipFactory(user__username="cara", role="lead")
    violations = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "cara")
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    response = page.goto(f"{live_server.url}/api/docs/")
    assert response.status == 200
    page.wait_for_selector(".opblock-summary-path", timeout=15000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/records/" in p for p in paths), paths
    assert not violations, violations
