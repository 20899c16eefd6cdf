"""Issue 14, finding 2: an 82 KB .xlsx zip bomb (24 MB of XML, 200,000 rows) was parsed in full
inside the upload request (`_guess_mapping`) and took the web worker down; the extraction-sheet
upload did the same for any reviewer; a legitimate 20,000-row workbook took 13.6 s in the
request. Now a workbook's zip directory is checked before anything is parsed, the column page
reads only the header and five rows, Excel imports are parsed by the worker within row and
column limits, and the sheet is read within limits."""

import io
import time
import tracemalloc
import zipfile

import openpyxl
import pytest
from django.urls import reverse

from analysis.models import DataType, Outcome, Study
from review import import_service, importers
from review.importers import xlsx
from review.models import ImportBatch, Record
from tests import factories
from tests.uploads import workbooks

pytestmark = pytest.mark.django_db
MB = 1024 * 1024


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = workbooks.zip_bomb()
    assert len(data) < 100 * 1024  # about 90 KB
    return data


def measured(call):
    """(result, seconds, peak traced bytes) of call()."""
    tracemalloc.start()
    try:
        started = time.perf_counter()
        result = call()
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, elapsed, peak


def upload_file(client, review, name, data, source=None):
    source = source or factories.SourceFactory(review=review)
    handle = io.BytesIO(data)
    handle.name = name
    return client.post(
        reverse("review:import-create", args=[review.slug]), {"source": source.pk, "file": handle}
    )


def warm_up(client, review):
    """Load the URL conf, the views and the templates (seconds on a first request) first."""
    client.get(reverse("review:import-create", args=[review.slug]))
    assert client.get(reverse("analysis:extraction", args=[review.slug])).status_code == 200


def test_the_zip_bomb_import_is_refused_at_once_naming_the_limit(client, review, lead, bomb):
    client.force_login(lead)
    warm_up(client, review)
    response, elapsed, peak = measured(lambda: upload_file(client, review, "bomb.xlsx", bomb))
    html = response.content.decode()
    assert response.status_code == 200  # the form, with the error on the file
    assert "bomb.xlsx: its part xl/worksheets/sheet1.xml expands from" in html
    assert "a workbook part may expand at most 100 times (SPREADSHEET_MAX_RATIO)" in html
    assert not ImportBatch.objects.exists()
    assert elapsed < 2, elapsed
    assert peak < 10 * MB, peak


def test_the_zip_bomb_extraction_sheet_is_refused_at_once(client, review, reviewer, bomb):
    Study.objects.create(review=review, label="Trial 1")
    client.force_login(reviewer)
    warm_up(client, review)
    handle = io.BytesIO(bomb)
    handle.name = "sheet.xlsx"
    url = reverse("analysis:sheet-upload", args=[review.slug])
    response, elapsed, peak = measured(lambda: client.post(url, {"file": handle}))
    assert response.status_code == 400
    html = response.content.decode()
    assert "sheet.xlsx: its part xl/worksheets/sheet1.xml expands from" in html
    assert "(SPREADSHEET_MAX_RATIO)" in html
    assert elapsed < 2, elapsed
    assert peak < 10 * MB, peak


def test_a_workbook_past_the_uncompressed_limit_is_refused(settings, review):
    settings.SPREADSHEET_MAX_UNCOMPRESSED_MB = 1
    data = workbooks.records_workbook(20_000)  # about 3 MB of XML, expands 10 times or so
    with pytest.raises(Exception, match=r"SPREADSHEET_MAX_UNCOMPRESSED_MB") as refused:
        import_service.import_upload(
            review=review, source=factories.SourceFactory(review=review),
            filename="big.xlsx", content=data,
        )  # fmt: skip
    assert "big.xlsx: the workbook expands to" in str(refused.value)
    assert not ImportBatch.objects.exists()


def test_rows_past_the_limit_fail_the_import_in_the_worker_naming_the_setting(
    settings, review, django_capture_on_commit_callbacks
):
    settings.SPREADSHEET_MAX_ROWS = 100
    with django_capture_on_commit_callbacks(execute=True):
        batch = import_service.import_upload(
            review=review, source=factories.SourceFactory(review=review),
            filename="long.xlsx", content=workbooks.records_workbook(150),
        )  # fmt: skip
        assert batch.status == "pending" and batch.column_mapping["title"] == "Title"
        import_service.import_confirm_mapping(batch=batch, mapping=batch.column_mapping)
    batch.refresh_from_db()
    assert batch.status == "failed"
    assert "more than 100 rows; at most 100 are accepted (SPREADSHEET_MAX_ROWS)" in batch.error
    assert not Record.objects.exists()


def test_a_sheet_wider_than_the_limit_is_refused(review):
    rows = [workbooks.row_xml(1, [f"Column {i}" for i in range(600)])]
    data = workbooks.workbook(rows)
    with pytest.raises(xlsx.SpreadsheetTooLarge, match=r"row 1 has more than 500 columns"):
        importers.parse(data, "wide.xlsx", "excel", limits=import_service.spreadsheet_limits())


def test_cells_far_to_the_right_do_not_make_every_row_16384_wide(review):
    """A sheet that declares A1:XFD20001 and puts a cell at column XFD (16,384) on each row
    would make openpyxl pad every row to 16,384 cells (and rows missing in between to as
    many); reading is bounded to SPREADSHEET_MAX_COLUMNS + 1 cells a row, so the far cells
    are never read and the records still are."""
    rows = [workbooks.row_xml(1, workbooks.HEADERS)]
    rows += [
        workbooks.row_xml(i + 2, [f"Study {i}", "Smith J"])[: -len("</row>")]
        + f'<c r="XFD{i + 2}"><v>1</v></c></row>'
        for i in range(20_000)
    ]
    data = workbooks.workbook(rows, dimension="A1:XFD20001")
    started = time.perf_counter()
    result = importers.parse(data, "far.xlsx", "excel", limits=import_service.spreadsheet_limits())
    assert time.perf_counter() - started < 5
    assert len(result.records) == 20_000 and result.headers == workbooks.HEADERS


def test_a_legitimate_workbook_is_parsed_by_the_worker_not_the_request(
    client, review, lead, monkeypatch, django_capture_on_commit_callbacks
):
    """The upload and the column page read the header and five rows; the full parse happens
    once, in the task, after the columns are confirmed."""
    data = workbooks.records_workbook(2_000)
    client.force_login(lead)
    full_parses = []
    real_parse = importers.parse
    monkeypatch.setattr(
        importers, "parse", lambda *a, **k: full_parses.append(a[1]) or real_parse(*a, **k)
    )
    response = upload_file(client, review, "export.xlsx", data)
    batch = ImportBatch.objects.get()
    assert response.url == reverse("review:import-mapping", args=[review.slug, batch.pk])
    page = client.get(response.url).content.decode()
    assert "Study number 0 of running" in page and "Study number 5 of running" not in page
    assert full_parses == []
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(response.url, {"title": "Title", "year": "Year", "doi": "DOI"})
    batch.refresh_from_db()
    assert (batch.status, batch.phase) == ("pending", "queued for the background worker")
    assert full_parses == [] and len(queued) == 1
    queued[0]()  # the worker
    batch.refresh_from_db()
    assert (batch.status, batch.record_count) == ("done", 2_000)
    assert full_parses == ["export.xlsx"]


def test_the_preview_reads_shared_strings_only_as_far_as_it_needs(review):
    """openpyxl's loader reads a workbook's whole shared-string table (it can hold every
    abstract of the file) before the first cell; the preview reads five rows' worth."""
    n = 50_000
    shared = workbooks.HEADERS + [f"Title {i}" for i in range(n)]
    rows = [workbooks.row_xml(1, [workbooks.SharedString(i) for i in range(5)])]
    rows += [
        workbooks.row_xml(i + 2, [workbooks.SharedString(5 + i), "A", 2020, "J", f"10.1/{i}"])
        for i in range(n)
    ]
    data = workbooks.workbook(rows, shared=shared)
    book = xlsx.open_workbook(data, "s.xlsx", xlsx.Limits(), lazy=True)
    first = list(xlsx.rows(book.worksheets[0], "s.xlsx", xlsx.Limits(), stop_after=6))
    assert first[0][1][:5] == tuple(workbooks.HEADERS)
    assert first[5][1][0] == "Title 4"
    strings = book.worksheets[0]._shared_strings
    assert len(strings._strings) <= 11  # the header and six rows (openpyxl reads one ahead)
    book.close()
    result = importers.preview(io.BytesIO(data), "s.xlsx", "excel", rows=5)
    assert result.headers == workbooks.HEADERS
    assert [r.title for r in result.records] == [f"Title {i}" for i in range(5)]
    full = importers.parse(data, "s.xlsx", "excel")
    assert full.headers == result.headers and full.records[:5] == result.records


def test_the_csv_preview_reads_only_the_head_of_the_file(review, monkeypatch):
    lines = ["Title,Year,DOI"] + [f'"Study, number {i}",2020,10.1/{i}' for i in range(200_000)]
    data = ("\n".join(lines) + "\n").encode()
    assert len(data) > 20 * importers.PREVIEW_BYTES
    read = []

    class Counting(io.BytesIO):
        def read(self, size=-1):
            chunk = super().read(size)
            read.append(len(chunk))
            return chunk

    result = importers.preview(Counting(data), "big.csv", "csv")
    assert sum(read) <= importers.PREVIEW_BYTES + 1
    assert result.headers == ["Title", "Year", "DOI"]
    assert [r.title for r in result.records] == [f"Study, number {i}" for i in range(5)]
    assert not [p for p in result.problems if p.is_error]


def test_the_csv_preview_cut_inside_a_multibyte_character_and_a_line(review):
    row = '"Étude à Zürich, numéro {}",2020\n'
    data = ("Title,Year\n" + "".join(row.format(i) for i in range(30_000))).encode()
    result = importers.preview(io.BytesIO(data), "accents.csv", "csv", rows=3)
    assert [r.title for r in result.records] == [f"Étude à Zürich, numéro {i}" for i in range(3)]
    assert result.encoding.lower().replace("-", "") in ("utf8", "utf8sig")


def test_an_extraction_sheet_past_its_row_limit_is_refused(client, review, reviewer, settings):
    settings.EXTRACTION_SHEET_MAX_ROWS = 50
    Study.objects.create(review=review, label="Trial 1")
    Outcome.objects.create(review=review, name="Pain", data_type=DataType.GENERIC, measure="GEN")
    client.force_login(reviewer)
    url = reverse("analysis:sheet-upload", args=[review.slug])
    rows = [workbooks.row_xml(1, ["study", "outcome", "yi", "sei"])]
    rows += [workbooks.row_xml(i + 2, ["Trial 1", "Pain", 0.1, 0.2]) for i in range(60)]
    handle = io.BytesIO(workbooks.workbook(rows))
    handle.name = "sheet.xlsx"
    html = client.post(url, {"file": handle}).content.decode()
    assert "more than 50 rows; at most 50 are accepted (EXTRACTION_SHEET_MAX_ROWS)" in html
    csv = "study,outcome,yi,sei\n" + "Trial 1,Pain,0.1,0.2\n" * 60
    handle = io.BytesIO(csv.encode())
    handle.name = "sheet.csv"
    html = client.post(url, {"file": handle}).content.decode()
    assert "sheet.csv: more than 50 rows; at most 50 are accepted (EXTRACTION_SHEET_MAX_ROWS)" in (
        html
    )


def test_the_csv_preview_keeps_a_utf16_newline_whole(review):
    row = "Étude {},2020\r\n"
    text = "\ufeffTitle,Year\r\n" + "".join(row.format(i) for i in range(30_000))
    data = text.encode("utf-16-le")
    assert len(data) > importers.PREVIEW_BYTES
    result = importers.preview(io.BytesIO(data), "utf16.csv", "csv", rows=3)
    assert result.headers == ["Title", "Year"]
    assert [r.title for r in result.records] == ["Étude 0", "Étude 1", "Étude 2"]


def test_opening_a_workbook_never_scans_the_sheet_for_its_dimension(review, monkeypatch):
    """openpyxl's read-only sheet looks for `<dimension>` with a scan that parses the whole
    sheet when the element is missing (openpyxl's write-only files): 2.8 s of the column page
    for 20,000 rows. The sheets are opened without it; every read passes its own bounds."""
    from openpyxl.worksheet._reader import WorkSheetParser

    def scan(self):
        raise AssertionError("the whole sheet was scanned for its dimension")

    monkeypatch.setattr(WorkSheetParser, "parse_dimensions", scan)
    data = workbooks.records_workbook(1_000)  # no <dimension> element
    assert b"<dimension" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    with pytest.raises(AssertionError, match="scanned"):  # what openpyxl's loader does
        openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    result = importers.preview(io.BytesIO(data), "nodim.xlsx", "excel")
    assert result.records[1].title == "Study number 1 of running"
    assert len(importers.parse(data, "nodim.xlsx", "excel").records) == 1_000
