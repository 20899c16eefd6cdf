"""At a phone's width (390 px) no page scrolls sideways: wide tables scroll inside their own
box (`.table-wrap`), everything else wraps."""

import pytest

from analysis.demo import bcg_demo_load
from analysis.models import Outcome
from review.models import Role
from screening import services
from tests import factories
from tests.browser.test_screening import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TA = "title_abstract"
# What sticks out past the right edge, innermost first (the failure message names it).
OVERFLOWING = """Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > 391)
  .filter(e => !Array.from(e.children).some(c => c.getBoundingClientRect().right > 391))
  .slice(0, 5)
  .map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 40))"""


def realistic_review():
    """The analysis demo (dat.bcg, single mode), with an import of records as databases export
    them: long titles, many authors, long journal names, DOIs and URLs; half included at
    title/abstract, so the retrieval page lists them."""
    lead = factories.UserFactory(username="ana")
    review = bcg_demo_load({"lead": (lead, Role.LEAD)})
    batch = factories.ImportBatchFactory(
        source__review=review,
        source__name="MEDLINE via PubMed (Ovid interface, 1946 to present, searched 2026-08-01)",
        filename="medline-export-with-a-very-long-file-name-2026-08-01.ris",
    )
    records = [
        factories.RecordFactory(
            batch=batch,
            title=(
                f"Efficacy of Bacillus Calmette-Guérin vaccination against pulmonary and "
                f"extrapulmonary tuberculosis in neonates, children and adults: trial {i}"
            ),
            authors=[f"Colditz-Brewer-Fineberg{i}, Graham A." for _ in range(8)],
            year=1994,
            journal="Journal of the American Medical Association: Clinical Investigations",
            doi=f"10.1001/jama.1994.0351033006303{i}-supplementary-material-appendix",
            url=f"https://pubmed.ncbi.nlm.nih.gov/{8107123 + i}/?from_term=bcg+vaccine+efficacy",
            abstract="Objective. To quantify the efficacy of BCG vaccine. " * 20,
        )
        for i in range(6)
    ]
    for record in records[:3]:
        services.decision_record(
            review=review, record=record, reviewer=lead, stage=TA, verdict="include"
        )
    return review


def test_no_page_scrolls_sideways_on_a_phone(live_server, browser):
    review = realistic_review()
    outcome = Outcome.objects.get(review=review)
    study = review.studies.order_by("label").first()
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server, "ana")
    base = f"{live_server.url}/reviews/{review.slug}"
    pages = [
        f"{live_server.url}/",
        f"{base}/",
        f"{base}/records/",
        f"{base}/retrieval/",
        f"{base}/extraction/",
        f"{base}/studies/{study.pk}/",
        f"{base}/outcomes/{outcome.pk}/data/",
        f"{base}/outcomes/{outcome.pk}/analysis/",
        f"{base}/screen/{TA}/",
        f"{base}/conflicts/{TA}/",
    ]
    wide = {}
    for url in pages:
        response = page.goto(url)
        assert response.status == 200, url
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[url.removeprefix(live_server.url)] = (width, page.evaluate(OVERFLOWING))
    assert wide == {}
    # The tables still show all their columns: they scroll inside their box.
    page.goto(f"{base}/records/")
    box = page.locator(".table-wrap").first
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")
    context.close()
