import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from review.access import abilities, review_for_user
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "need", "allowed"),
    [
        ("lead", "view", True),
        ("lead", "screen", True),
        ("lead", "manage", True),
        ("reviewer", "view", True),
        ("reviewer", "screen", True),
        ("reviewer", "manage", False),
        ("viewer", "view", True),
        ("viewer", "screen", False),
        ("viewer", "manage", False),
    ],
)
def test_each_role_gets_exactly_its_abilities(review, role, need, allowed):
    user = factories.MembershipFactory(review=review, role=role).user
    if allowed:
        assert review_for_user(user, review.slug, need=need) == review
    else:
        with pytest.raises(PermissionDenied):
            review_for_user(user, review.slug, need=need)


def test_a_non_member_gets_404_as_if_the_review_did_not_exist(review, outsider):
    with pytest.raises(Http404):
        review_for_user(outsider, review.slug)
    with pytest.raises(Http404):
        review_for_user(outsider, "no-such-review")


def test_a_superuser_who_is_not_a_member_gets_404(review):
    admin = factories.UserFactory(is_superuser=True, is_staff=True)
    with pytest.raises(Http404):
        review_for_user(admin, review.slug)


def test_a_superuser_viewer_cannot_manage(review):
    admin = factories.UserFactory(is_superuser=True, is_staff=True)
    factories.MembershipFactory(review=review, user=admin, role="viewer")
    with pytest.raises(PermissionDenied):
        review_for_user(admin, review.slug, need="manage")


def test_anonymous_users_get_404(review):
    with pytest.raises(Http404):
        review_for_user(AnonymousUser(), review.slug)


def test_a_review_can_be_loaded_by_numeric_id(review, lead):
    assert review_for_user(lead, str(review.pk)) == review
    assert review_for_user(lead, review.pk) == review


def test_unknown_need_is_a_programming_error(review, lead):
    with pytest.raises(ValueError, match="need must be one of"):
        review_for_user(lead, review.slug, need="delete")


def test_the_loaded_review_carries_the_users_role(review, reviewer):
    loaded = review_for_user(reviewer, review.slug)
    assert loaded.user_role == "reviewer"
    assert abilities(reviewer, loaded) == abilities(reviewer, review)
    assert abilities(reviewer, loaded).can_screen is True
    assert abilities(reviewer, loaded).can_manage is False


def test_membership_of_another_review_gives_nothing_here(review, outsider):
    other = outsider.memberships.get().review
    assert review_for_user(outsider, other.slug, need="manage") == other
    with pytest.raises(Http404):
        review_for_user(outsider, review.slug)
