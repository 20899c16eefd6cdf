"""A review's address: made from its title, cut between words, and editable by a lead."""

import pytest
from django.urls import reverse
from django.utils.text import slugify

from review import services
from tests import factories

pytestmark = pytest.mark.django_db

LONG = (
    "Effectiveness of structured exercise programmes for adults with major depressive "
    "disorder in primary care settings"
)


def test_a_long_title_is_cut_between_words():
    slug = services.unique_review_slug(LONG)
    whole = slugify(LONG)
    assert len(slug) <= 70 and whole.startswith(slug)
    assert whole[len(slug)] == "-"  # the next character starts a new word
    assert slug == "effectiveness-of-structured-exercise-programmes-for-adults-with-major"


def test_a_second_review_of_the_same_title_gets_a_suffix_within_the_field():
    lead = factories.UserFactory()
    first = services.review_create(title=LONG, lead=lead)
    second = services.review_create(title=LONG, lead=lead)
    assert second.slug == f"{first.slug}-2"
    assert len(second.slug) <= 80


def test_a_single_word_longer_than_the_room_is_still_cut():
    assert len(services.unique_review_slug("a" * 200)) == 70


def settings_data(review, **changes):
    return {"title": review.title, "title_abstract_mode": "dual", "full_text_mode": "dual",
            **changes}  # fmt: skip


def test_a_lead_changes_the_address_and_the_old_one_stops_working(client, review, lead):
    client.force_login(lead)
    old = reverse("review:dashboard", args=[review.slug])
    response = client.post(
        reverse("review:settings", args=[review.slug]), settings_data(review, slug="exercise-rct")
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("review:dashboard", args=["exercise-rct"])
    review.refresh_from_db()
    assert review.slug == "exercise-rct"
    assert client.get(response["Location"]).status_code == 200
    assert client.get(old).status_code == 404


@pytest.mark.parametrize(
    ("slug", "error"),
    [
        ("Not a slug!", "letters, numbers, underscores or hyphens"),
        ("12345", "cannot be only digits"),
        ("new", "is reserved"),
        ("taken", "Another review already has the address"),
    ],
)
def test_a_bad_or_taken_address_is_refused_with_a_reason(client, review, lead, slug, error):
    factories.ReviewFactory(slug="taken")
    client.force_login(lead)
    before = review.slug
    response = client.post(
        reverse("review:settings", args=[review.slug]), settings_data(review, slug=slug)
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    review.refresh_from_db()
    assert review.slug == before


def test_the_settings_page_shows_the_address_field(client, review, lead):
    client.force_login(lead)
    html = client.get(reverse("review:settings", args=[review.slug])).content.decode()
    assert f'name="slug" value="{review.slug}"' in html
    assert "Old links to this review stop working" in html
