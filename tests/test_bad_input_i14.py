"""Issue 14, finding 4: malformed request parameters gave 500. A NUL byte anywhere in a query
string or form (PostgreSQL refuses NUL in text: the search box and `key` reached a query) is
answered 400 by `config.middleware.RefuseNulMiddleware`; an id that is not ASCII digits ("²",
"abc", "1e5") is read through `review.params.id_param`, so it is a 404 or the form again."""

import pytest
from django.urls import reverse

from review.models import DuplicatePair, PairStatus
from tests import factories

pytestmark = pytest.mark.django_db

BAD_IDS = ["abc", "²", "٣", "1e5", "-1", "99999999999999999999", " ", "1.0"]


@pytest.fixture
def world(review, lead):
    batch = factories.ImportBatchFactory(source__review=review)
    a = factories.RecordFactory(batch=batch)
    b = factories.RecordFactory(batch=batch)
    pair = DuplicatePair.objects.create(
        review=review, record_a=a, record_b=b, score=0.9, status=PairStatus.POSSIBLE
    )
    return a, pair


def _fail_on_500(client, requests):
    client.raise_request_exception = False
    failures = []
    for method, url, data in requests:
        response = getattr(client, method)(url, data)
        if response.status_code >= 500:
            failures.append((method, url, data, response.status_code))
    return failures


@pytest.mark.parametrize(
    "name, params",
    [
        ("screening:records", {"q": "trial\x00"}),
        ("screening:records", {"key": "\x00"}),
        ("screening:records", {"count": "identified", "key": "a\x00b"}),
        ("review:dashboard", {"x": "\x00"}),
    ],
)
def test_a_nul_byte_in_a_query_string_is_a_400(client, review, lead, name, params):
    client.force_login(lead)
    client.raise_request_exception = False
    assert client.get(reverse(name, args=[review.slug]), params).status_code == 400


def test_a_nul_byte_in_a_form_is_a_400(client, review, lead, world):
    record, _ = world
    client.force_login(lead)
    client.raise_request_exception = False
    url = reverse("screening:decide", args=[review.slug, "title_abstract"])
    response = client.post(url, {"record": record.pk, "verdict": "include", "note": "a\x00"})
    assert response.status_code == 400
    response = client.post(reverse("review:settings", args=[review.slug]), {"title": "T\x00"})
    assert response.status_code == 400


def test_the_search_box_still_finds_records(client, review, lead, world):
    record, _ = world
    client.force_login(lead)
    response = client.get(reverse("screening:records", args=[review.slug]), {"q": record.title})
    assert response.status_code == 200 and record.title in response.content.decode()


def test_malformed_ids_are_never_a_server_error(client, review, lead, world):
    record, pair = world
    client.force_login(lead)
    slug = review.slug
    requests = []
    for junk in BAD_IDS:
        for stage in ("title_abstract", "full_text"):
            decide = reverse("screening:decide", args=[slug, stage])
            requests += [
                ("post", decide, {"record": junk, "verdict": "include"}),
                ("post", decide, {"record": record.pk, "verdict": "exclude", "reason": junk}),
                (
                    "post",
                    reverse("screening:resolve", args=[slug, stage, record.pk]),
                    {"verdict": "exclude", "reason": junk},
                ),
            ]
        requests += [
            (
                "post",
                reverse("review:duplicate-decide", args=[slug, pair.pk, "primary"]),
                {"record": junk},
            ),
            ("get", f"/api/v1/reviews/{slug}/decisions/", {"record": junk}),
            ("get", f"/api/v1/reviews/{slug}/results/", {"record": junk}),
            ("get", reverse("analysis:prisma-diagram", args=[slug, "svg"]), {"dpi": junk}),
            (
                "post",
                reverse("screening:inclusion-link", args=[slug, record.pk]),
                {"study": junk},
            ),
        ]
    failures = _fail_on_500(client, requests)
    assert failures == [], "\n".join(map(repr, failures))
