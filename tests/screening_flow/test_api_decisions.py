"""The decisions and results API: blind screening, filters, pagination, access."""

import pytest
from django.urls import reverse

from screening import services
from tests import factories
from tests.screening_flow.helpers import vote

pytestmark = pytest.mark.django_db
TA, FT = "title_abstract", "full_text"


@pytest.fixture
def data(review, team):
    """Blind dual mode: `agreed` settled at both stages (its full text retrieved by the lead:
    title/abstract results are blind for reviewers), `conflict` open, `pending` one vote."""
    alice, bob = team["alice"], team["bob"]
    batch = factories.ImportBatchFactory(source__review=review)
    agreed, conflict, pending = (factories.RecordFactory(batch=batch) for _ in range(3))
    wrong = review.exclusion_reasons.create(label="Wrong population")
    vote(review, agreed, alice, "include")
    vote(review, agreed, bob, "maybe")
    services.retrieval_set(
        review=review, record=agreed, user=team["lead"], status="retrieved", url="https://x.org/a"
    )
    services.stage_blinding_set(review=review, stage=TA, blind=False, user=team["lead"])
    vote(review, agreed, alice, "exclude", stage=FT, reason=wrong, note="adults only")
    vote(review, agreed, bob, "exclude", stage=FT, reason=wrong)
    services.stage_blinding_set(review=review, stage=TA, blind=True, user=team["lead"])
    vote(review, conflict, alice, "include")
    vote(review, conflict, bob, "exclude", note="bob's secret")
    vote(review, pending, bob, "include")
    return {"agreed": agreed, "conflict": conflict, "pending": pending}


def decisions(client, review, user, **params):
    client.force_login(user)
    response = client.get(reverse("api:decision-list", args=[review.slug]), params)
    assert response.status_code == 200, response.content
    return response.json()


def seen(data):
    return [(d["record"], d["stage"], d["reviewer"], d["verdict"]) for d in data["results"]]


def test_blind_mode_shows_a_reviewer_only_their_own_votes(client, review, team, data):
    agreed, conflict, pending = data["agreed"].pk, data["conflict"].pk, data["pending"].pk
    assert seen(decisions(client, review, team["alice"])) == [
        (agreed, TA, "alice", "include"),
        (agreed, FT, "alice", "exclude"),
        (conflict, TA, "alice", "include"),
    ]
    assert seen(decisions(client, review, team["bob"], stage=TA)) == [
        (agreed, TA, "bob", "maybe"),
        (conflict, TA, "bob", "exclude"),
        (pending, TA, "bob", "include"),
    ]
    assert seen(decisions(client, review, team["viewer"])) == []
    # The lead sees settled records' votes and both votes of a conflict, not a lone open vote.
    assert seen(decisions(client, review, team["lead"])) == [
        (agreed, TA, "alice", "include"),
        (agreed, TA, "bob", "maybe"),
        (agreed, FT, "alice", "exclude"),
        (agreed, FT, "bob", "exclude"),
        (conflict, TA, "alice", "include"),
        (conflict, TA, "bob", "exclude"),
    ]


def test_a_lead_sees_conflicts_and_everyone_sees_them_once_blinding_is_lifted(
    client, review, team, data
):
    conflict = data["conflict"]
    lead_sees = seen(decisions(client, review, team["lead"], stage=TA))
    assert (conflict.pk, TA, "bob", "exclude") in lead_sees
    assert not [s for s in lead_sees if s[0] == data["pending"].pk]  # not a conflict yet
    assert seen(decisions(client, review, team["alice"], record=conflict.pk)) == [
        (conflict.pk, TA, "alice", "include")
    ]
    services.conflict_resolve(
        review=review, record=conflict, stage=TA, resolver=team["lead"], verdict="include"
    )
    # Settled, but the stage is still blind: alice still sees only her own vote.
    assert seen(decisions(client, review, team["alice"], record=conflict.pk)) == [
        (conflict.pk, TA, "alice", "include")
    ]
    services.stage_blinding_set(review=review, stage=TA, blind=False, user=team["lead"])
    after = decisions(client, review, team["alice"], record=conflict.pk)["results"]
    assert [(d["reviewer"], d["verdict"], d["note"]) for d in after] == [
        ("alice", "include", ""),
        ("bob", "exclude", "bob's secret"),
    ]


def test_a_vote_shows_its_reason_note_and_time(client, review, team, data):
    results = decisions(client, review, team["lead"], stage=FT)["results"]
    first = results[0]
    decision = data["agreed"].screeningdecisions.get(stage=FT, reviewer=team["alice"])
    assert first == {
        "id": decision.pk,
        "record": data["agreed"].pk,
        "stage": FT,
        "reviewer": "alice",
        "verdict": "exclude",
        "reason": "Wrong population",
        "note": "adults only",
        "created_at": first["created_at"],
    }
    assert first["created_at"].startswith(decision.created_at.date().isoformat())
    ta = decisions(client, review, team["lead"], stage=TA)["results"][0]
    assert ta["reason"] is None


def test_results_list_the_settled_outcomes(client, review, team, data):
    services.conflict_resolve(
        review=review,
        record=data["conflict"],
        stage=TA,
        resolver=team["lead"],
        verdict="exclude",
        note="Not a trial",
    )
    url = reverse("api:result-list", args=[review.slug])
    client.force_login(team["viewer"])
    assert client.get(url).json()["count"] == 0  # both stages are blind for a viewer
    client.force_login(team["lead"])
    body = client.get(url, {"stage": TA}).json()
    assert body["count"] == 2
    rows = [
        (r["record"], r["verdict"], r["method"], r["reason"], r["decided_by"], r["note"])
        for r in body["results"]
    ]
    assert rows == [
        (data["agreed"].pk, "include", "agreement", None, None, ""),
        (data["conflict"].pk, "exclude", "resolution", None, "lena", "Not a trial"),
    ]
    full_text = client.get(url, {"stage": FT}).json()["results"]
    assert [(r["verdict"], r["reason"]) for r in full_text] == [("exclude", "Wrong population")]
    assert client.get(url, {"record": data["pending"].pk}).json()["count"] == 0


def test_filters_are_validated(client, review, team):
    client.force_login(team["alice"])
    for name in ("api:decision-list", "api:result-list"):
        url = reverse(name, args=[review.slug])
        assert client.get(url, {"stage": "abstract"}).status_code == 400
        assert client.get(url, {"record": "x"}).status_code == 400


def test_a_record_of_another_review_lists_nothing(client, review, team, data):
    other = factories.MembershipFactory(role="lead")
    foreign = factories.RecordFactory(batch__source__review=other.review)
    vote(other.review, foreign, other.user, "include")
    assert decisions(client, review, team["alice"], record=foreign.pk)["count"] == 0


def test_a_non_member_gets_404_and_an_anonymous_user_401(client, review, data, outsider):
    urls = [reverse(n, args=[review.slug]) for n in ("api:decision-list", "api:result-list")]
    for url in urls:
        assert client.get(url).status_code == 401
    client.force_login(outsider)
    for url in urls:
        assert client.get(url).status_code == 404


def test_lists_are_paginated_in_a_fixed_number_of_queries(
    client, review, team, django_assert_max_num_queries
):
    review.title_abstract_mode = "single"
    review.save()
    batch = factories.ImportBatchFactory(source__review=review)
    for _ in range(105):
        vote(review, factories.RecordFactory(batch=batch), team["alice"], "include")
    client.force_login(team["viewer"])
    for name in ("api:decision-list", "api:result-list"):
        url = reverse(name, args=[review.slug])
        with django_assert_max_num_queries(6):
            body = client.get(url).json()
        assert (body["count"], len(body["results"])) == (105, 100)
        assert body["next"] is not None


def test_the_api_is_read_only(client, review, team):
    client.force_login(team["lead"])
    url = reverse("api:decision-list", args=[review.slug])
    assert client.post(url, {"verdict": "include"}).status_code == 405
