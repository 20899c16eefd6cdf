"""With the Content-Security-Policy on, the main pages of a review report no violation in the
browser console, htmx keeps working, and data-confirm forms still ask before they submit."""

import pytest

from analysis.demo import bcg_demo_load
from review.models import Membership, Role
from screening.models import Prioritisation
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_main_pages_have_no_csp_violation(live_server, page):
    lead = factories.UserFactory(username="cara")
    review = bcg_demo_load({"lead": (lead, Role.LEAD)})
    factories.MembershipFactory(review=review, user__username="dev", role="reviewer")
    batch = factories.ImportBatchFactory(source__review=review)
    factories.RecordFactory(batch=batch, title="Exercise for depression in adults")
    Prioritisation.objects.update_or_create(review=review, defaults={"enabled": False})
    outcome = review.outcomes.first()

    violations = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    log_in(page, live_server, "cara")
    base = f"{live_server.url}/reviews/{review.slug}"
    pages = {
        "dashboard": f"{base}/",
        "screening card": f"{base}/screen/title_abstract/",
        "conflicts": f"{base}/conflicts/title_abstract/",
        "retrieval": f"{base}/retrieval/",
        "extraction": f"{base}/extraction/",
        "analysis": f"{base}/outcomes/{outcome.pk}/analysis/",
        "prisma": f"{base}/prisma/",
        "team": f"{base}/team/",
    }
    for name, url in pages.items():
        response = page.goto(url)
        assert response.status == 200, name
        assert "script-src 'self'" in response.headers["content-security-policy"], name
        page.wait_for_load_state("networkidle")
        assert not violations, (name, violations)
    # the plots and the diagram are drawn inline
    page.goto(pages["analysis"])
    assert page.locator("[data-testid=forest] svg").count() == 1
    page.goto(pages["prisma"])
    assert page.locator("[data-testid=diagram] svg").count() == 1

    # htmx still swaps (no inline script needed): the reviewer's role changes in place
    page.goto(pages["team"])
    assert page.evaluate("typeof htmx") == "object"

    # data-confirm: dismissed, nothing happens; accepted, the form submits
    member = Membership.objects.get(review=review, user__username="dev")
    remove = page.locator(f"form[action$='/team/{member.pk}/remove/'] button")
    page.once("dialog", lambda dialog: dialog.dismiss())
    remove.click()
    page.wait_for_timeout(300)
    assert Membership.objects.filter(pk=member.pk).exists()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    with page.expect_navigation():
        remove.click()
    assert asked == ["Remove dev from the team?"]
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert not violations, violations
