import os

import pytest
from hypothesis import settings

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


# Property tests explore new examples locally; in CI they replay a fixed set, so a landing
# never depends on luck (a failure found locally is fixed, then stays covered).
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
