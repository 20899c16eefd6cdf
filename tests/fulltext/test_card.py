"""Finding 2: the full-text screening card shows the PDF and the saved URL beside the decision."""

from django.urls import reverse

from tests.fulltext.conftest import attach, sought_record


def test_the_full_text_card_shows_the_pdf_and_the_url(client, review, team):
    review.title_abstract_blind = False
    review.save()
    record = sought_record(review)
    attach(record, url="https://journal.example.org/paper")
    client.force_login(team["alice"])
    html = client.get(reverse("screening:screen", args=[review.slug, "full_text"])).content.decode()
    assert f'data-record="{record.pk}"' in html
    file_url = reverse("screening:retrieval-file", args=[review.slug, record.pk])
    assert f'<iframe src="{file_url}"' in html
    assert f'href="{file_url}"' in html and "Open the PDF" in html
    assert (
        '<a href="https://journal.example.org/paper" rel="noopener noreferrer" target="_blank"'
        in html
    )
    # The browser may frame the file: the view allows its own origin.
    response = client.get(file_url)
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_a_card_with_only_a_url_shows_the_link_and_no_frame(client, review, team):
    review.title_abstract_blind = False
    review.save()
    record = sought_record(review)
    from screening.models import Retrieval

    Retrieval.objects.create(
        review=review, record=record, status="retrieved", url="https://x.example.org/a"
    )
    client.force_login(team["alice"])
    html = client.get(reverse("screening:screen", args=[review.slug, "full_text"])).content.decode()
    assert f'data-record="{record.pk}"' in html
    assert "<iframe" not in html
    assert 'href="https://x.example.org/a"' in html


def test_the_title_abstract_card_shows_no_full_text(client, review, team):
    record = sought_record(review)
    record.stageresults.all().delete()
    client.force_login(team["alice"])
    html = client.get(
        reverse("screening:screen", args=[review.slug, "title_abstract"])
    ).content.decode()
    assert f'data-record="{record.pk}"' in html
    assert "<iframe" not in html
