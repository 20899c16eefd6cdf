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

import csv
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

# Record titles (first words) of tests/data/journey: what each reviewer decides at
# title/abstract. Records 0-19 of Sep et al. (2021); the three in both exports count once.
TITLES = {}  # filled from the exports in `titles()`
# The next card has replaced the one whose title is `t` (no page load: htmx swaps the card).
NEXT_CARD = (
    "t => { const h = document.querySelector('[data-testid=record-title]');"
    " return h && h.innerText.trim() !== t; }"
)
# Index -> (ana's vote, ben's vote): 6 agreed includes, 11 agreed excludes, 3 conflicts.
VOTES = {i: ("include", "include") for i in (0, 1, 2, 3, 4, 5)}
VOTES.update({i: ("exclude", "exclude") for i in range(6, 17)})
VOTES.update({17: ("include", "exclude"), 18: ("exclude", "include"), 19: ("include", "exclude")})
# The lead resolves the three conflicts as exclusions: 6 records go on to full text.
# Three rows of metadat's dat.molloy2014 (ri, ni), typed with a decimal comma.
EFFECTS = {
    "Axelsson 2009": ("0,187", "109"),
    "Axelsson 2011": ("0,162", "749"),
    "Bruce 2010": ("0,34", "55"),
}


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
def journey(browser, live_server, capsys):
    folder = Path(os.environ.get("JOURNEY_SCREENSHOTS") or tempfile.mkdtemp(prefix="journey-"))
    folder.mkdir(parents=True, exist_ok=True)
    with capsys.disabled():  # shown even when pytest captures output
        print(f"\nJourney screenshots: {folder.resolve()}")
    j = Journey(browser, live_server, folder)
    yield j
    j.close()


def test_a_team_runs_a_review_from_first_login_to_the_zip(journey, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    url = journey.url
    all_titles = titles()

    # 1. The first user sets up the site.
    lead = journey.new_page()
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
    for name, arm in (
        ("Embase", "database"),
        ("PubMed", "database"),
        ("Citation searching", "citation"),
    ):
        lead.goto(f"{base}/sources/new/")
        lead.locator("#id_name").fill(name)
        lead.locator("#id_arm").select_option(arm)
        lead.get_by_role("button", name="Add source").click()
        lead.wait_for_url(re.compile(rf"/reviews/{slug}/"))
    journey.shot(lead, "sources")

    # 3. The lead invites two reviewers; they accept and set their passwords.
    reviewers = {}
    for username in ("ana", "ben"):
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
    lead.get_by_role("button", name="Duplicates: merge").click()
    lead.get_by_text(re.compile(r"Confirmed duplicate\s*1")).wait_for()
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
                    NEXT_CARD,
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

    # 7. Full texts: one PDF bulk-uploaded (matched by the DOI in it), four saved by URL, one
    #    not retrieved.
    sent = sorted(included.values_list("record__title", flat=True), key=all_titles.index)
    with_pdf, not_found, excluded_ft = sent[0], sent[1], sent[2]
    record_with_pdf = Record.objects.get(review__slug=slug, title=with_pdf, duplicate_of=None)
    pdf = make_pdf(record_with_pdf.title, record_with_pdf.doi)
    lead.goto(f"{base}/retrieval/")
    lead.get_by_role("link", name="Upload several full texts at once").click()
    lead.get_by_label("PDF files or a ZIP of PDFs").set_input_files(
        [{"name": "fulltext.pdf", "mimeType": "application/pdf", "buffer": pdf}]
    )
    lead.get_by_role("button", name="Upload and match").click()
    lead.get_by_text("1 of 1 file matched").wait_for()
    assert "DOI in the PDF" in lead.locator("main").inner_text()
    journey.shot(lead, "bulk-upload-report")
    lead.get_by_role("button", name="Confirm").click()
    lead.get_by_text(re.compile(r"1 full texts? attached")).wait_for()
    for title in sent[1:]:
        row = lead.locator("[data-testid=retrieval] tr", has_text=title)
        if title == not_found:
            row.locator("input[name=reason]").fill("Not held by the library; authors did not reply")
            row.get_by_role("button", name="Not retrieved").click()
        else:
            doi = Record.objects.get(review__slug=slug, title=title, duplicate_of=None).doi
            row.locator("input[name=url]").fill(f"https://doi.org/{doi}")
            row.get_by_role("button", name="Retrieved", exact=True).click()
        lead.wait_for_load_state()
    journey.shot(lead, "retrieval")
    assert Retrieval.objects.filter(record__review__slug=slug, status="retrieved").count() == 5

    # 8. Full-text eligibility (one reviewer, the lead): the PDF is read on the card; one report
    #    is excluded with a reason, four are included.
    lead.goto(f"{base}/screen/full_text/")
    for n in range(5):
        title = lead.get_by_test_id("record-title").inner_text().strip()
        if title == with_pdf:
            frame = lead.locator("iframe.fulltext-pdf")
            src = frame.get_attribute("src")
            served = lead.request.get(f"{url}{src}")
            assert served.status == 200
            assert served.headers["content-type"] == "application/pdf"
            assert served.body() == pdf
            journey.shot(lead, "full-text-card-with-pdf")
        if title == excluded_ft:
            lead.keyboard.press("5")  # Wrong study design
        with lead.expect_response(lambda r: r.url.endswith("/decide/")):
            lead.keyboard.press("e" if title == excluded_ft else "i")
        if n < 4:
            lead.wait_for_function(
                NEXT_CARD,
                arg=title,
            )
    lead.wait_for_selector("[data-testid=queue-empty]")

    # 9. The four included reports are linked to studies; the one entered under two names is merged.
    reports = [t for t in sent if t not in (not_found, excluded_ft)]
    labels = ["Axelsson 2009", "Axelsson 2011", "Bruce 2010", "Bruce et al. 2010"]
    lead.goto(f"{base}/included/")
    for title, label in zip(reports, labels, strict=True):
        row = lead.locator("[data-testid=included] tr", has_text=title)
        row.locator("input[name=study]").fill(label)
        row.get_by_role("button", name="Link").click()
        lead.wait_for_load_state()
    journey.shot(lead, "included")
    twin = Study.objects.get(review__slug=slug, label="Bruce et al. 2010")
    kept = Study.objects.get(review__slug=slug, label="Bruce 2010")
    lead.goto(f"{base}/studies/{twin.pk}/")
    lead.get_by_label("Merge this study into").select_option(label="Bruce 2010")
    lead.get_by_role("button", name="Continue to merge").click()
    journey.shot(lead, "merge-studies")
    lead.get_by_role("button", name="Merge studies").click()
    lead.wait_for_load_state()
    assert list(
        Study.objects.filter(review__slug=slug).order_by("label").values_list("label", flat=True)
    ) == ["Axelsson 2009", "Axelsson 2011", "Bruce 2010"]
    assert kept.reports.count() == 2

    # 10. The review declares a decimal comma; effects are typed with it for three studies.
    lead.goto(f"{base}/settings/")
    lead.locator("#id_decimal_separator").select_option("comma")
    lead.get_by_role("button", name="Save settings").click()
    lead.wait_for_load_state()
    lead.goto(f"{base}/extraction/")
    outcomes = lead.get_by_test_id("outcomes")
    outcomes.get_by_text("Add an outcome").click()
    outcomes.locator("#id_name").fill("Resilience and self-injury")
    outcomes.locator("#id_data_type").select_option("correlation")
    outcomes.locator("#id_measure").select_option("ZCOR")
    outcomes.get_by_role("button", name="Add outcome").click()
    lead.wait_for_url(re.compile(r"/outcomes/\d+/data/$"))
    for label, (ri, ni) in EFFECTS.items():
        lead.get_by_label(f"{label}: Correlation r").fill(ri)
        lead.get_by_label(f"{label}: Sample size").fill(ni)
        lead.locator(f"#effect-{Study.objects.get(review__slug=slug, label=label).pk}").filter(
            has_text="95% CI"
        ).wait_for()
        row = lead.locator("[data-testid=effect-data] tr", has_text=label)
        row.get_by_role("button", name="Save").click()
        lead.wait_for_selector(f"text={label}: saved.")
    journey.shot(lead, "extraction-decimal-comma")

    # 11. The analysis matches the engine; the PRISMA diagram; the ZIP.
    ri = [float(r.replace(",", ".")) for r, _ in EFFECTS.values()]
    ni = [int(n) for _, n in EFFECTS.values()]
    es = escalc("ZCOR", ri=ri, ni=ni)
    fit = rma(es.yi, es.vi, method="REML")
    lead.get_by_role("link", name="Analysis →").click()
    lead.get_by_test_id("estimate").wait_for()
    journey.shot(lead, "analysis")
    estimate = lead.get_by_test_id("estimate").inner_text()
    assert estimate == f"{math.tanh(fit.b):.2f}", estimate

    lead.goto(f"{base}/prisma/")
    journey.shot(lead, "prisma")
    diagram = " ".join(lead.locator("svg").first.text_content().split())
    for box in (
        "Databases (n = 23)",
        "Embase (n = 13)",
        "PubMed (n = 10)",
        "Registers (n = 0)",
        "Duplicate records removed (n = 3)",
        "Citation searching (n = 0)",
        "Records screened (n = 20)",
        "Records excluded** (n = 14)",
        "Reports sought for retrieval (n = 6)",
        "Reports not retrieved (n = 1)",
        "Reports assessed for eligibility (n = 5)",
        "Wrong study design (n = 1)",
        "Studies included in review (n = 3)",
        "Reports of included studies (n = 4)",
    ):
        assert box in diagram, (box, diagram)
    counts = lead.request.get(f"{base}/prisma/counts.csv").text()
    expected = {
        "database_results": "23",
        "database_specific_results": "Embase, 13; PubMed, 10",
        "citations_results": "0",
        "duplicates": "3",
        "records_screened": "20",
        "records_excluded": "14",
        "dbr_sought_reports": "6",
        "dbr_notretrieved_reports": "1",
        "dbr_assessed": "5",
        "dbr_excluded": "Wrong study design, 1",
        "new_studies": "3",
        "new_reports": "4",
    }
    rows = {row["data"]: row["n"] for row in csv.DictReader(io.StringIO(counts))}
    for name, value in expected.items():
        assert rows.get(name) == value, (name, rows.get(name))

    lead.goto(f"{base}/extraction/")
    with lead.expect_download() as download:
        lead.get_by_test_id("export-link").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    names = archive.namelist()
    assert any(n.endswith(".R") for n in names) and any("prisma" in n.lower() for n in names)


def make_pdf(title, doi):
    """A one-page PDF that prints the report's title and DOI, as a publisher's first page does
    (the bulk upload finds the DOI in its text)."""
    import textwrap

    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, StreamObject

    def text(line):
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    lines = [*textwrap.wrap(title, 60), "", f"https://doi.org/{doi}"]
    body = "BT /F1 16 Tf 20 TL 60 760 Td " + " ".join(f"({text(x)}) ' " for x in lines) + "ET"
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    fonts = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    stream = StreamObject()
    stream.set_data(body.encode("latin-1", "replace"))
    page[NameObject("/Contents")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
