"""Finding 2: an empty file, a binary named .pdf, an oversized file and a non-http(s) URL are
refused with an error naming the file or the URL; nothing is saved."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from screening.models import Retrieval
from tests.fulltext.conftest import sought_record
from tests.fulltext.pdfs import PDF


def save(client, record, **data):
    url = reverse("screening:retrieval-save", args=[record.review.slug, record.pk])
    return client.post(url, {"status": "retrieved", **data}, follow=True)


@pytest.fixture
def record(review, team, client):
    client.force_login(team["lead"])
    return sought_record(review)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "“paper.pdf” is empty."),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000, "“paper.pdf” is not a PDF"),
        (b"MZ\x90\x00" + b"%PDF-" * 0 + b"\x00" * 3000, "“paper.pdf” is not a PDF"),
    ],
)
def test_an_empty_or_fake_pdf_is_refused(client, record, content, message):
    response = save(client, record, file=SimpleUploadedFile("paper.pdf", content))
    assert message in response.content.decode()
    assert not Retrieval.objects.filter(record=record).exists()


def test_a_pdf_over_the_size_limit_is_refused(client, record, settings):
    """Stopped while it streams in (config.uploads, issue 14 finding 2): a 413 naming the file
    and the limit, before the view runs."""
    settings.FULLTEXT_MAX_UPLOAD_MB = 1
    big = PDF + b"%" + b"x" * (1024 * 1024)
    response = save(client, record, file=SimpleUploadedFile("big.pdf", big))
    assert response.status_code == 413
    assert (
        "big.pdf is larger than 1.0 MB: the largest full text this site accepts is 1.0 MB "
        "(FULLTEXT_MAX_UPLOAD_MB)" in response.content.decode()
    )
    assert not Retrieval.objects.filter(record=record).exists()


def test_the_view_still_refuses_a_pdf_over_the_limit(record, settings):
    """The service's own check stays (a file that reaches it some other way)."""
    from django.core.exceptions import ValidationError

    from screening.services import fulltext_file_check

    settings.FULLTEXT_MAX_UPLOAD_MB = 1
    big = SimpleUploadedFile("big.pdf", PDF + b"%" + b"x" * (1024 * 1024))
    with pytest.raises(ValidationError, match=r"“big\.pdf” is larger than the 1 MB limit"):
        fulltext_file_check(big)


def test_a_real_pdf_is_accepted_even_after_a_preamble(client, record):
    preamble = b"\x00" * 100  # some writers put bytes before the header (< 1024 allowed)
    response = save(client, record, file=SimpleUploadedFile("ok.pdf", preamble + PDF))
    assert f"Record {record.number} saved." in response.content.decode()
    assert Retrieval.objects.get(record=record).file.name.endswith(".pdf")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.org/paper.pdf",
        "JaVaScRiPt:alert(1)",
        "not a url",
    ],
)
def test_a_url_that_is_not_http_or_https_is_refused(client, record, url):
    response = save(client, record, url=url)
    assert "The full text’s URL must be a web address starting with http:// or https://" in (
        response.content.decode()
    )
    assert not Retrieval.objects.filter(record=record).exists()


def test_an_https_url_is_accepted(client, record):
    save(client, record, url=" https://journal.example.org/a?b=1 ")
    assert Retrieval.objects.get(record=record).url == "https://journal.example.org/a?b=1"
