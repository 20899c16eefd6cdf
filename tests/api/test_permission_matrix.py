"""Every route under /api/v1/, for each kind of requester, with the status code each must get.

The routes come from the URL conf, so a new API route without a row in MATRIX fails
`test_every_api_route_has_a_row`. 404, never 403, for a review the requester may not see:
a non-member and a removed member's token get exactly what an unknown review gets.
"""

import pytest
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from accounts.models import ApiToken
from review.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db

PREFIX = "api/v1/"

# Who asks: anonymous (no credentials), a read-write token of someone in another review only,
# a viewer's/reviewer's/lead's read-write token, the token of a member since removed, and a
# read-only token of the lead trying to write (POST; PUT/PATCH/DELETE in test_token_auth).
PERSONAS = ("anonymous", "non_member", "viewer", "reviewer", "lead", "removed", "read_only_write")

ANYONE_LISTS = dict(
    anonymous=401, non_member=200, viewer=200, reviewer=200, lead=200, removed=200,
    read_only_write=403,
)  # fmt: skip
MEMBERS_READ = dict(
    anonymous=401, non_member=404, viewer=200, reviewer=200, lead=200, removed=404,
    read_only_write=403,
)  # fmt: skip

MATRIX = {
    "api:review-list": ANYONE_LISTS,
    "api:review-detail": MEMBERS_READ,
    "api:source-list": MEMBERS_READ,
    "api:import-list": MEMBERS_READ,
    "api:record-list": MEMBERS_READ,
    "api:record-detail": MEMBERS_READ,
    "api:decision-list": MEMBERS_READ,
    "api:result-list": MEMBERS_READ,
}

# A read-write token writing where the API has no write yet: 405 for members, still 404 for
# anyone who may not see the review. Routes that gain writes get their own row here.
WRITES = {name: dict(non_member=404, removed=404, lead=405) for name in MATRIX}
WRITES["api:review-list"] = dict(non_member=405, lead=405)


def api_routes(urlconf=None) -> set[str]:
    """The namespaced names of every route under /api/v1/ in the URL conf."""
    found = set()

    def walk(patterns, prefix, namespace):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}{entry.namespace}:"
                walk(entry.url_patterns, route, inner)
            elif isinstance(entry, URLPattern) and route.startswith(PREFIX):
                assert entry.name, f"API route {route} has no name"
                found.add(namespace + entry.name)

    walk(get_resolver(urlconf).url_patterns, "", "")
    return found


def test_every_api_route_has_a_row():
    routes = api_routes()
    assert routes, "no API route found: the walk is broken"
    missing = routes - set(MATRIX)
    assert not missing, f"API routes without a row in the permission matrix: {sorted(missing)}"
    assert set(MATRIX) <= routes, f"rows for routes that are gone: {set(MATRIX) - routes}"
    assert set(WRITES) == set(MATRIX)


def test_the_walk_finds_a_new_route(settings):
    """A route added under /api/v1/ shows up (and so fails the test above without a row)."""
    import sys
    import types

    from django.urls import include, path

    from review.api import urls as api_urls

    extra = types.ModuleType("tests.api._extra_urls")
    extra.app_name = "api"
    extra.urlpatterns = [*api_urls.urlpatterns, path("brand-new/", lambda r: None, name="new")]
    root = types.ModuleType("tests.api._root_urls")
    root.urlpatterns = [
        path("api/v1/", include(extra)),
        path("elsewhere/", lambda r: None, name="x"),
    ]
    sys.modules[root.__name__] = root
    try:
        assert api_routes(root.__name__) == set(MATRIX) | {"api:new"}
    finally:
        del sys.modules[root.__name__]


@pytest.fixture
def world(review, lead, reviewer, viewer, outsider):
    record = factories.RecordFactory(batch__source__review=review)
    removed = factories.MembershipFactory(review=review, role="reviewer").user
    tokens = {
        "non_member": ApiToken.issue(user=outsider, name="t", scope="read-write")[1],
        "viewer": ApiToken.issue(user=viewer, name="t", scope="read-write")[1],
        "reviewer": ApiToken.issue(user=reviewer, name="t", scope="read-write")[1],
        "lead": ApiToken.issue(user=lead, name="t", scope="read-write")[1],
        "removed": ApiToken.issue(user=removed, name="t", scope="read-write")[1],
        "read_only_write": ApiToken.issue(user=lead, name="ro", scope="read")[1],
    }
    Membership.objects.get(review=review, user=removed).delete()
    return review, record, tokens


def url_for(name, review, record):
    """The route's address for the review (and its record), whichever arguments it takes."""
    for candidate in ({}, {"slug": review.slug}, {"review_slug": review.slug},
                      {"review_slug": review.slug, "pk": record.pk}):  # fmt: skip
        try:
            return reverse(name, kwargs=candidate)
        except NoReverseMatch:
            continue
    raise AssertionError(f"{name}: no known arguments fit its route; extend url_for")


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_the_matrix(client, world, name):
    review, record, tokens = world
    url = url_for(name, review, record)
    got = {}
    for persona in PERSONAS:
        headers = {}
        if persona != "anonymous":
            headers["HTTP_AUTHORIZATION"] = f"Bearer {tokens[persona]}"
        method = client.post if persona == "read_only_write" else client.get
        response = method(url, **headers)
        got[persona] = response.status_code
        if response.status_code == 200 and name == "api:review-list":
            slugs = [r["slug"] for r in response.json()["results"]]
            assert (review.slug in slugs) == (persona in ("viewer", "reviewer", "lead")), persona
    assert got == MATRIX[name]


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_writes_with_a_read_write_token(client, world, name):
    review, record, tokens = world
    url = url_for(name, review, record)
    got = {
        persona: client.post(url, HTTP_AUTHORIZATION=f"Bearer {tokens[persona]}").status_code
        for persona in WRITES[name]
    }
    assert got == WRITES[name]


def test_an_unknown_review_looks_like_a_hidden_one(client, world):
    review, _, tokens = world
    header = {"HTTP_AUTHORIZATION": f"Bearer {tokens['non_member']}"}
    hidden = client.get(reverse("api:record-list", args=[review.slug]), **header)
    unknown = client.get(reverse("api:record-list", args=["no-such-review"]), **header)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == unknown.json()
