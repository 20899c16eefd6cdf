"""Reviews with hand-known PRISMA 2020 counts, built through the app's services, and a reader of
the diagram's SVG.

    PubMed (database)       P1..P6   P6 marked ineligible by automation (the stopping rule's
                                     write), P5 excluded at title/abstract
    Embase (database)       E1..E5   E1, E2 duplicates of P1, P2 (same DOI: the import merges
                                     them); E5 removed for other reasons; E3, E4 excluded
    ClinicalTrials.gov      R1..R3   R3 a duplicate of E3
    (register)
    Citation searching      C1..C4   only in `other_review`; C1 a duplicate of P4

Title/abstract: P1 P2 P3 P4 R1 R2 include. Retrieval: P4 and C4 not retrieved. Full text:
P1 P2 C2 include; P3 and R2 "Wrong population", R1 "Wrong study design", C3 "Wrong
population". Studies: "Smith 2020" (P1 and P2), "Jones 2021" (C2).
"""

import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest
from defusedxml.ElementTree import fromstring

from review import import_service
from review import services as review_services
from review.models import Arm, Record, Removal
from screening import services

SVG = "{http://www.w3.org/2000/svg}"
REASONS = ["Wrong study design", "Wrong population", "Wrong outcome"]

#: the counts of `known_review` (databases and registers only)
KNOWN = {
    "database_results": 11,
    "register_results": 3,
    "duplicates": 3,
    "excluded_automatic": 1,
    "excluded_other": 1,
    "records_screened": 9,
    "records_excluded": 3,
    "dbr_sought_reports": 6,
    "dbr_notretrieved_reports": 1,
    "dbr_assessed": 5,
    "new_studies": 1,
    "new_reports": 2,
}
KNOWN_SOURCES = {
    ("database_specific_results", "Embase"): 5,
    ("database_specific_results", "PubMed"): 6,
    ("register_specific_results", "ClinicalTrials.gov"): 3,
}
KNOWN_REASONS = {
    ("dbr_excluded", "Wrong study design"): 1,
    ("dbr_excluded", "Wrong population"): 2,
}
#: what citation searching adds (`other_review`)
KNOWN_OTHER = {
    "citations_results": 4,
    "other_sought_reports": 3,
    "other_notretrieved_reports": 1,
    "other_assessed": 2,
    ("other_excluded", "Wrong population"): 1,
    "new_studies": 2,
    "new_reports": 3,
}


def ris(entries: list[tuple[str, str]]) -> bytes:
    """A RIS export of (key, doi) entries; the same DOI gives the same article."""
    out = []
    for key, doi in entries:
        out += [
            "TY  - JOUR",
            f"TI  - Trial of intervention {doi.rsplit('/', 1)[-1]} in adults",
            f"AU  - Author{doi.rsplit('/', 1)[-1]}, Ann",
            "PY  - 2020",
            "JO  - Journal of Trials",
            f"DO  - {doi}",
            f"N1  - {key}",
            "ER  - ",
            "",
        ]
    return "\n".join(out).encode()


def _import(review, lead, name, arm, entries):
    source = review_services.source_create(review=review, name=name, arm=arm)
    batch = import_service.import_now(
        review=review, source=source, filename=f"{name}.ris", content=ris(entries), user=lead
    )
    assert batch.status == "done", batch.errors if hasattr(batch, "errors") else batch
    records = list(batch.records.order_by("position"))
    return {key: record for (key, _doi), record in zip(entries, records, strict=True)}


def build_review(user, *, other: bool, slug: str):
    review = review_services.review_create(
        title=f"Known counts ({slug})",
        lead=user,
        slug=slug,
        exclusion_reasons=REASONS,
        title_abstract_mode="single",
        full_text_mode="single",
    )
    reasons = {r.label: r for r in review.exclusion_reasons.all()}
    r = {}
    r |= _import(review, user, "PubMed", Arm.DATABASE,
                 [(f"P{i}", f"10.1000/p{i}") for i in range(1, 7)])  # fmt: skip
    r |= _import(review, user, "Embase", Arm.DATABASE,
                 [("E1", "10.1000/p1"), ("E2", "10.1000/p2"), ("E3", "10.1000/e3"),
                  ("E4", "10.1000/e4"), ("E5", "10.1000/e5")])  # fmt: skip
    r |= _import(review, user, "ClinicalTrials.gov", Arm.REGISTER,
                 [("R1", "10.1000/r1"), ("R2", "10.1000/r2"), ("R3", "10.1000/e3")])  # fmt: skip
    if other:
        r |= _import(review, user, "Citation searching", Arm.CITATION,
                     [("C1", "10.1000/p4"), ("C2", "10.1000/c2"), ("C3", "10.1000/c3"),
                      ("C4", "10.1000/c4")])  # fmt: skip
    for key in ("E1", "E2", "R3", *(("C1",) if other else ())):
        r[key].refresh_from_db()
        assert r[key].duplicate_of is not None, f"{key} was not merged as a duplicate"
    # No service removes a single record before screening: the stopping rule
    # (prioritisation.stopping_apply) writes exactly this update for the records it leaves.
    Record.objects.filter(pk=r["P6"].pk).update(removed_reason=Removal.AUTOMATION)
    Record.objects.filter(pk=r["E5"].pk).update(removed_reason=Removal.OTHER)

    def vote(key, stage, verdict, reason=None):
        services.decision_record(review=review, record=r[key], reviewer=user, stage=stage,
                                 verdict=verdict, reason=reason)  # fmt: skip

    for key in ("P1", "P2", "P3", "P4", "R1", "R2"):
        vote(key, "title_abstract", "include")
    for key in ("P5", "E3", "E4"):
        vote(key, "title_abstract", "exclude")
    retrieved = ["P1", "P2", "P3", "R1", "R2", *(("C2", "C3") if other else ())]
    for key in retrieved:
        services.retrieval_set(review=review, record=r[key], user=user, status="retrieved",
                               url=f"https://example.org/{key}.pdf")  # fmt: skip
    for key in ("P4", *(("C4",) if other else ())):
        services.retrieval_set(review=review, record=r[key], user=user, status="not_retrieved",
                               reason="Not held by any library we asked")  # fmt: skip
    vote("P1", "full_text", "include")
    vote("P2", "full_text", "include")
    vote("P3", "full_text", "exclude", reasons["Wrong population"])
    vote("R2", "full_text", "exclude", reasons["Wrong population"])
    vote("R1", "full_text", "exclude", reasons["Wrong study design"])
    services.report_link_study(review=review, record=r["P1"], user=user, study_label="Smith 2020")
    services.report_link_study(review=review, record=r["P2"], user=user, study_label="Smith 2020")
    if other:
        vote("C2", "full_text", "include")
        vote("C3", "full_text", "exclude", reasons["Wrong population"])
        services.report_link_study(
            review=review, record=r["C2"], user=user, study_label="Jones 2021"
        )
    return SimpleNamespace(review=review, records=r, lead=user)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def known_review(db):
    from tests import factories

    return build_review(factories.UserFactory(username="known-lead"), other=False, slug="known")


@pytest.fixture
def other_review(db):
    from tests import factories

    return build_review(factories.UserFactory(username="other-lead"), other=True, slug="other")


# Reading the SVG ----------------------------------------------------------------------------------

COUNT = re.compile(r"\(n = ([\d,]+)\)")


def parse(svg: str) -> ET.Element:
    return fromstring(svg)


def line_text(element: ET.Element) -> str:
    """A count's text as drawn: its <text> rows joined by a space."""
    return " ".join("".join(t.itertext()) for t in element.iter(f"{SVG}text"))


def shown_number(element: ET.Element) -> int:
    """The "(n = 1,234)" a count line prints, as an int (its data-n must agree)."""
    match = COUNT.search(line_text(element))
    assert match, line_text(element)
    n = int(match.group(1).replace(",", ""))
    assert int(element.get("data-n")) == n
    return n


def counts_drawn(svg: str) -> dict:
    """{variable or (variable, key): the number drawn} for every count in the diagram."""
    drawn = {}
    for g in parse(svg).iter(f"{SVG}g"):
        variable = g.get("data-variable")
        if variable is None:
            continue
        key = g.get("data-key")
        name = variable if key is None else (variable, key)
        assert name not in drawn, f"{name} drawn twice"
        drawn[name] = shown_number(g)
    return drawn


def links_drawn(svg: str) -> dict:
    """{variable or (variable, key): the href of its number}."""
    links = {}
    for g in parse(svg).iter(f"{SVG}g"):
        variable = g.get("data-variable")
        if variable is None:
            continue
        key = g.get("data-key")
        anchors = [a.get("href") for a in g.iter(f"{SVG}a")]
        links[variable if key is None else (variable, key)] = anchors
    return links


def box(svg: str, box_id: str) -> ET.Element | None:
    return next((g for g in parse(svg).iter(f"{SVG}g") if g.get("id") == box_id), None)
