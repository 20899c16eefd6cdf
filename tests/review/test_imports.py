"""Importing search exports through the service, the pages and the terminal command."""

import csv
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from review import import_service
from review.models import DedupEvent, DuplicatePair, ImportBatch, Record
from review.selectors import source_counts
from screening.prisma import prisma_counts
from tests import factories

pytestmark = pytest.mark.django_db
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(review, source, name, **kwargs):
    return import_service.import_upload(
        review=review, source=source, filename=name, content=(DATA / name).read_bytes(), **kwargs
    )


def test_overlapping_exports_from_two_databases_give_reconciled_prisma_counts(review, lead):
    pubmed = factories.SourceFactory(review=review, name="MEDLINE via PubMed")
    embase = factories.SourceFactory(review=review, name="Embase via Ovid")
    first = upload(review, pubmed, "pubmed_small.ris", user=lead)
    second = upload(review, embase, "embase_small.ris", user=lead)
    assert (first.status, first.record_count) == ("done", 3)
    assert (second.status, second.record_count) == ("done", 2)

    duplicate = Record.objects.get(batch=second, doi="10.3389/fnbeh.2014.00160")
    primary = Record.objects.get(batch=first, doi="10.3389/fnbeh.2014.00160")
    assert duplicate.duplicate_of == primary  # the earlier, more complete record stays primary
    assert primary.pmid == "24847228" and primary.duplicate_of is None

    per_source = {row.source.name: (row.records, row.duplicates) for row in source_counts(review)}
    assert per_source == {"MEDLINE via PubMed": (3, 0), "Embase via Ovid": (2, 1)}
    counts = prisma_counts(review)
    assert counts.database_results == 5
    assert (counts.duplicates, counts.records_screened) == (1, 4)
    pair = DuplicatePair.objects.get()
    assert (pair.record_a, pair.record_b, pair.status) == (primary, duplicate, "automatic")
    assert pair.reason
    assert DedupEvent.objects.filter(action="auto_merge").count() == 1


def test_a_title_less_entry_is_left_out_with_a_warning_naming_it(review, lead):
    source = factories.SourceFactory(review=review)
    batch = upload(review, source, "broken_no_er.ris", user=lead)
    assert (batch.status, batch.record_count) == ("done", 1)
    assert batch.problems == [
        {
            "line": 6,
            "message": "Entry starting at line 6 (record 2) has no title; it was left out.",
            "severity": "warning",
        }
    ]
    assert list(Record.objects.values_list("title", flat=True)) == [
        "Post-Injury Administration of Galantamine Reduces Traumatic Brain Injury Pathology and "
        "Improves Outcome"
    ]


def test_in_strict_mode_a_title_less_entry_fails_the_file_and_writes_nothing(review, lead):
    source = factories.SourceFactory(review=review)
    batch = import_service.import_now(
        review=review, source=source, filename="broken_no_er.ris",
        content=(DATA / "broken_no_er.ris").read_bytes(), user=lead, strict=True,
    )  # fmt: skip
    assert batch.status == "failed"
    assert "line 6" in batch.error and "has no title; in strict mode" in batch.error
    assert not Record.objects.exists()


@pytest.mark.parametrize("background", [False, True], ids=["now", "worker"])
def test_strict_mode_from_the_import_page(client, review, lead, settings, background):
    """The import page's "Refuse the file if a record has no title": kept on the batch, so a
    file the background worker imports is strict too."""
    if background:
        settings.IMPORT_BACKGROUND_BYTES = 10
    source = factories.SourceFactory(review=review)
    client.force_login(lead)
    with (DATA / "broken_no_er.ris").open("rb") as fh:
        response = client.post(reverse("review:import-create", args=[review.slug]),
                               {"source": source.pk, "file": fh, "strict": "on"})  # fmt: skip
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert batch.strict
    if background:
        from review.tasks import run_import

        run_import.call(batch.pk)
        batch.refresh_from_db()
    assert batch.status == "failed" and "in strict mode" in batch.error
    assert not Record.objects.exists()


def test_the_same_file_twice_is_flagged(review, lead):
    source = factories.SourceFactory(review=review)
    upload(review, source, "pubmed_small.ris")
    with pytest.raises(ValidationError, match=re.escape("is the same file as “pubmed_small.ris”")):
        upload(review, source, "pubmed_small.ris")
    again = upload(review, source, "pubmed_small.ris", allow_same_file=True)
    assert again.status == "done"
    # The second copy's records are all duplicates of the first's.
    assert Record.objects.filter(batch=again, duplicate_of__isnull=False).count() == 3


def test_a_file_over_the_size_limit_is_refused(review, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    with pytest.raises(
        ValidationError, match=re.escape("the largest file this site accepts is 100 bytes")
    ):
        upload(review, factories.SourceFactory(review=review), "pubmed_small.ris")
    assert not ImportBatch.objects.exists()


def test_an_unreadable_file_is_refused_with_its_name(review):
    source = factories.SourceFactory(review=review)
    with pytest.raises(ValidationError, match=re.escape("photo.ris")):
        import_service.import_upload(
            review=review, source=source, filename="photo.ris", content=b"\x89PNG\r\n\x1a\n\0\0"
        )


def test_large_files_run_in_the_background(review, settings, django_capture_on_commit_callbacks):
    settings.IMPORT_BACKGROUND_BYTES = 10
    source = factories.SourceFactory(review=review)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        batch = upload(review, source, "pubmed_small.ris")
        assert batch.status == "pending" and "queued" in batch.phase
    assert len(callbacks) == 2  # the import task, then the ranking of the new records
    batch.refresh_from_db()
    assert (batch.status, batch.record_count, batch.progress) == ("done", 3, 100)


def test_csv_waits_for_its_columns_then_imports(review):
    source = factories.SourceFactory(review=review)
    batch = upload(review, source, "two_columns.csv")
    assert batch.status == "pending"
    assert batch.column_mapping["title"] == "Article Title"
    import_service.import_confirm_mapping(batch=batch, mapping=batch.column_mapping)
    batch.refresh_from_db()
    assert batch.status == "done" and batch.record_count == 2
    assert set(Record.objects.values_list("year", flat=True)) == {2015, 2019}


def test_confirming_columns_without_a_title_is_refused(review):
    batch = upload(review, factories.SourceFactory(review=review), "two_columns.csv")
    with pytest.raises(
        ValidationError, match=re.escape("Choose the column that holds the titles.")
    ):
        import_service.import_confirm_mapping(batch=batch, mapping={"year": "Publication Year"})


# Pages ----------------------------------------------------------------------------------------


def test_upload_page_imports_and_shows_the_summary(client, review, lead):
    source = factories.SourceFactory(review=review, name="PubMed")
    client.force_login(lead)
    with (DATA / "pubmed_small.ris").open("rb") as fh:
        response = client.post(
            reverse("review:import-create", args=[review.slug]), {"source": source.pk, "file": fh}
        )
    batch = ImportBatch.objects.get()
    assert response.url == reverse("review:import-detail", args=[review.slug, batch.pk])
    page = client.get(response.url).content.decode()
    assert 'data-count="records">3<' in page and "Done" in page


def test_upload_errors_are_shown_on_the_form(client, review, lead):
    source = factories.SourceFactory(review=review)
    client.force_login(lead)
    url = reverse("review:import-create", args=[review.slug])
    with (DATA / "pubmed_small.ris").open("rb") as fh:
        client.post(url, {"source": source.pk, "file": fh})
    with (DATA / "pubmed_small.ris").open("rb") as fh:
        response = client.post(url, {"source": source.pk, "file": fh})
    assert response.status_code == 200
    assert "is the same file as" in response.content.decode()


def test_csv_upload_goes_through_the_column_page(client, review, lead):
    source = factories.SourceFactory(review=review)
    client.force_login(lead)
    with (DATA / "two_columns.csv").open("rb") as fh:
        response = client.post(
            reverse("review:import-create", args=[review.slug]), {"source": source.pk, "file": fh}
        )
    batch = ImportBatch.objects.get()
    assert response.url == reverse("review:import-mapping", args=[review.slug, batch.pk])
    page = client.get(response.url).content.decode()
    assert "Article Title" in page and "Running Improves Pattern Separation" in page
    response = client.post(
        response.url, {"title": "Article Title", "year": "Publication Year", "doi": "DOI"}
    )
    assert response.url == reverse("review:import-detail", args=[review.slug, batch.pk])
    assert Record.objects.count() == 2


def test_import_status_polls_with_htmx_while_running(client, review, lead):
    batch = factories.ImportBatchFactory(source__review=review, status="running", progress=40)
    client.force_login(lead)
    url = reverse("review:import-detail", args=[review.slug, batch.pk])
    html = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert html.lstrip().startswith('<div id="import-status"')
    assert 'hx-trigger="every 1s"' in html and 'value="40"' in html


def test_only_leads_import_and_non_members_see_nothing(client, review, reviewer, outsider):
    batch = factories.ImportBatchFactory(source__review=review)
    client.force_login(reviewer)
    assert client.get(reverse("review:import-create", args=[review.slug])).status_code == 403
    assert (
        client.get(reverse("review:import-detail", args=[review.slug, batch.pk])).status_code == 200
    )
    client.force_login(outsider)
    assert (
        client.get(reverse("review:import-detail", args=[review.slug, batch.pk])).status_code == 404
    )


# Terminal -------------------------------------------------------------------------------------


def test_import_records_command_creates_the_source_and_reports(review, capsys):
    call_command(
        "import_records", review.slug, str(DATA / "pubmed_small.ris"), "--source", "PubMed"
    )
    call_command(
        "import_records", str(review.pk), str(DATA / "embase_small.ris"), "--source", "Embase"
    )
    out = capsys.readouterr().out
    assert "Imported 2 records from embase_small.ris" in out and "1 merged as duplicates" in out
    assert review.sources.count() == 2 and prisma_counts(review).duplicates == 1


def test_import_records_command_fails_clearly(review):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match=r"Nothing was imported(.|\n)*record 2\) has no title"):
        call_command(
            "import_records", review.slug, str(DATA / "broken_no_er.ris"), "--source", "X",
            "--strict",
        )  # fmt: skip
    with pytest.raises(CommandError, match="No review with the slug or id 'nope'"):
        call_command("import_records", "nope", str(DATA / "pubmed_small.ris"), "--source", "X")


def test_import_records_command_leaves_out_a_title_less_entry_and_says_so(review, capsys):
    call_command("import_records", review.slug, str(DATA / "broken_no_er.ris"), "--source", "X")
    out = capsys.readouterr().out
    assert "Imported 1 records from broken_no_er.ris" in out
    assert (
        "  warning: line 6: Entry starting at line 6 (record 2) has no title; it was left out."
        in out
    )


def test_dedupe_file_writes_a_cluster_for_every_record(tmp_path):
    combined = tmp_path / "both.ris"
    combined.write_bytes(
        (DATA / "pubmed_small.ris").read_bytes() + b"\n" + (DATA / "embase_small.ris").read_bytes()
    )
    out = tmp_path / "clusters.csv"
    call_command("dedupe_file", str(combined), "--output", str(out), "--explain")
    rows = list(csv.DictReader(out.open()))
    assert [r["record_id"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[3]["cluster_id"] == rows[0]["cluster_id"] == "1"  # the same study
    assert len({r["cluster_id"] for r in rows}) == 4
    # in plain words, as the duplicates page says it (not the engine's notation)
    assert rows[3]["reason"].startswith("with 1: ")
    assert "same DOI" in rows[3]["reason"] or "title" in rows[3]["reason"]
    assert "agree:" not in rows[3]["reason"] and "~" not in rows[3]["reason"]


def test_dedupe_file_takes_ids_from_a_named_csv_column(tmp_path):
    source = tmp_path / "records.csv"
    source.write_text(
        "record_id,title,year,doi\n"
        "a7,Running Improves Pattern Separation during Novel Object Recognition,2015,"
        "10.3233/bpl-150010\n"
        "b9,Running improves pattern separation during novel object recognition.,2015,"
        "https://doi.org/10.3233/BPL-150010\n"
    )
    out = tmp_path / "clusters.csv"
    call_command("dedupe_file", str(source), "--output", str(out), "--id-column", "record_id")
    assert out.read_text().splitlines() == ["record_id,cluster_id,line", "a7,a7,2", "b9,a7,3"]


def test_validation_cuts_overlong_fields_with_a_warning_and_refuses_missing_titles():
    from review.importers import ParsedRecord

    long_journal = ParsedRecord(title="A trial", journal="J" * 600, line=7)
    no_title = ParsedRecord(title="  ", line=12)
    problems = list(import_service.validate_entries("x.ris", [long_journal, no_title]))
    assert problems == [
        (
            7,
            "x.ris, entry at line 7: journal is longer than 500 characters; it was cut.",
            "warning",
        ),
        (12, "x.ris, entry at line 12 has no title.", "error"),
    ]
    assert len(long_journal.journal) == 500


def test_a_csv_without_a_title_column_offers_all_its_headers(client, review, lead, tmp_path):
    source = factories.SourceFactory(review=review)
    batch = import_service.import_upload(
        review=review, source=source, filename="odd.csv", content=b"Name,When\nA study,2020\n"
    )
    assert batch.status == "pending" and "title" not in batch.column_mapping
    client.force_login(lead)
    url = reverse("review:import-mapping", args=[review.slug, batch.pk])
    html = client.get(url).content.decode()
    assert '<option value="Name">Name</option>' in html
    response = client.post(url, {"title": "Name", "year": "When"})
    assert response.status_code == 302
    assert Record.objects.get().title == "A study"


def test_large_imports_match_in_a_child_process_with_the_same_result(review, monkeypatch):
    from review import dedup_service

    source = factories.SourceFactory(review=review)
    upload(review, source, "pubmed_small.ris")
    records = import_service.importers.parse(
        (DATA / "embase_small.ris").read_bytes(), "embase_small.ris", "ris"
    ).records
    in_process = dedup_service.dedup_plan(review=review, new=records)
    monkeypatch.setattr(dedup_service, "PARALLEL_MIN_RECORDS", 1)
    wait = dedup_service.dedup_plan_start(review=review, new=records)
    assert Record.objects.count() == 3  # the parent's connection still works while it runs
    in_child = wait()
    assert in_child.links == in_process.links == {"new-0": Record.objects.get(position=1).pk}
    assert in_child.pairs == in_process.pairs


def test_an_oversize_upload_is_refused_before_it_is_read_into_memory(
    client, review, lead, settings, monkeypatch
):
    """Issue 14, finding 2: a 201 MB export was read into memory (RSS 450 MB), then refused.
    It is stopped while it streams in (config.uploads), answered with 413, and never read."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    settings.IMPORT_MAX_UPLOAD_BYTES = 1024
    source = factories.SourceFactory(review=review)
    reads = []  # the view reads the upload only to hand its bytes to import_upload
    monkeypatch.setattr(
        import_service, "import_upload", lambda **kwargs: reads.append(kwargs["filename"])
    )
    client.force_login(lead)
    big = SimpleUploadedFile("huge.ris", b"TY  - JOUR\n" * 200, content_type="text/plain")
    response = client.post(
        reverse("review:import-create", args=[review.slug]), {"source": source.pk, "file": big}
    )
    assert response.status_code == 413
    assert (
        "huge.ris is larger than 1.0 KB: the largest search export this site accepts is 1.0 KB "
        "(IMPORT_MAX_UPLOAD_MB)" in response.content.decode()
    )
    assert reads == []
    assert not ImportBatch.objects.exists()


@pytest.mark.parametrize(
    ("name", "fmt", "count"),
    [("endnote_tagged.txt", "endnote_tagged", 3), ("proquest.txt", "proquest", 2)],
)
def test_endnote_tagged_and_proquest_exports_import_with_a_warning_for_the_untitled_one(
    review, lead, name, fmt, count
):
    from review.importers import FORMATS
    from review.models import ImportFormat

    assert set(FORMATS) <= set(ImportFormat.values)
    source = factories.SourceFactory(review=review)
    content = (Path(__file__).parents[1] / "data" / "importers" / name).read_bytes()
    batch = import_service.import_upload(
        review=review, source=source, filename="export.txt", content=content, user=lead
    )
    assert (batch.format, batch.status, batch.record_count) == (fmt, "done", count)
    assert Record.objects.filter(batch=batch).count() == count
    assert [p["severity"] for p in batch.problems] == ["warning"]
    assert "no title" in batch.problems[0]["message"]


def test_embase_and_springerlink_csv_keep_their_export_rules_after_the_columns_are_confirmed(
    review, lead
):
    from review.forms import MAPPABLE_FIELDS

    source = factories.SourceFactory(review=review)
    folder = Path(__file__).parents[1] / "data" / "importers"
    for name in ("embase.csv", "springer.csv"):
        batch = import_service.import_upload(
            review=review, source=source, filename=name, content=(folder / name).read_bytes()
        )
        assert batch.status == "pending"
        # What the column page sends back: only the fields it shows.
        shown = {f for f, _ in MAPPABLE_FIELDS}
        confirmed = {f: h for f, h in batch.column_mapping.items() if f in shown}
        import_service.import_confirm_mapping(batch=batch, mapping=confirmed)
        batch.refresh_from_db()
        assert batch.status == "done"
    embase = Record.objects.get(doi="10.1158/1940-6207.capr-10-0121")
    assert (embase.journal, embase.year, embase.volume, embase.issue, embase.pages) == (
        "Cancer Prevention Research",
        2010,
        "3",
        "11",
        "1451-1461",
    )
    assert "metformin" in embase.keywords
    springer = Record.objects.get(doi="10.1186/s13643-019-1074-9")
    assert springer.authors == ["Ross McDonald", "Anne LeBlanc", "Yu Wang"]


def test_the_column_page_can_switch_off_a_guessed_keyword_column(client, review, lead):
    """The extra keyword columns are on the column page; "not in this file" there wins over
    the column guessed from the header."""
    from review.forms import MAPPABLE_FIELDS

    assert {"keywords_2", "keywords_3", "extra"} <= {f for f, _ in MAPPABLE_FIELDS}
    source = factories.SourceFactory(review=review)
    content = (
        b"Authors,Title,Year,Source title,Author Keywords,Index Keywords,DOI\n"
        b'"Smith J.","Exercise and memory in older adults",2019,Neurology,"exercise; memory",'
        b'"aged; human",10.1000/xyz1\n'
    )
    kept = []
    for blank in (False, True):
        batch = import_service.import_upload(review=review, source=source, filename="scopus.csv",
                                             content=content, allow_same_file=True)  # fmt: skip
        assert batch.column_mapping["keywords_2"] == "Index Keywords"  # guessed
        client.force_login(lead)
        fields = {name: batch.column_mapping.get(name, "") for name, _ in MAPPABLE_FIELDS}
        if blank:
            fields["keywords_2"] = ""
        response = client.post(
            reverse("review:import-mapping", args=[review.slug, batch.pk]), fields)
        assert response.status_code == 302
        batch.refresh_from_db()
        assert batch.status == "done"
        kept.append(Record.objects.get(batch=batch).keywords)
    assert "aged" in kept[0] and "exercise" in kept[0]
    assert "aged" not in kept[1] and "exercise" in kept[1]
