"""Record exports (CSV and Excel): columns, blind screening, formula injection, access."""

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.urls import reverse

from review.cells import safe_cell
from screening import exports, services
from screening.models import StageResult
from tests import factories
from tests.screening_flow.helpers import vote

pytestmark = pytest.mark.django_db
TA, FT = "title_abstract", "full_text"


@pytest.fixture
def data(review, team):
    """A small review with known decisions at both stages, a retrieval and a study link. The
    lead lifts title/abstract blinding while the team retrieves and assesses full texts, then
    turns it back on before the last title/abstract votes."""
    alice, bob, lead = team["alice"], team["bob"], team["lead"]
    batch = factories.ImportBatchFactory(
        source__review=review, source__name="MEDLINE", filename="medline.ris"
    )
    included, conflict, duplicate, pending, excluded, hidden = (
        factories.RecordFactory(batch=batch, title=f"Record {i}") for i in range(6)
    )
    included.authors, included.journal, included.year = ["Smith J", "Lee K"], "BMJ", 2019
    included.doi, included.pmid = "10.1000/abc", "123456"
    included.save()
    duplicate.duplicate_of = included
    duplicate.save()
    wrong = review.exclusion_reasons.create(label="Wrong population")
    # included: agreement at title/abstract (maybe counts as include), retrieved, agreement at
    # full text, linked to its study.
    vote(review, included, alice, "include", note="Looks relevant")
    vote(review, included, bob, "maybe")
    # excluded: both include at title/abstract, then both exclude at full text with a reason.
    vote(review, excluded, alice, "include")
    vote(review, excluded, bob, "include")
    services.stage_blinding_set(review=review, stage=TA, blind=False, user=lead)
    services.retrieval_set(
        review=review, record=included, user=alice, status="retrieved", url="https://x.org/a"
    )
    vote(review, included, alice, "include", stage=FT)
    vote(review, included, bob, "include", stage=FT)
    services.report_link_study(review=review, record=included, user=lead, study_label="Smith 2019")
    services.retrieval_set(
        review=review, record=excluded, user=bob, status="retrieved", url="https://x.org/b"
    )
    vote(review, excluded, alice, "exclude", stage=FT, reason=wrong)
    vote(review, excluded, bob, "exclude", stage=FT, reason=wrong)
    services.stage_blinding_set(review=review, stage=TA, blind=True, user=lead)
    # conflict: alice includes, bob excludes; nobody resolved it yet.
    vote(review, conflict, alice, "include")
    vote(review, conflict, bob, "exclude", note="bob's secret")
    # pending: only alice voted. hidden: only bob voted.
    vote(review, pending, alice, "exclude")
    vote(review, hidden, bob, "include", note="bob only")
    return {
        "included": included,
        "conflict": conflict,
        "duplicate": duplicate,
        "pending": pending,
        "excluded": excluded,
        "hidden": hidden,
    }


def csv_rows(client, review, user, **params):
    client.force_login(user)
    response = client.get(reverse("screening:records-csv", args=[review.slug]), params)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.getvalue().decode())))


def xlsx_sheet(client, review, user, **params):
    client.force_login(user)
    response = client.get(reverse("screening:records-xlsx", args=[review.slug]), params)
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.getvalue()))
    sheet = workbook.worksheets[0]
    rows = list(sheet.iter_rows())
    header = [cell.value for cell in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def by_id(rows, record, key="record_id"):
    matches = [row for row in rows if str(_value(row[key])) == str(record.pk)]
    assert len(matches) == 1
    return matches[0]


def _value(cell):
    return getattr(cell, "value", cell)


def utc_seconds(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def test_the_wide_csv_has_one_row_per_record_with_every_column(client, review, team, data):
    rows = csv_rows(client, review, team["lead"])
    assert len(rows) == 6
    vote_columns = ["vote", "reason", "note", "voted_at"]
    result_columns = ["result", "method", "reason", "resolved_by", "settled_at", "resolution_note"]
    assert list(rows[0]) == [
        *exports.RECORD_COLUMNS,
        *(f"title_abstract_{c}" for c in result_columns),
        *(f"title_abstract_alice_{c}" for c in vote_columns),
        *(f"title_abstract_bob_{c}" for c in vote_columns),
        "retrieval_status",
        "retrieval_url",
        "retrieval_file",
        "not_retrieved_reason",
        *(f"full_text_{c}" for c in result_columns),
        *(f"full_text_alice_{c}" for c in vote_columns),
        *(f"full_text_bob_{c}" for c in vote_columns),
        "study",
    ]
    included = data["included"]
    row = by_id(rows, included)
    ta = StageResult.objects.get(record=included, stage=TA)
    alice_vote = included.screeningdecisions.get(stage=TA, reviewer=team["alice"])
    assert {
        k: row[k]
        for k in [
            "title",
            "authors",
            "journal",
            "year",
            "doi",
            "pmid",
            "source",
            "source_arm",
            "import_file",
            "duplicate_of",
            "removed_reason",
            "title_abstract_result",
            "title_abstract_method",
            "title_abstract_reason",
            "title_abstract_resolved_by",
            "title_abstract_settled_at",
            "title_abstract_alice_vote",
            "title_abstract_alice_note",
            "title_abstract_alice_voted_at",
            "title_abstract_bob_vote",
            "retrieval_status",
            "retrieval_url",
            "full_text_result",
            "full_text_method",
            "full_text_alice_vote",
            "full_text_bob_vote",
            "study",
        ]
    } == {
        "title": "Record 0",
        "authors": "Smith J; Lee K",
        "journal": "BMJ",
        "year": "2019",
        "doi": "10.1000/abc",
        "pmid": "123456",
        "source": "MEDLINE",
        "source_arm": "database",
        "import_file": "medline.ris",
        "duplicate_of": "",
        "removed_reason": "",
        "title_abstract_result": "include",
        "title_abstract_method": "agreement",
        "title_abstract_reason": "",
        "title_abstract_resolved_by": "",
        "title_abstract_settled_at": utc_seconds(ta.created_at),
        "title_abstract_alice_vote": "include",
        "title_abstract_alice_note": "Looks relevant",
        "title_abstract_alice_voted_at": utc_seconds(alice_vote.created_at),
        "title_abstract_bob_vote": "maybe",
        "retrieval_status": "retrieved",
        "retrieval_url": "https://x.org/a",
        "full_text_result": "include",
        "full_text_method": "agreement",
        "full_text_alice_vote": "include",
        "full_text_bob_vote": "include",
        "study": "Smith 2019",
    }
    assert by_id(rows, data["duplicate"])["duplicate_of"] == str(included.pk)
    excluded = by_id(rows, data["excluded"])
    assert (excluded["full_text_result"], excluded["full_text_reason"]) == (
        "exclude",
        "Wrong population",
    )
    assert excluded["full_text_bob_reason"] == "Wrong population"
    assert excluded["study"] == ""


def test_blind_mode_shows_a_reviewer_only_their_own_votes_and_no_results_in_the_csv(
    client, review, team, data
):
    rows = csv_rows(client, review, team["alice"])
    assert not any("bob" in column for column in rows[0])  # not one of bob's votes is visible
    conflict = by_id(rows, data["conflict"])
    assert conflict["title_abstract_alice_vote"] == "include"  # my own vote
    text = "".join(",".join(row.values()) for row in rows)
    assert "bob's secret" not in text and "bob only" not in text
    # Nothing that the votes settled: no result, retrieval, full text or study.
    included = by_id(rows, data["included"])
    assert included["title_abstract_alice_vote"] == "include"
    assert included["full_text_alice_vote"] == "include"  # hers (cast while unblinded)
    hidden = ["title_abstract_result", "title_abstract_method", "retrieval_status",
              "retrieval_url", "full_text_result", "study"]  # fmt: skip
    assert {key: included[key] for key in hidden} == dict.fromkeys(hidden, "")
    # A viewer has no vote of their own: no vote at all.
    rows = csv_rows(client, review, team["viewer"])
    assert not any(column.endswith("_vote") for column in rows[0])
    assert by_id(rows, data["included"])["title_abstract_result"] == ""


def test_a_lead_sees_a_conflicts_votes_and_everyone_sees_them_once_resolved(
    client, review, team, data
):
    conflict = by_id(csv_rows(client, review, team["lead"]), data["conflict"])
    assert (conflict["title_abstract_alice_vote"], conflict["title_abstract_bob_vote"]) == (
        "include",
        "exclude",
    )
    # ...but not a vote waiting for its second reviewer.
    assert (
        by_id(csv_rows(client, review, team["lead"]), data["hidden"])["title_abstract_bob_vote"]
        == ""
    )
    services.conflict_resolve(
        review=review,
        record=data["conflict"],
        stage=TA,
        resolver=team["lead"],
        verdict="exclude",
        note="Not a trial",
    )
    conflict = by_id(csv_rows(client, review, team["alice"]), data["conflict"])
    assert conflict.get("title_abstract_bob_note", "") == ""  # still blind for alice
    services.stage_blinding_set(review=review, stage=TA, blind=False, user=team["lead"])
    conflict = by_id(csv_rows(client, review, team["alice"]), data["conflict"])
    assert conflict["title_abstract_bob_note"] == "bob's secret"
    assert (
        conflict["title_abstract_result"],
        conflict["title_abstract_method"],
        conflict["title_abstract_resolved_by"],
        conflict["title_abstract_resolution_note"],
    ) == ("exclude", "resolution", "lena", "Not a trial")


def test_a_reviewer_whose_votes_are_all_hidden_gets_no_columns(client, review, team):
    record = factories.RecordFactory(batch__source__review=review)
    vote(review, record, team["bob"], "include")
    rows = csv_rows(client, review, team["alice"])
    assert not any("bob" in column for column in rows[0])
    assert "title_abstract_bob_vote" in csv_rows(client, review, team["bob"])[0]


def test_single_and_open_modes_show_every_vote(client, review, team, data):
    review.title_abstract_blind = False
    review.save()
    rows = csv_rows(client, review, team["alice"])
    assert by_id(rows, data["conflict"])["title_abstract_bob_vote"] == "exclude"
    assert by_id(rows, data["hidden"])["title_abstract_bob_note"] == "bob only"


def test_the_excel_export_applies_the_same_blind_rule_and_keeps_types(client, review, team, data):
    rows = xlsx_sheet(client, review, team["alice"])
    assert len(rows) == 6
    conflict = by_id(rows, data["conflict"])
    assert conflict["title_abstract_alice_vote"].value == "include"
    assert "title_abstract_bob_vote" not in conflict
    assert by_id(rows, data["included"])["study"].value is None
    rows = xlsx_sheet(client, review, team["lead"])
    assert by_id(rows, data["hidden"])["title_abstract_bob_note"].value is None
    included = by_id(rows, data["included"])
    assert included["record_id"].value == data["included"].pk
    assert (included["year"].value, included["year"].data_type) == (2019, "n")
    assert included["duplicate_of"].value is None
    ta = StageResult.objects.get(record=data["included"], stage=TA)
    settled = ta.created_at.astimezone(dt.UTC).replace(microsecond=0, tzinfo=None)
    assert included["title_abstract_settled_at"].value == settled
    assert included["study"].value == "Smith 2019"
    assert by_id(rows, data["duplicate"])["duplicate_of"].value == data["included"].pk
    services.conflict_resolve(
        review=review, record=data["conflict"], stage=TA, resolver=team["lead"], verdict="include"
    )
    services.stage_blinding_set(review=review, stage=TA, blind=False, user=team["lead"])
    rows = xlsx_sheet(client, review, team["alice"])
    assert by_id(rows, data["conflict"])["title_abstract_bob_vote"].value == "exclude"


@pytest.fixture
def hostile(review, team):
    """A record whose text cells would run as formulas in a spreadsheet."""
    review.title_abstract_mode = "single"
    review.save()
    record = factories.RecordFactory(
        batch__source__review=review,
        batch__source__name="@SUM(1+1)*cmd|' /C calc'!A0",
        title='=HYPERLINK("http://evil.example","click")',
        authors=["+1+2", "Lee K"],
        journal="-2+3",
        pmid="\t=1",
        doi="\r=1",
        year=2020,
    )
    vote(review, record, team["alice"], "exclude", note="=cmd|' /C calc'!A0")
    return record


INJECTED = {
    "title": '\'=HYPERLINK("http://evil.example","click")',
    "authors": "'+1+2; Lee K",
    "journal": "'-2+3",
    "pmid": "'\t=1",
    "doi": "'\r=1",
    "source": "'@SUM(1+1)*cmd|' /C calc'!A0",
    "title_abstract_alice_note": "'=cmd|' /C calc'!A0",
}


def test_formula_injection_is_neutralised_in_the_csv(client, review, team, hostile):
    row = by_id(csv_rows(client, review, team["alice"]), hostile)
    assert {key: row[key] for key in INJECTED} == INJECTED
    assert row["year"] == "2020"


def test_formula_injection_is_neutralised_in_excel(client, review, team, hostile):
    row = by_id(xlsx_sheet(client, review, team["alice"]), hostile)
    # XML normalises a stored carriage return to a line feed when the file is read back.
    assert {key: row[key].value for key in INJECTED} == INJECTED | {"doi": "'\n=1"}
    assert {row[key].data_type for key in INJECTED} == {"s"}
    assert (row["year"].value, row["year"].data_type) == (2020, "n")


def test_excel_drops_control_characters_it_cannot_store(review, team):
    factories.RecordFactory(batch__source__review=review, title="Bell\x07 and tab\tkept")
    table = exports.records_table(review=review, viewer=team["alice"])
    with exports.xlsx_file(table) as file:
        sheet = openpyxl.load_workbook(file).worksheets[0]
    title = table.header.index("title") + 1
    assert sheet.cell(row=2, column=title).value == "Bell and tab\tkept"


def test_the_long_layout_has_one_row_per_visible_vote(client, review, team, data):
    client.force_login(team["lead"])
    response = client.get(reverse("screening:records-csv", args=[review.slug]), {"layout": "long"})
    assert response["Content-Disposition"] == f'attachment; filename="{review.slug}-votes.csv"'
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert list(rows[0]) == exports.LONG_COLUMNS
    seen = [(int(r["record_id"]), r["stage"], r["reviewer"], r["vote"]) for r in rows]
    d = data
    assert seen == [
        (d["included"].pk, TA, "alice", "include"),
        (d["included"].pk, TA, "bob", "maybe"),
        (d["included"].pk, FT, "alice", "include"),
        (d["included"].pk, FT, "bob", "include"),
        (d["conflict"].pk, TA, "alice", "include"),
        (d["conflict"].pk, TA, "bob", "exclude"),  # a conflict: the lead sees both votes
        (d["excluded"].pk, TA, "alice", "include"),
        (d["excluded"].pk, TA, "bob", "include"),
        (d["excluded"].pk, FT, "alice", "exclude"),
        (d["excluded"].pk, FT, "bob", "exclude"),
    ]
    first = rows[0]
    assert (first["stage_result"], first["stage_method"], first["note"]) == (
        "include",
        "agreement",
        "Looks relevant",
    )
    assert rows[-1]["reason"] == "Wrong population"
    sheet = xlsx_sheet(client, review, team["alice"], layout="long")
    # A reviewer's own votes only (blind), with no stage result while the stage is blind.
    assert [(c["record_id"].value, c["stage"].value, c["stage_result"].value) for c in sheet] == [
        (d["included"].pk, TA, None),
        (d["included"].pk, FT, None),
        (d["conflict"].pk, TA, None),
        (d["pending"].pk, TA, None),
        (d["excluded"].pk, TA, None),
        (d["excluded"].pk, FT, None),
    ]


def test_downloads_are_named_after_the_review(client, review, team):
    client.force_login(team["viewer"])
    csv_response = client.get(reverse("screening:records-csv", args=[review.slug]))
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    assert csv_response["Content-Disposition"] == (
        f'attachment; filename="{review.slug}-records.csv"'
    )
    xlsx_response = client.get(reverse("screening:records-xlsx", args=[review.slug]))
    assert xlsx_response["Content-Type"] == exports.XLSX_CONTENT_TYPE
    assert f'filename="{review.slug}-records.xlsx"' in xlsx_response["Content-Disposition"]
    response = client.get(reverse("screening:records-csv", args=[review.slug]), {"layout": "x"})
    assert response.status_code == 400


def test_a_non_member_gets_404(client, review, data, outsider):
    client.force_login(outsider)
    for name in ("screening:records-csv", "screening:records-xlsx"):
        assert client.get(reverse(name, args=[review.slug])).status_code == 404


def test_queries_grow_with_chunks_not_records(
    client, review, team, data, monkeypatch, django_assert_max_num_queries
):
    batch = data["included"].batch
    for _ in range(30):
        factories.RecordFactory(batch=batch)
    client.force_login(team["alice"])
    url = reverse("screening:records-csv", args=[review.slug])
    # session, user, review, two header queries; per chunk records, results, two vote stages.
    with django_assert_max_num_queries(5 + 4 + 1):
        assert len(list(csv.reader(io.StringIO(client.get(url).getvalue().decode())))) == 37
    monkeypatch.setattr(exports, "CHUNK", 10)
    with django_assert_max_num_queries(5 + 4 * 4 + 1):
        assert len(list(csv.reader(io.StringIO(client.get(url).getvalue().decode())))) == 37


def test_safe_cell_prefixes_only_dangerous_starts():
    # review.cells.safe_cell, which this export writes every cell through; "-1" is a number
    cells = ["=1", "+1", "-1+1", "@a", "\ta", "\ra", "a=1", "", "-1"]
    assert [safe_cell(s) for s in cells] == [
        "'=1",
        "'+1",
        "'-1+1",
        "'@a",
        "'\ta",
        "'\ra",
        "a=1",
        "",
        "-1",
    ]


def test_the_included_page_links_to_the_downloads(client, review, team):
    client.force_login(team["viewer"])
    html = client.get(reverse("screening:inclusion", args=[review.slug])).content.decode()
    assert f'href="/reviews/{review.slug}/export/records.csv"' in html
    assert f'href="/reviews/{review.slug}/export/records.xlsx?layout=long"' in html


def test_a_large_review_gets_its_excel_file_from_the_worker_for_its_owner_only(
    client, review, team, settings, django_capture_on_commit_callbacks
):
    settings.EXPORT_INLINE_MAX_RECORDS = 0  # every review counts as large
    record = factories.RecordFactory(batch__source__review=review, title="Open record")
    vote(review, record, team["alice"], "exclude", note="alice's secret")
    client.force_login(team["bob"])
    url = reverse("screening:records-xlsx", args=[review.slug])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(url)
    assert response.status_code == 302
    page = client.get(response.url)
    assert "Ready" in page.content.decode()
    job = page.context["job"]
    download = client.get(reverse("screening:export-download", args=[review.slug, job.pk]))
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    cells = [c.value for row in workbook.active.iter_rows() for c in row]
    assert "Open record" in cells
    assert "alice's secret" not in cells and "exclude" not in cells  # blind, as bob sees it

    client.force_login(team["alice"])  # another member: not their export
    assert client.get(response.url).status_code == 404
    assert (
        client.get(reverse("screening:export-download", args=[review.slug, job.pk])).status_code
        == 404
    )
