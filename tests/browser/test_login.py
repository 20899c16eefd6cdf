import pytest

from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_logs_in_and_sees_only_their_reviews(live_server, page):
    mine = factories.MembershipFactory(
        user__username="ada", review__title="Exercise for depression", role="lead"
    )
    factories.MembershipFactory(review__title="Someone else's review")

    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url  # every page needs a login

    page.fill("#id_username", "ada")
    page.fill("#id_password", "wrong password")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text().startswith("Your username and password")

    page.fill("#id_username", "ada")
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    table = page.get_by_test_id("review-list")
    assert "Exercise for depression" in table.inner_text()
    assert "Someone else's review" not in page.content()
    assert page.get_by_test_id("username").inner_text() == "ada"
    # The stylesheet is served locally.
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") == "flex"

    page.get_by_role("link", name="Exercise for depression").click()
    page.wait_for_url(f"{live_server.url}/reviews/{mine.review.slug}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Exercise for depression"

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    page.goto(f"{live_server.url}/reviews/{mine.review.slug}/")
    assert "/accounts/login/" in page.url


def test_a_lead_changes_a_role_without_a_page_reload(live_server, page):
    review = factories.MembershipFactory(user__username="lena", role="lead").review
    member = factories.MembershipFactory(review=review, user__username="rui", role="viewer")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "lena")
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/reviews/{review.slug}/team/")
    page.evaluate("window.__marker = 'same page'")
    with page.expect_response(lambda r: "/role/" in r.url) as response:
        page.get_by_label("Role of rui").select_option("reviewer")
    assert response.value.status == 200
    member.refresh_from_db()
    assert member.role == "reviewer"
    assert page.evaluate("window.__marker") == "same page"  # htmx swapped the row only
    assert page.get_by_label("Role of rui").input_value() == "reviewer"
