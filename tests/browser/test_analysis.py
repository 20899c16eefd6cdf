"""A viewer opens the analysis demo's page (dat.bcg), reads the pooled estimate and the plots,
changes the estimator, and downloads the forest plot and the PRISMA diagram."""

import math

import pytest

from analysis.demo import bcg_demo_load
from review.models import Role
from tests import factories
from tests.analysis.reference import result

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_analysis_page_and_downloads(live_server, page):
    lead = factories.UserFactory(username="ana")
    review = bcg_demo_load({"lead": (lead, Role.LEAD)})
    login(page, live_server, "ana")
    page.goto(f"{live_server.url}/reviews/{review.slug}/extraction/")
    page.get_by_role("link", name="Analysis", exact=True).click()
    ref = result("bcg_RR")["random"]["REML"]["z"]
    assert page.get_by_test_id("estimate").inner_text() == f"{math.exp(ref['b']):.2f}"
    assert page.locator("[data-testid=forest] svg").count() == 1
    assert page.locator("[data-testid=funnel] svg").count() == 1
    assert page.get_by_test_id("robustness-same").is_visible()

    # another estimator, from the settings form
    page.select_option("#id_method", "DL")
    page.get_by_role("button", name="Compute").click()
    page.wait_for_url("**method=DL**")
    dl = result("bcg_RR")["random"]["DL"]["z"]
    assert page.get_by_test_id("estimate").inner_text() == f"{math.exp(dl['b']):.2f}"

    with page.expect_download() as download:
        page.get_by_role("link", name="PDF").first.click()
    assert download.value.suggested_filename.endswith("-forest.pdf")
    with open(download.value.path(), "rb") as fh:
        assert fh.read(4) == b"%PDF"

    page.goto(f"{live_server.url}/reviews/{review.slug}/prisma/")
    with page.expect_download() as download:
        page.get_by_role("link", name="SVG").first.click()
    assert download.value.suggested_filename.endswith(".svg")
