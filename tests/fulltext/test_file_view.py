"""Finding 2: an uploaded full text opens through an authorised view, never /media/."""

import pytest
from django.urls import reverse

from review.models import Arm
from tests.fulltext.conftest import attach, sought_record
from tests.fulltext.pdfs import PDF


def file_url(record):
    return reverse("screening:retrieval-file", args=[record.review.slug, record.pk])


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_media_url_is_not_served_and_the_view_serves_the_pdf_inline(client, review, team):
    record = sought_record(review)
    retrieval = attach(record)
    client.force_login(team["lead"])
    assert client.get("/" + "media/" + retrieval.file.name).status_code == 404
    response = client.get(file_url(record))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert 'filename="paper' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert body(response) == PDF


def test_a_file_that_is_not_a_pdf_is_downloaded_never_shown(client, review, team):
    record = sought_record(review)
    attach(record, content=b"<html><script>alert(1)</script></html>", name="notes.pdf")
    client.force_login(team["lead"])
    response = client.get(file_url(record))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_non_member_gets_404(client, review, team, outsider):
    record = sought_record(review)
    attach(record)
    client.force_login(outsider)
    assert client.get(file_url(record)).status_code == 404


def test_an_anonymous_user_is_sent_to_log_in(client, review, team):
    record = sought_record(review)
    attach(record)
    response = client.get(file_url(record))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_no_file_or_a_record_of_another_review_is_404(client, review, team, outsider):
    record = sought_record(review)
    client.force_login(team["lead"])
    assert client.get(file_url(record)).status_code == 404  # no retrieval yet
    other = sought_record(factories_review())
    attach(other)
    url = reverse("screening:retrieval-file", args=[review.slug, other.pk])
    assert client.get(url).status_code == 404


def factories_review():
    from tests import factories

    return factories.ReviewFactory()


def test_blind_title_abstract_hides_a_database_records_full_text(client, review, team):
    """While title/abstract screening is blind, a reviewer may not know which database
    records it included: the file of one is refused exactly like the retrieval page hides it;
    an other-methods record's file opens; the lead opens both; lifting the blinding opens it."""
    database = sought_record(review)
    attach(database)
    citation = sought_record(review, arm=Arm.CITATION, title="Found by citation")
    attach(citation)
    client.force_login(team["alice"])
    assert client.get(file_url(database)).status_code == 404
    page = client.get(reverse("screening:retrieval", args=[review.slug])).content.decode()
    assert file_url(database) not in page
    assert file_url(citation) in page
    assert client.get(file_url(citation)).status_code == 200
    client.force_login(team["lead"])
    assert client.get(file_url(database)).status_code == 200
    review.title_abstract_blind = False
    review.save()
    client.force_login(team["alice"])
    assert client.get(file_url(database)).status_code == 200


def test_a_viewer_may_open_a_full_text_they_may_see(client, review, team):
    review.title_abstract_blind = False
    review.save()
    record = sought_record(review)
    attach(record)
    client.force_login(team["viewer"])
    assert client.get(file_url(record)).status_code == 200


@pytest.mark.parametrize("page", ["retrieval", "record"])
def test_pages_link_the_pdf_through_the_view_never_media(client, review, team, page):
    record = sought_record(review)
    attach(record, url="https://journal.example.org/paper")
    client.force_login(team["lead"])
    args = [review.slug] if page == "retrieval" else [review.slug, record.pk]
    html = client.get(reverse(f"screening:{page}", args=args)).content.decode()
    assert f'href="{file_url(record)}"' in html
    assert "/media/" not in html
    assert (
        '<a href="https://journal.example.org/paper" rel="noopener noreferrer" target="_blank"'
        in html
    )
