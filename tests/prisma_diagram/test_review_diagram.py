"""The diagram of reviews built through the services: every number, every link, the page, the
downloads and who may see them."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from analysis import prisma_diagram
from analysis.models import Study, StudyReport
from review import import_service
from review.models import Source
from screening.prisma import prisma_counts, to_template_csv
from tests import factories
from tests.prisma_diagram.conftest import (
    KNOWN,
    KNOWN_OTHER,
    KNOWN_REASONS,
    KNOWN_SOURCES,
    SVG,
    box,
    counts_drawn,
    links_drawn,
    parse,
    ris,
)

pytestmark = pytest.mark.django_db


def drawn_svg(review) -> str:
    return prisma_diagram.diagram_svg(
        prisma_counts(review), link=prisma_diagram.records_link(review)
    )


def test_every_number_of_the_known_review(known_review):
    drawn = counts_drawn(drawn_svg(known_review.review))
    # Exactly these counts, each with its hand-known value, and nothing else.
    assert drawn == {**KNOWN, **KNOWN_SOURCES, **KNOWN_REASONS}


#: box id → (cell, the counts it holds)
BOXES = {
    "box-database_results": ("A1", ["database_results", "database_specific_results",
                                    "register_results", "register_specific_results"]),
    "box-duplicates": ("B1", ["duplicates", "excluded_automatic", "excluded_other"]),
    "box-records_screened": ("A2", ["records_screened"]),
    "box-records_excluded": ("B2", ["records_excluded"]),
    "box-dbr_sought_reports": ("A3", ["dbr_sought_reports"]),
    "box-dbr_notretrieved_reports": ("B3", ["dbr_notretrieved_reports"]),
    "box-dbr_assessed": ("A4", ["dbr_assessed"]),
    "box-dbr_excluded": ("B4", ["dbr_excluded"]),
    "box-new_studies": ("A5", ["new_studies", "new_reports"]),
}  # fmt: skip


def test_each_box_holds_its_counts(known_review):
    svg = drawn_svg(known_review.review)
    for box_id, (cell, variables) in BOXES.items():
        g = box(svg, box_id)
        assert g is not None, box_id
        assert g.get("data-cell") == cell
        assert g.get("data-variables").split() == variables
        assert [c.get("data-variable") for c in g if c.get("data-variable")] == [
            v for v in variables for _ in _lines_of(v)
        ]
    every = {n if isinstance(n, str) else n[0] for n in counts_drawn(svg)}
    assert every == {v for _cell, variables in BOXES.values() for v in variables}


def _lines_of(variable):
    """One line per source or reason for a dict count, one line otherwise."""
    keyed = [k for (v, k) in {**KNOWN_SOURCES, **KNOWN_REASONS} if v == variable]
    return keyed or [None]


def test_per_source_and_per_reason_lines_in_order(known_review):
    svg = drawn_svg(known_review.review)
    a1 = box(svg, "box-database_results")
    lines = [" ".join("".join(t.itertext()) for t in g.iter(f"{SVG}text")) for g in a1.iter(
        f"{SVG}g") if g is not a1]  # fmt: skip
    assert lines == [
        "Records identified from*:",
        "Databases (n = 11):",
        "Embase (n = 5)",
        "PubMed (n = 6)",
        "Registers (n = 3):",
        "ClinicalTrials.gov (n = 3)",
    ]
    b4 = box(svg, "box-dbr_excluded")
    assert [g.get("data-key") for g in b4 if g.get("data-key")] == [
        "Wrong study design",  # the reasons' order on the review, not by count
        "Wrong population",
    ]


def test_the_other_methods_arm_is_absent_when_unused(known_review):
    svg = drawn_svg(known_review.review)
    root = parse(svg)
    assert root.get("data-template") == "T1"
    cells = {g.get("data-cell") for g in root.iter(f"{SVG}g") if g.get("data-cell")}
    assert cells == {"A1", "B1", "A2", "B2", "A3", "B3", "A4", "B4", "A5"}
    assert "other methods" not in svg
    assert not any(str(name).startswith("('other_") or str(name).startswith("other_")
                   for name in counts_drawn(svg))  # fmt: skip


def test_the_other_methods_arm_when_citation_searching_was_used(other_review):
    svg = drawn_svg(other_review.review)
    root = parse(svg)
    assert root.get("data-template") == "T2"
    assert box(svg, "header-C0") is not None
    assert "Identification of studies via other methods" in svg
    cells = {g.get("data-cell") for g in root.iter(f"{SVG}g") if g.get("data-cell")}
    assert {"C1", "C3", "D3", "C4", "D4"} <= cells and "C2" not in cells and "D2" not in cells
    expected = {**KNOWN, **KNOWN_SOURCES, **KNOWN_REASONS, **KNOWN_OTHER}
    assert counts_drawn(svg) == expected
    # Only the arm's sources that exist are drawn: no websites or organisations line (null).
    assert "Websites" not in svg and "Organisations" not in svg
    assert box(svg, "box-citations_results").get("data-cell") == "C1"


def test_every_number_links_to_its_records(client, known_review):
    review = known_review.review
    svg = drawn_svg(review)
    drawn = counts_drawn(svg)
    links = links_drawn(svg)
    assert set(links) == set(drawn)
    client.force_login(known_review.lead)
    records_path = reverse("screening:records", args=[review.slug])
    for name, anchors in links.items():
        assert len(anchors) == 1, (name, anchors)
        url = urlsplit(anchors[0])
        assert url.path == records_path
        query = parse_qs(url.query)
        variable, key = (name, None) if isinstance(name, str) else name
        assert query["count"] == [variable]
        assert query.get("key") == ([key] if key else None)
        # Following the link lists exactly as many records as the box says.
        response = client.get(anchors[0])
        assert response.status_code == 200, name
        assert response.context["page"].paginator.count == drawn[name], name


def test_other_methods_links_list_their_records(client, other_review):
    review = other_review.review
    svg = drawn_svg(review)
    drawn = counts_drawn(svg)
    client.force_login(other_review.lead)
    for name, anchors in links_drawn(svg).items():
        response = client.get(anchors[0])
        assert response.context["page"].paginator.count == drawn[name], name


# The page -----------------------------------------------------------------------------------------


def page_url(review):
    return reverse("analysis:prisma", args=[review.slug])


def test_any_member_sees_the_diagram_inline(client, known_review):
    review = known_review.review
    viewer = factories.MembershipFactory(review=review, role="viewer").user
    client.force_login(viewer)
    response = client.get(page_url(review))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") == 1
    link = prisma_diagram.records_link(review)
    assert prisma_diagram.review_diagram_svg(review, link=link) in html  # with its links
    assert 'aria-current="page"' in html and "PRISMA diagram</a>" in html
    for fmt in ("svg", "png", "pdf"):
        assert reverse("analysis:prisma-diagram", args=[review.slug, fmt]) in html
    assert reverse("analysis:prisma-csv", args=[review.slug]) in html
    assert 'data-rule="H2"' in html
    assert "diagram-error" not in html and "diagram-pending" not in html


def test_non_members_get_404_everywhere(client, known_review):
    review = known_review.review
    client.force_login(factories.MembershipFactory(role="lead").user)  # another review's lead
    urls = [
        page_url(review),
        reverse("analysis:prisma-csv", args=[review.slug]),
        *(reverse("analysis:prisma-diagram", args=[review.slug, f]) for f in ("svg", "png", "pdf")),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    # ... and by id, too.
    assert client.get(page_url(review).replace(review.slug, str(review.pk))).status_code == 404


def test_an_unknown_format_is_not_a_url(client, known_review):
    client.force_login(known_review.lead)
    url = reverse("analysis:prisma-diagram", args=[known_review.review.slug, "svg"])
    assert client.get(url.replace(".svg", ".gif")).status_code == 404


def test_the_downloads(client, known_review):
    review = known_review.review
    client.force_login(known_review.lead)
    counts = prisma_counts(review)
    plain = prisma_diagram.diagram_svg(counts, title=f"PRISMA 2020 flow diagram: {review.title}")

    response = client.get(reverse("analysis:prisma-diagram", args=[review.slug, "svg"]))
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Content-Disposition"] == 'attachment; filename="prisma-known.svg"'
    assert response.content.decode() == plain
    assert "<a " not in plain  # a figure for a manuscript: no links to this site

    response = client.get(reverse("analysis:prisma-diagram", args=[review.slug, "png"]))
    assert response["Content-Type"] == "image/png"
    assert response.content == prisma_diagram.to_png(plain, dpi=300)
    response = client.get(
        reverse("analysis:prisma-diagram", args=[review.slug, "png"]) + "?dpi=600"
    )
    assert response.content == prisma_diagram.to_png(plain, dpi=600)

    response = client.get(reverse("analysis:prisma-diagram", args=[review.slug, "pdf"]))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert response.content == prisma_diagram.to_pdf(plain)

    response = client.get(reverse("analysis:prisma-csv", args=[review.slug]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="prisma-known.csv"'
    assert response.content.decode() == to_template_csv(counts)


# Counts that break a rule -------------------------------------------------------------------------


@pytest.fixture
def broken(known_review):
    """A study report on a record excluded at full text: rule H9 fails (a hard rule)."""
    study = Study.objects.get(review=known_review.review, label="Smith 2020")
    StudyReport.objects.create(study=study, record=known_review.records["P3"])
    return known_review


def test_a_failing_rule_shows_the_rule_and_no_diagram(client, broken):
    review = broken.review
    with pytest.raises(prisma_diagram.PrismaRuleError, match=r"H9 fails \(new_studies ≤"):
        prisma_diagram.diagram_svg(prisma_counts(review))
    client.force_login(broken.lead)
    html = client.get(page_url(review)).content.decode()
    assert "<svg" not in html
    assert 'data-testid="diagram-error"' in html
    assert "H9 fails (new_studies ≤ new_reports" in html
    assert "1 study report links a record without a current full-text include." in html
    assert 'data-testid="downloads"' not in html


def test_downloads_of_failing_counts_are_refused_with_the_rule(client, broken):
    review = broken.review
    client.force_login(broken.lead)
    urls = [
        reverse("analysis:prisma-csv", args=[review.slug]),
        *(reverse("analysis:prisma-diagram", args=[review.slug, f]) for f in ("svg", "png", "pdf")),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 409, url
        assert "H9 fails" in response.content.decode()
        assert "Content-Disposition" not in response


# A review in progress -----------------------------------------------------------------------------


def test_a_review_in_progress_is_drawn_and_says_what_is_pending(client, known_review):
    review = known_review.review
    source = Source.objects.get(review=review, name="PubMed")
    import_service.import_now(review=review, source=source, filename="update.ris",
                              content=ris([("N1", "10.1000/n1"), ("N2", "10.1000/n2")]),
                              user=known_review.lead)  # fmt: skip
    counts = prisma_counts(review)
    assert counts.pending.records == 2 and counts.check() == []
    client.force_login(known_review.lead)
    html = client.get(page_url(review)).content.decode()
    assert html.count("<svg") == 1
    assert 'data-testid="diagram-pending"' in html
    pending = re.search(r'data-testid="diagram-pending".*?</div>', html, re.S).group(0)
    assert "?count=pending_records" in pending
    assert "records awaiting title/abstract screening" in pending
    assert 'data-rule="S3"' in html and "in progress" in html
    svg = drawn_svg(review)
    assert "Review in progress, counts provisional: 2 records awaiting title/abstract" in svg
    assert counts_drawn(svg)["records_screened"] == 11
