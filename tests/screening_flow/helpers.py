"""Small builders the screening-flow tests share."""

from screening import services
from tests import factories

TA, FT = "title_abstract", "full_text"


def member(review, username, role="reviewer"):
    user = factories.UserFactory(username=username)
    factories.MembershipFactory(review=review, user=user, role=role)
    return user


def vote(review, record, user, verdict, stage=TA, **kwargs):
    return services.decision_record(
        review=review, record=record, reviewer=user, stage=stage, verdict=verdict, **kwargs
    )
