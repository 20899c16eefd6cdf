import pytest

from analysis.demo import bcg_demo_load
from review.models import Role
from tests import factories


@pytest.fixture
def bcg(db):
    """The analysis demo review (metafor's dat.bcg) with a lead, a reviewer and a viewer."""
    users = {
        "lead": (factories.UserFactory(username="bcg-lead"), Role.LEAD),
        "reviewer": (factories.UserFactory(username="bcg-reviewer"), Role.REVIEWER),
    }
    review = bcg_demo_load(users)
    viewer = factories.UserFactory(username="bcg-viewer")
    factories.MembershipFactory(review=review, user=viewer, role="viewer")
    review.lead_user = users["lead"][0]
    review.reviewer_user = users["reviewer"][0]
    review.viewer_user = viewer
    return review
