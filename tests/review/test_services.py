import pytest
from django.core.exceptions import ValidationError

from review import services
from review.models import ImportBatch, Record, Role
from tests import factories

pytestmark = pytest.mark.django_db


def test_creating_a_review_makes_the_creator_lead_and_seeds_reasons():
    user = factories.UserFactory()
    review = services.review_create(title="Exercise for depression", lead=user)
    assert review.slug == "exercise-for-depression"
    assert review.memberships.get().role == Role.LEAD
    assert review.exclusion_reasons.count() == len(services.DEFAULT_EXCLUSION_REASONS)
    assert review.title_abstract_mode == "dual" and review.title_abstract_blind


def test_slugs_stay_unique_and_never_numeric():
    user = factories.UserFactory()
    first = services.review_create(title="2020", lead=user)
    second = services.review_create(title="2020", lead=user)
    assert (first.slug, second.slug) == ("review-2020", "review-2020-2")


def test_adding_a_member_by_username_or_email(review, lead):
    factories.UserFactory(username="ana", email="ana@example.org")
    factories.UserFactory(username="ben")
    assert (
        services.membership_add(review=review, username="ANA@example.org", role="viewer").role
        == "viewer"
    )
    assert (
        services.membership_add(review=review, username="ben", role="reviewer").user.username
        == "ben"
    )


def test_adding_an_unknown_or_existing_member_says_why(review, lead):
    with pytest.raises(ValidationError, match='No user with the username or e-mail "nobody"'):
        services.membership_add(review=review, username="nobody", role="viewer")
    with pytest.raises(ValidationError, match="already in the team"):
        services.membership_add(review=review, username=lead.username, role="viewer")


def test_the_last_lead_can_be_neither_demoted_nor_removed(review, lead):
    membership = review.memberships.get(user=lead)
    with pytest.raises(ValidationError, match="at least one lead"):
        services.membership_set_role(membership=membership, role="reviewer")
    with pytest.raises(ValidationError, match="at least one lead"):
        services.membership_remove(membership=membership)
    membership.refresh_from_db()
    assert membership.role == "lead"


def test_a_lead_can_step_down_once_another_lead_exists(review, lead, reviewer):
    services.membership_set_role(membership=review.memberships.get(user=reviewer), role="lead")
    services.membership_set_role(membership=review.memberships.get(user=lead), role="viewer")
    assert set(review.memberships.values_list("role", flat=True)) == {"lead", "viewer"}


def test_an_invalid_role_is_refused(review, lead, reviewer):
    with pytest.raises(ValidationError):
        services.membership_set_role(membership=review.memberships.get(user=reviewer), role="boss")


def test_records_are_added_as_one_batch_with_keys(review, lead):
    source = factories.SourceFactory(review=review)
    batch = services.records_add(
        review=review,
        source=source,
        filename="pubmed.csv",
        content=b"abc",
        user=lead,
        entries=[
            {"title": "Trial A", "doi": "https://doi.org/10.1000/A", "authors": ["Doe, J."]},
            {"title": "Trial B", "pmid": "PMID: 123", "year": 2019},
        ],
    )
    assert batch.record_count == 2 and batch.status == "done" and len(batch.sha256) == 64
    a, b = Record.objects.filter(batch=batch).order_by("position")
    assert (a.position, a.doi, a.first_author_key, b.pmid, b.year) == (
        1,
        "10.1000/a",
        "doe",
        "123",
        2019,
    )


def test_a_bad_entry_writes_nothing_and_names_its_position(review, lead):
    source = factories.SourceFactory(review=review)
    entries = [{"title": "Fine"}, {"title": "Bad year", "year": 99}]
    with pytest.raises(ValidationError, match=r"export\.ris, entry 2: year:"):
        services.records_add(review=review, source=source, filename="export.ris", entries=entries)
    assert not ImportBatch.objects.exists() and not Record.objects.exists()


def test_records_cannot_be_added_through_another_reviews_source(review):
    foreign = factories.SourceFactory()
    with pytest.raises(ValidationError, match="belongs to another review"):
        services.records_add(
            review=review, source=foreign, filename="x.ris", entries=[{"title": "t"}]
        )


def test_exclusion_reasons_are_reordered_deactivated_and_reactivated(review, lead):
    services.exclusion_reasons_set(review=review, labels=["Wrong population", "Wrong design"])
    services.exclusion_reasons_set(review=review, labels=["Wrong design", "Animal study"])
    reasons = {r.label: (r.position, r.is_active) for r in review.exclusion_reasons.all()}
    assert reasons == {
        "Wrong design": (1, True),
        "Animal study": (2, True),
        "Wrong population": (1, False),
    }
    services.exclusion_reasons_set(review=review, labels=["wrong POPULATION"])
    reason = review.exclusion_reasons.get(label="wrong POPULATION")
    assert (reason.position, reason.is_active) == (1, True)
    assert review.exclusion_reasons.filter(is_active=True).count() == 1


def test_a_review_can_start_with_its_own_reasons():
    review = services.review_create(
        title="t", lead=factories.UserFactory(), exclusion_reasons=["Not an RCT", "Not an RCT"]
    )
    assert list(review.exclusion_reasons.values_list("label", flat=True)) == ["Not an RCT"]
