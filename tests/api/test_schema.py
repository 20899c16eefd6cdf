"""The OpenAPI schema (/api/schema/) and its docs (/api/docs/): who may read them, local assets
only, the site's Content-Security-Policy, and a schema that validates with no warning."""

import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.test_csp import POLICY, directives

pytestmark = pytest.mark.django_db


def test_schema_and_docs_need_a_login(client):
    for name in ("api-schema", "api-docs"):
        assert client.get(reverse(name)).status_code == 401, name


def test_schema_describes_every_api_path(client, lead):
    client.force_login(lead)
    response = client.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert "/api/v1/reviews/{review_slug}/records/" in paths
    assert "/api/v1/reviews/{review_slug}/records/{id}/" in paths
    assert "/api/v1/reviews/{review_slug}/decisions/" in paths
    records = schema["paths"]["/api/v1/reviews/{review_slug}/records/"]["get"]
    params = {p["name"] for p in records["parameters"]}
    assert {"cursor", "stage", "status", "source", "q", "author", "year_min", "year_max"} <= params
    assert {"400", "401", "403", "404", "429"} <= set(records["responses"])
    page = schema["components"]["schemas"]["PaginatedRecordList"]
    assert "count" not in page["properties"] and "next" in page["properties"]
    # a record's source is an integer, not the string that inference guesses for a dotted source
    record = schema["components"]["schemas"]["Record"]["properties"]
    assert record["source"]["type"] == "integer"
    decisions = schema["paths"]["/api/v1/reviews/{review_slug}/decisions/"]["get"]
    assert {"stage", "record"} <= {p["name"] for p in decisions["parameters"]}


def test_spectacular_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "/api/v1/reviews/" in out.read_text()


def test_docs_use_local_assets_under_the_policy(client, lead):
    client.force_login(lead)
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    policy = directives(response.headers["Content-Security-Policy"])
    for directive, value in POLICY.items():
        assert policy.get(directive) == value, (directive, policy)
    page = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline <script>"
    assert "<style" not in page
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/") for s in sources), sources
    for src in sources:
        asset = client.get(src)
        assert asset.status_code == 200, src
    script = next(s for s in sources if "script" in s)
    init = client.get(script)
    assert init["Content-Type"].startswith("application/javascript")
    assert reverse("api-schema") in init.content.decode()


def test_an_unknown_api_address_is_a_json_404(client, lead):
    client.force_login(lead)
    response = client.get("/api/v1/reviews/not%20a%20slug/records/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")


def test_a_refused_api_address_is_json(client, lead):
    client.force_login(lead)
    response = client.get("/api/v1/reviews/a%00b/records/")
    assert response.status_code == 400
    assert response.json() == {"detail": "Bad request."}
    assert client.get("/reviews/a%00b/")["Content-Type"].startswith("text/html")


def test_query_errors_are_lists_of_messages_as_the_schema_says(client, review, lead):
    client.force_login(lead)
    url = reverse("api:decision-list", args=[review.slug])
    assert client.get(url, {"record": "-1"}).json() == {"record": ["A record id."]}
    assert list(client.get(url, {"stage": "x"}).json()) == ["stage"]
    assert isinstance(client.get(url, {"stage": "x"}).json()["stage"], list)
