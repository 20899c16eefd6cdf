import pytest

from tests.screening_flow.helpers import member


@pytest.fixture
def team(review):
    """Blind dual mode at both stages (the defaults): a lead, two reviewers, a viewer."""
    return {
        "lead": member(review, "lena", "lead"),
        "alice": member(review, "alice"),
        "bob": member(review, "bob"),
        "viewer": member(review, "vic", "viewer"),
    }
