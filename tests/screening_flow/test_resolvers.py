"""A third reviewer chosen by the lead resolves conflicts; the "awaiting a second reviewer" list."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse

from review import services as review_services
from review.access import abilities, review_for_user
from review.models import Membership
from screening import services
from screening.models import ScreeningAction, ScreeningEvent, StageResult
from tests import factories
from tests.screening_flow.helpers import vote

pytestmark = pytest.mark.django_db
TA = "title_abstract"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def records(review):
    batch = factories.ImportBatchFactory(source__review=review)
    return [factories.RecordFactory(batch=batch, title=f"Trial {i}") for i in range(4)]


@pytest.fixture
def second(review):
    return factories.MembershipFactory(review=review, role="reviewer").user


@pytest.fixture
def resolver(review):
    return factories.MembershipFactory(review=review, role="reviewer", can_resolve=True).user


def conflict(review, record, first, second):
    vote(review, record, first, "include")
    vote(review, record, second, "exclude")


def resolve(review, record, user, verdict="include"):
    return services.conflict_resolve(
        review=review, record=record, stage=TA, resolver=user, verdict=verdict
    )


# Access: the "resolve" need and abilities().can_resolve


def test_leads_and_chosen_reviewers_may_resolve_others_may_not(
    review, lead, resolver, reviewer, viewer, outsider
):
    for user in (lead, resolver):
        loaded = review_for_user(user, review.slug, need="resolve")
        assert abilities(user, loaded).can_resolve is True
    for user in (reviewer, viewer):
        with pytest.raises(PermissionDenied):
            review_for_user(user, review.slug, need="resolve")
        assert abilities(user, review).can_resolve is False
    with pytest.raises(Http404):
        review_for_user(outsider, review.slug, need="resolve")


def test_the_flag_counts_only_for_reviewers(review, viewer):
    Membership.objects.filter(user=viewer).update(can_resolve=True)  # a stale flag
    with pytest.raises(PermissionDenied):
        review_for_user(viewer, review.slug, need="resolve")


def test_only_a_reviewer_can_be_chosen_and_a_role_change_withdraws_it(review, lead, viewer):
    membership = Membership.objects.get(review=review, user=viewer)
    with pytest.raises(ValidationError, match="Only a reviewer"):
        review_services.membership_set_resolver(membership=membership, can_resolve=True)
    review_services.membership_set_role(membership=membership, role="reviewer")
    review_services.membership_set_resolver(membership=membership, can_resolve=True)
    assert Membership.objects.get(pk=membership.pk).can_resolve is True
    review_services.membership_set_role(membership=membership, role="viewer")
    assert Membership.objects.get(pk=membership.pk).can_resolve is False


# The team page: the lead ticks a checkbox (htmx), like the role change


def test_the_lead_chooses_a_resolver_on_the_team_page(client, review, lead, reviewer):
    membership = Membership.objects.get(review=review, user=reviewer)
    url = reverse("review:member-resolver", args=[review.slug, membership.pk])
    client.force_login(lead)
    html = client.get(reverse("review:team", args=[review.slug])).content.decode()
    assert url in html and "Resolves conflicts" in html
    row = client.post(url, {"can_resolve": "on"}, headers=HTMX).content.decode()
    assert row.lstrip().startswith(f'<tr id="member-{membership.pk}"') and " checked" in row
    assert Membership.objects.get(pk=membership.pk).can_resolve is True
    row = client.post(url, {}, headers=HTMX).content.decode()  # unticked: no field sent
    assert " checked" not in row
    assert Membership.objects.get(pk=membership.pk).can_resolve is False


def test_choosing_a_viewer_shows_the_error_in_the_row(client, review, lead, viewer):
    membership = Membership.objects.get(review=review, user=viewer)
    client.force_login(lead)
    response = client.post(
        reverse("review:member-resolver", args=[review.slug, membership.pk]),
        {"can_resolve": "on"},
        headers=HTMX,
    )
    assert "Only a reviewer" in response.content.decode()
    assert Membership.objects.get(pk=membership.pk).can_resolve is False


def test_only_a_lead_chooses_resolvers(client, review, lead, resolver, reviewer, outsider):
    membership = Membership.objects.get(review=review, user=reviewer)
    url = reverse("review:member-resolver", args=[review.slug, membership.pk])
    client.force_login(resolver)
    assert client.post(url, {"can_resolve": "on"}).status_code == 403
    client.force_login(outsider)
    assert client.post(url, {"can_resolve": "on"}).status_code == 404
    assert Membership.objects.get(pk=membership.pk).can_resolve is False


# Resolving: the service and the conflicts page


def test_a_chosen_reviewer_resolves_a_conflict_of_two_others(
    client, review, records, reviewer, second, resolver
):
    conflict(review, records[0], reviewer, second)
    client.force_login(resolver)
    html = client.get(reverse("screening:conflicts", args=[review.slug, TA])).content.decode()
    assert f'id="conflict-{records[0].pk}"' in html
    assert reverse("screening:conflicts", args=[review.slug, TA]) in html  # the nav tab
    client.post(reverse("screening:resolve", args=[review.slug, TA, records[0].pk]),
                {"verdict": "exclude"})  # fmt: skip
    result = StageResult.objects.get(record=records[0], superseded_at=None)
    assert (result.method, result.decided_by, result.verdict) == ("resolution", resolver, "exclude")
    event = ScreeningEvent.objects.get(record=records[0], action=ScreeningAction.RESOLVE)
    assert event.user == resolver and event.created_at is not None


def test_a_resolver_never_resolves_nor_sees_a_conflict_they_voted_in(
    client, review, records, reviewer, resolver, lead
):
    conflict(review, records[0], resolver, reviewer)
    assert list(services.conflicts_for(review, TA, resolver)) == []
    assert list(services.conflicts_for(review, TA, lead)) == [records[0]]
    with pytest.raises(ValidationError, match="You voted on record"):
        resolve(review, records[0], resolver)
    client.force_login(resolver)
    html = client.get(reverse("screening:conflicts", args=[review.slug, TA])).content.decode()
    assert f'id="conflict-{records[0].pk}"' not in html
    response = client.post(
        reverse("screening:resolve", args=[review.slug, TA, records[0].pk]),
        {"verdict": "include"},
        follow=True,
    )
    assert "You voted on record" in response.content.decode()
    assert not StageResult.objects.filter(record=records[0]).exists()
    assert resolve(review, records[0], lead).decided_by == lead  # a lead may


def test_a_lead_may_resolve_a_conflict_they_voted_in(review, records, reviewer, lead):
    conflict(review, records[0], lead, reviewer)
    assert resolve(review, records[0], lead, "exclude").verdict == "exclude"


def test_the_service_refuses_a_reviewer_who_was_not_chosen(review, records, reviewer, second):
    third = factories.MembershipFactory(review=review, role="reviewer").user
    conflict(review, records[0], reviewer, second)
    with pytest.raises(ValidationError, match="Only a lead or a reviewer they chose"):
        resolve(review, records[0], third)


def test_conflicts_page_and_resolve_permissions(
    client, review, records, reviewer, second, viewer, outsider
):
    conflict(review, records[0], reviewer, second)
    page = reverse("screening:conflicts", args=[review.slug, TA])
    post = reverse("screening:resolve", args=[review.slug, TA, records[0].pk])
    for user, status in ((reviewer, 403), (viewer, 403), (outsider, 404)):
        client.force_login(user)
        assert client.get(page).status_code == status
        assert client.post(post, {"verdict": "include"}).status_code == status
    client.force_login(reviewer)
    nav = client.get(reverse("screening:screen", args=[review.slug, TA])).content.decode()
    assert page not in nav  # no Conflicts tab for a reviewer who was not chosen
    assert not StageResult.objects.exists()


# Awaiting a second reviewer


def test_awaiting_second_lists_records_with_exactly_one_vote(
    review, records, reviewer, second, lead
):
    vote(review, records[0], reviewer, "maybe")  # one vote: waiting
    conflict(review, records[1], reviewer, second)  # two votes: a conflict
    vote(review, records[2], reviewer, "exclude")  # two agreeing votes: settled
    vote(review, records[2], second, "exclude")
    assert list(services.awaiting_second(review, TA)) == [records[0]]
    review.title_abstract_mode = "single"
    review.save()
    assert list(services.awaiting_second(review, TA)) == []


def _awaiting_section(html: str) -> str:
    start = html.index('data-testid="awaiting"')
    return html[start : html.index("</section>", start)]


def test_blind_mode_shows_who_voted_but_not_the_verdict(client, review, records, reviewer, lead):
    services.decision_record(review=review, record=records[0], reviewer=reviewer, stage=TA,
                             verdict="maybe", note="unsure about the population")  # fmt: skip
    client.force_login(lead)
    html = client.get(reverse("screening:conflicts", args=[review.slug, TA])).content.decode()
    section = _awaiting_section(html)
    assert f'id="awaiting-{records[0].pk}"' in section and reviewer.username in section
    assert "Maybe" not in section and 'class="verdict"' not in section
    assert "unsure about the population" not in html


def test_open_mode_shows_the_verdict_too(client, review, records, reviewer, resolver):
    review.title_abstract_blind = False
    review.save()
    vote(review, records[0], reviewer, "maybe")
    client.force_login(resolver)
    html = client.get(reverse("screening:conflicts", args=[review.slug, TA])).content.decode()
    section = _awaiting_section(html)
    assert reviewer.username in section and '<span class="verdict">Maybe</span>' in section
