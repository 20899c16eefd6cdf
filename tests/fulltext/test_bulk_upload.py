"""A lead uploads several full texts at once (PDFs or a ZIP), reads the match report and
confirms: each matched file becomes its record's retrieval file, in one transaction."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from screening.models import BulkUpload, BulkUploadFile, BulkUploadStatus, Retrieval
from tests.fulltext.conftest import attach, sought_record
from tests.fulltext.pdfs import pdf_bytes


def upload_url(review):
    return reverse("screening:bulk-upload", args=[review.slug])


def files_under(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def records(review):
    return {
        "doi": sought_record(review, title="Aspirin for stroke", doi="10.1000/xyz123"),
        "number": sought_record(review, title="Statins in older adults"),
        "title": sought_record(
            review, title="Exercise training in heart failure with preserved ejection fraction"
        ),
    }


@pytest.fixture
def lead_client(client, team):
    client.force_login(team["lead"])
    return client


def post_files(client, review, *files):
    return client.post(upload_url(review), {"files": list(files)}, follow=True)


def pdf_file(name, *lines, metadata=None):
    return SimpleUploadedFile(name, pdf_bytes(*lines, metadata=metadata), "application/pdf")


def test_the_upload_form_has_a_labelled_file_input(lead_client, review):
    html = lead_client.get(upload_url(review)).content.decode()
    assert '<label for="bulk-files">PDF files or a ZIP of PDFs</label>' in html
    assert 'id="bulk-files" name="files" multiple' in html
    assert ">Upload and match</button>" in html
    retrieval = lead_client.get(reverse("screening:retrieval", args=[review.slug]))
    assert f'href="{upload_url(review)}"' in retrieval.content.decode()


def test_several_pdfs_are_matched_then_attached_on_confirmation(
    lead_client, review, records, media, django_capture_on_commit_callbacks
):
    response = post_files(
        lead_client,
        review,
        pdf_file("scan-001.pdf", "Stroke Journal", "doi:10.1000/XYZ123"),
        pdf_file(f"{records['number'].pk}.pdf", "Some text"),
        pdf_file(
            "paper.pdf",
            metadata={"/Title": "Exercise training in heart failure with preserved ejection"},
        ),
        pdf_file("minutes.pdf", "Minutes of the team meeting"),
    )
    upload = BulkUpload.objects.get()
    assert response.redirect_chain[-1][0] == reverse(
        "screening:bulk-report", args=[review.slug, upload.pk]
    )
    html = response.content.decode()
    assert "3 of 4 files matched" in html
    assert "Unmatched (not attached)" in html and "minutes.pdf" in html
    assert ">Confirm</button>" in html
    matched = {f.filename: (f.record_id, f.method) for f in upload.files.all()}
    assert matched == {
        "scan-001.pdf": (records["doi"].pk, "doi"),
        f"{records['number'].pk}.pdf": (records["number"].pk, "filename"),
        "paper.pdf": (records["title"].pk, "title"),
        "minutes.pdf": (None, ""),
    }
    assert not Retrieval.objects.exists()  # nothing attached before the lead confirms

    attach_ids = [str(f.pk) for f in upload.files.exclude(record=None)]
    confirm = reverse("screening:bulk-confirm", args=[review.slug, upload.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = lead_client.post(confirm, {"attach": attach_ids}, follow=True)
    assert "3 full texts attached." in response.content.decode()
    retrievals = {r.record_id: r for r in Retrieval.objects.all()}
    assert set(retrievals) == {r.pk for r in records.values()}
    for retrieval in retrievals.values():
        assert retrieval.status == "retrieved"
        assert retrieval.file.read().startswith(b"%PDF-")
    upload.refresh_from_db()
    assert (upload.status, upload.attached) == (BulkUploadStatus.CONFIRMED, 3)
    # The waiting copies are gone; only the attached full texts remain.
    assert all(name.startswith("fulltext/") for name in files_under(media))
    # The file view serves the attached PDF.
    url = reverse("screening:retrieval-file", args=[review.slug, records["doi"].pk])
    assert lead_client.get(url)["Content-Type"] == "application/pdf"
    # A confirmed upload cannot be confirmed again.
    response = lead_client.post(confirm, {"attach": attach_ids}, follow=True)
    assert "This upload was already confirmed." in response.content.decode()
    assert Retrieval.objects.count() == 3


def test_an_unticked_file_is_not_attached(lead_client, review, records):
    post_files(lead_client, review, pdf_file("a.pdf", "doi:10.1000/xyz123"))
    upload = BulkUpload.objects.get()
    confirm = reverse("screening:bulk-confirm", args=[review.slug, upload.pk])
    lead_client.post(confirm, {})
    assert not Retrieval.objects.exists()
    upload.refresh_from_db()
    assert (upload.status, upload.attached) == (BulkUploadStatus.CONFIRMED, 0)


def test_two_files_for_one_record_are_flagged_and_the_lead_chooses(lead_client, review, records):
    record = records["doi"]
    response = post_files(
        lead_client,
        review,
        pdf_file("first.pdf", "doi:10.1000/xyz123"),
        pdf_file("10.1000_xyz123.pdf", "Another copy"),
    )
    html = response.content.decode()
    assert f"Record {record.number} is matched by 2 files: choose one" in html
    upload = BulkUpload.objects.get()
    first, second = upload.files.all()
    assert first.duplicate and second.duplicate
    confirm = reverse("screening:bulk-confirm", args=[review.slug, upload.pk])
    response = lead_client.post(confirm, {"attach": [first.pk, second.pk]}, follow=True)
    assert (
        f"Record {record.number} is matched by 2 files (“first.pdf”, “10.1000_xyz123.pdf”): "
        "choose which one to attach, or neither." in response.content.decode()
    )
    assert not Retrieval.objects.exists()
    assert BulkUpload.objects.get().status == BulkUploadStatus.OPEN
    lead_client.post(confirm, {f"choice-{record.pk}": second.pk})
    retrieval = Retrieval.objects.get()
    assert retrieval.record == record
    assert b"Another copy" in _text(retrieval)


def _text(retrieval):
    from screening.fulltext_pdf import read_pdf

    return read_pdf(retrieval.file.open("rb")).text.encode()


def test_a_zip_of_pdfs_is_read_safely(lead_client, review, records, media):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("papers/one.pdf", pdf_bytes("doi:10.1000/xyz123"))
        archive.writestr("../../evil.pdf", pdf_bytes("Nothing here"))
        archive.writestr("readme.txt", "not a pdf")
        archive.writestr("fake.pdf", b"\x00binary\x00" * 10)
        archive.writestr("__MACOSX/papers/._one.pdf", b"resource fork")
    archive = SimpleUploadedFile("papers.zip", buffer.getvalue(), "application/zip")
    html = post_files(lead_client, review, archive).content.decode()
    upload = BulkUpload.objects.get()
    rows = {f.filename: f for f in upload.files.all()}
    assert set(rows) == {"one.pdf", "evil.pdf", "readme.txt", "fake.pdf"}
    assert rows["one.pdf"].record == records["doi"]
    assert rows["evil.pdf"].record is None and rows["evil.pdf"].problem == ""
    assert rows["readme.txt"].problem == "“readme.txt” is not a PDF file: skipped."
    assert rows["fake.pdf"].problem.startswith("“fake.pdf” is not a PDF")
    assert "Refused" in html and "“readme.txt” is not a PDF file: skipped." in html
    # Every stored file is inside MEDIA_ROOT's private folder, whatever the entry's path said.
    stored = files_under(media)
    assert len(stored) == 2 and all(name.startswith("fulltext-bulk/") for name in stored)
    assert not (media.parent / "evil.pdf").exists()


def test_a_zip_bomb_is_refused_and_nothing_is_kept(lead_client, review, records, settings, media):
    settings.FULLTEXT_BULK_MAX_MB = 1
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.pdf", b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024))
    assert len(buffer.getvalue()) < 50_000
    archive = SimpleUploadedFile("bomb.zip", buffer.getvalue(), "application/zip")
    html = post_files(lead_client, review, archive).content.decode()
    assert "“bomb.zip” holds more than the 1 MB an upload may hold (uncompressed)." in html
    assert not BulkUpload.objects.exists() and not BulkUploadFile.objects.exists()
    assert not media.exists() or files_under(media) == []


def test_an_upload_with_no_pdf_is_refused_naming_the_files(lead_client, review, records):
    html = post_files(
        lead_client,
        review,
        SimpleUploadedFile("empty.pdf", b""),
        SimpleUploadedFile("broken.zip", b"PK\x03\x04 not really"),
    ).content.decode()
    assert "No PDF to match" in html
    assert "“empty.pdf” is empty." in html
    assert "“broken.zip” is not a readable ZIP file." in html
    assert not BulkUpload.objects.exists()


def test_a_file_for_a_record_with_a_pdf_says_it_replaces_it(lead_client, review, records):
    attach(records["doi"])
    html = post_files(lead_client, review, pdf_file("a.pdf", "doi:10.1000/xyz123")).content
    assert "replaces the current PDF" in html.decode()


def test_discarding_deletes_the_waiting_files(
    lead_client, review, records, media, django_capture_on_commit_callbacks
):
    post_files(lead_client, review, pdf_file("a.pdf", "doi:10.1000/xyz123"))
    upload = BulkUpload.objects.get()
    discard = reverse("screening:bulk-discard", args=[review.slug, upload.pk])
    with django_capture_on_commit_callbacks(execute=True):
        lead_client.post(discard)
    upload.refresh_from_db()
    assert upload.status == BulkUploadStatus.DISCARDED
    assert files_under(media) == []
    assert not Retrieval.objects.exists()


def test_only_a_lead_may_bulk_upload(client, review, team, outsider, records):
    client.force_login(team["alice"])
    assert client.get(upload_url(review)).status_code == 403
    client.force_login(outsider)
    assert client.get(upload_url(review)).status_code == 404
    other_lead_upload = BulkUpload.objects.create(review=review, created_by=team["lead"])
    report = reverse("screening:bulk-report", args=[review.slug, other_lead_upload.pk])
    assert client.get(report).status_code == 404
