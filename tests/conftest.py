import pytest

from tests import factories


@pytest.fixture
def review(db):
    return factories.ReviewFactory()


@pytest.fixture
def lead(review):
    return factories.MembershipFactory(review=review, role="lead").user


@pytest.fixture
def reviewer(review):
    return factories.MembershipFactory(review=review, role="reviewer").user


@pytest.fixture
def viewer(review):
    return factories.MembershipFactory(review=review, role="viewer").user


@pytest.fixture
def outsider(db):
    """A user who is a member of another review only."""
    return factories.MembershipFactory(role="lead").user
