import pytest
from django.urls import reverse

from review.models import Membership, Review, Source
from tests import factories

pytestmark = pytest.mark.django_db


def test_every_page_needs_a_login(client, review):
    factories.UserFactory()  # past the first run: with no account at all, / leads to /setup/
    for url in (
        reverse("review:list"),
        reverse("review:create"),
        reverse("review:dashboard", args=[review.slug]),
        reverse("review:team", args=[review.slug]),
        reverse("review:settings", args=[review.slug]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login") + "?next="), url


def test_login_page_is_open_and_login_lands_on_the_review_list(client, lead):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(
        reverse("login"), {"username": lead.username, "password": "pw-for-tests"}
    )
    assert response.status_code == 302 and response.url == reverse("review:list")


def test_the_list_shows_my_reviews_only_with_my_role(client, review, reviewer, outsider):
    client.force_login(reviewer)
    response = client.get(reverse("review:list"))
    assert response.status_code == 200
    assert list(response.context["reviews"]) == [review]
    assert response.context["reviews"][0].user_role == "reviewer"
    other = outsider.memberships.get().review
    assert other.title not in response.content.decode()


def test_the_list_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    user = factories.UserFactory()
    for _ in range(5):
        factories.RecordFactory(batch__source__review=factories.MembershipFactory(user=user).review)
    client.force_login(user)
    with django_assert_max_num_queries(4):
        client.get(reverse("review:list"))


def test_a_non_member_gets_404_on_every_review_page(client, review, outsider):
    client.force_login(outsider)
    for name in ("review:dashboard", "review:team", "review:settings", "review:source-create"):
        assert client.get(reverse(name, args=[review.slug])).status_code == 404, name
    member = review.memberships.create(user=factories.UserFactory(), role="viewer")
    post_urls = [
        reverse("review:member-add", args=[review.slug]),
        reverse("review:member-role", args=[review.slug, member.pk]),
        reverse("review:member-remove", args=[review.slug, member.pk]),
    ]
    for url in post_urls:
        assert client.post(url, {"role": "lead", "username": outsider.username}).status_code == 404
    assert not review.memberships.filter(user=outsider).exists()


def test_create_review_makes_me_lead(client):
    user = factories.UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("review:create"),
        {
            "title": "Statins and dementia",
            "title_abstract_mode": "single",
            "full_text_mode": "dual",
            "full_text_blind": "on",
            "highlight_include": "statin, dementia\nAlzheimer",
        },
    )
    review = Review.objects.get(title="Statins and dementia")
    assert response.url == reverse("review:dashboard", args=[review.slug])
    assert review.memberships.get(user=user).role == "lead"
    assert review.highlight_include == ["statin", "dementia", "Alzheimer"]
    assert (review.title_abstract_mode, review.title_abstract_blind) == ("single", False)


def test_create_review_shows_errors(client):
    client.force_login(factories.UserFactory())
    response = client.post(reverse("review:create"), {"title": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_dashboard_shows_sources_imports_and_counts(client, review, viewer):
    record = factories.RecordFactory(batch__source__review=review, batch__source__name="Embase")
    factories.RecordFactory(batch=record.batch, duplicate_of=record)
    client.force_login(viewer)
    response = client.get(reverse("review:dashboard", args=[review.slug]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Embase" in html and "export.ris" in html
    assert response.context["counts"].duplicates == 1
    assert 'data-count="count=database_results"><a href="/reviews/' in html
    assert "?count=duplicates\">1</a>" in html
    assert "Add source" not in html  # viewers cannot manage


def test_only_leads_change_settings(client, review, lead, reviewer):
    client.force_login(reviewer)
    assert client.get(reverse("review:settings", args=[review.slug])).status_code == 403
    client.force_login(lead)
    data = {"title": "Renamed", "title_abstract_mode": "single", "full_text_mode": "single"}
    response = client.post(reverse("review:settings", args=[review.slug]), data)
    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.title, review.title_abstract_mode) == ("Renamed", "single")


def test_lead_adds_a_source(client, review, lead, reviewer):
    url = reverse("review:source-create", args=[review.slug])
    data = {"name": "MEDLINE via PubMed", "arm": "database", "date_searched": "2026-01-31"}
    client.force_login(reviewer)
    assert client.post(url, data).status_code == 403
    client.force_login(lead)
    assert client.post(url, data).status_code == 302
    assert Source.objects.get(review=review).name == "MEDLINE via PubMed"
    response = client.post(url, data)  # the same name again
    assert response.status_code == 200
    assert (
        "This review already has a source named “MEDLINE via PubMed”." in response.content.decode()
    )


def test_team_page_lists_members_for_everyone_but_only_leads_manage(client, review, lead, viewer):
    client.force_login(viewer)
    response = client.get(reverse("review:team", args=[review.slug]))
    html = response.content.decode()
    assert lead.username in html and viewer.username in html
    assert "Add a member" not in html
    assert (
        client.post(
            reverse("review:member-add", args=[review.slug]), {"username": "x", "role": "viewer"}
        ).status_code
        == 403
    )


def test_lead_adds_member_and_changes_role_with_htmx(client, review, lead):
    newcomer = factories.UserFactory(username="newcomer")
    client.force_login(lead)
    response = client.post(
        reverse("review:member-add", args=[review.slug]), {"username": "newcomer", "role": "viewer"}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(review=review, user=newcomer)
    response = client.post(
        reverse("review:member-role", args=[review.slug, membership.pk]),
        {"role": "reviewer"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert f'id="member-{membership.pk}"' in response.content.decode()
    assert "<html" not in response.content.decode()  # only the row partial
    membership.refresh_from_db()
    assert membership.role == "reviewer"


def test_adding_an_unknown_user_explains(client, review, lead):
    client.force_login(lead)
    response = client.post(
        reverse("review:member-add", args=[review.slug]), {"username": "ghost", "role": "viewer"}
    )
    assert response.status_code == 400
    assert "No user with the username or e-mail" in response.content.decode()


def test_the_last_lead_cannot_step_down_through_the_page(client, review, lead):
    client.force_login(lead)
    membership = review.memberships.get(user=lead)
    response = client.post(
        reverse("review:member-role", args=[review.slug, membership.pk]),
        {"role": "viewer"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200  # htmx swaps the row, showing the error in it
    assert "at least one lead" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == "lead"


def test_lead_removes_a_member(client, review, lead, reviewer):
    client.force_login(lead)
    membership = review.memberships.get(user=reviewer)
    response = client.post(reverse("review:member-remove", args=[review.slug, membership.pk]))
    assert response.status_code == 302
    assert not review.memberships.filter(user=reviewer).exists()


def test_a_member_id_from_another_review_is_not_found(client, review, lead, outsider):
    foreign = outsider.memberships.get()
    client.force_login(lead)
    url = reverse("review:member-remove", args=[review.slug, foreign.pk])
    assert client.post(url).status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_static_css_is_local(client, lead):
    client.force_login(lead)
    html = client.get(reverse("review:list")).content.decode()
    assert "/static/css/app.css" in html
    assert "https://" not in html and "http://" not in html.replace('xmlns="http://', "")


def test_settings_edit_exclusion_reasons_one_per_line(client, review, lead):
    client.force_login(lead)
    url = reverse("review:settings", args=[review.slug])
    assert "Wrong patient population" not in client.get(url).content.decode()  # factory review
    data = {
        "title": review.title,
        "title_abstract_mode": "dual",
        "full_text_mode": "dual",
        "exclusion_reasons": "Not an RCT\r\nWrong population\r\n\r\n",
    }
    assert client.post(url, data).status_code == 302
    active = review.exclusion_reasons.filter(is_active=True)
    assert list(active.values_list("label", flat=True)) == ["Not an RCT", "Wrong population"]
    assert "Not an RCT\nWrong population" in client.get(url).content.decode()


def test_settings_errors_keep_the_saved_title_in_the_header(client, review, lead):
    client.force_login(lead)
    url = reverse("review:settings", args=[review.slug])
    response = client.post(url, {"title": "", "title_abstract_mode": "dual"})
    assert response.status_code == 200
    assert f"<h1>{review.title}</h1>" in response.content.decode()
    review.refresh_from_db()
    assert review.title
