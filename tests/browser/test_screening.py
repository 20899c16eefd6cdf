import pytest

from screening.models import Prioritisation, ScreeningDecision, StageResult
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_two_reviewers_screen_by_keyboard_blind_and_a_lead_resolves(live_server, browser):
    review = factories.MembershipFactory(user__username="lena", role="lead").review
    for name in ("ana", "ben"):
        factories.MembershipFactory(review=review, user__username=name, role="reviewer")
    batch = factories.ImportBatchFactory(source__review=review)
    first = factories.RecordFactory(batch=batch, title="Exercise for depression in adults")
    factories.RecordFactory(batch=batch, title="Sleep and memory in rats")
    # Import order, so both reviewers meet the same first record (prioritisation is tested in
    # tests/prioritisation).
    Prioritisation.objects.create(review=review, enabled=False)
    screen = f"{live_server.url}/reviews/{review.slug}/screen/title_abstract/"

    for name, key in (("ana", "i"), ("ben", "e")):
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, live_server, name)
        page.goto(screen)
        assert "Exercise for depression" in page.get_by_test_id("record-title").inner_text()
        page.evaluate("window.__marker = 'same page'")
        with page.expect_response(lambda r: r.url.endswith("/decide/")):
            page.keyboard.press(key)
        page.wait_for_selector("text=Sleep and memory in rats")
        assert page.evaluate("window.__marker") == "same page"  # no page reload
        assert "Mine: 1 / 2" in page.get_by_test_id("progress-mine").inner_text()
        # Blind: nothing on the page tells ben what ana decided.
        assert "include" not in page.get_by_test_id("record-title").inner_text().lower()
        context.close()

    verdicts = dict(
        ScreeningDecision.objects.filter(record=first).values_list("reviewer__username", "verdict")
    )
    assert verdicts == {"ana": "include", "ben": "exclude"}
    assert not StageResult.objects.filter(record=first).exists()  # a conflict

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server, "lena")
    page.goto(f"{live_server.url}/reviews/{review.slug}/conflicts/title_abstract/")
    card = page.locator(f"#conflict-{first.pk}")
    assert "ana" in card.inner_text() and "ben" in card.inner_text()
    card.get_by_role("button", name="Resolve: include").click()
    page.wait_for_selector("[data-testid=no-conflicts]")
    context.close()
    result = StageResult.objects.get(record=first)
    assert (result.verdict, result.method, result.decided_by.username) == (
        "include",
        "resolution",
        "lena",
    )
