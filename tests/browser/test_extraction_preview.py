"""Finding 5 in a browser: typing a study's numbers on the extraction page updates its effect
preview ("computed as you type"), read with the review's decimal comma, and the row saves."""

import pytest
from playwright.sync_api import expect

from analysis.models import DataType, EffectData, Outcome, Study
from review.models import Role
from tests import factories
from tests.browser.test_analysis import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_typing_updates_the_effect_preview(live_server, page):
    lead = factories.UserFactory(username="numbers-lead")
    review = factories.ReviewFactory(decimal_separator="comma")
    factories.MembershipFactory(review=review, user=lead, role=Role.LEAD)
    outcome = Outcome.objects.create(
        review=review, name="Effect", data_type=DataType.GENERIC, measure="GEN"
    )
    Study.objects.create(review=review, label="Wang 2019")
    login(page, live_server, "numbers-lead")
    page.goto(f"{live_server.url}/reviews/{review.slug}/outcomes/{outcome.pk}/data/")
    effect = page.get_by_test_id("effect")
    expect(effect).to_have_text("–")
    page.get_by_label("Wang 2019: Effect (analysis scale)").press_sequentially("-0,24")
    page.get_by_label("Wang 2019: Standard error").press_sequentially("0,1")
    expect(effect).to_have_text("GEN -0.2400, variance 0.0100, 95% CI -0.4360 to -0.0440")
    page.get_by_label("Wang 2019: Standard error").fill("0,1,2")
    expect(effect).to_have_text("Standard error: '0,1,2' is not a number.")
    page.get_by_label("Wang 2019: Standard error").fill("0,1")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Wang 2019: saved.")).to_be_visible()
    assert EffectData.objects.get().values == {"yi": -0.24, "sei": 0.1}
