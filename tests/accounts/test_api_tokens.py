"""Personal API tokens: created, listed and revoked on the account's page, stored hashed."""

import hashlib
import re

import pytest
from django.urls import reverse

from accounts.models import ApiToken
from tests import factories

pytestmark = pytest.mark.django_db

SECRET = re.compile(r'data-testid="token-secret">([^<]+)<')


def create(client, name="pipeline", scope="read"):
    response = client.post(reverse("accounts:tokens"), {"name": name, "scope": scope})
    assert response.status_code == 200, response.content.decode()
    secrets = SECRET.findall(response.content.decode())
    assert len(secrets) == 1
    return secrets[0]


def test_a_token_is_shown_once_and_stored_hashed(client, viewer):
    client.force_login(viewer)
    secret = create(client, scope="read-write")
    token = ApiToken.objects.get()
    assert token.user == viewer
    assert token.name == "pipeline"
    assert token.scope == "read-write"
    assert secret.startswith(token.prefix)
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiToken.objects.values().get())
    page = client.get(reverse("accounts:tokens")).content.decode()
    assert token.prefix in page
    assert secret not in page


def test_a_bad_scope_or_missing_name_is_refused(client, viewer):
    client.force_login(viewer)
    response = client.post(reverse("accounts:tokens"), {"name": "x", "scope": "admin"})
    assert response.status_code == 400
    assert "scope" in response.content.decode()
    response = client.post(reverse("accounts:tokens"), {"name": "", "scope": "read"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_only_the_owner_sees_and_revokes_a_token(client, viewer, outsider):
    client.force_login(viewer)
    create(client, name="mine-only")
    token = ApiToken.objects.get()
    client.force_login(outsider)
    assert "mine-only" not in client.get(reverse("accounts:tokens")).content.decode()
    response = client.post(reverse("accounts:token-revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    client.force_login(viewer)
    response = client.post(reverse("accounts:token-revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_revoking_needs_a_post(client, viewer):
    client.force_login(viewer)
    create(client)
    token = ApiToken.objects.get()
    assert client.get(reverse("accounts:token-revoke", args=[token.pk])).status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


def test_changes_need_the_csrf_token(viewer):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    response = client.post(reverse("accounts:tokens"), {"name": "x", "scope": "read"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_the_page_needs_a_login(client):
    response = client.get(reverse("accounts:tokens"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_account_menu_links_the_page(client, viewer):
    client.force_login(viewer)
    page = client.get(reverse("review:list")).content.decode()
    assert reverse("accounts:tokens") in page


def test_an_unknown_id_is_404(client):
    client.force_login(factories.UserFactory())
    assert client.post(reverse("accounts:token-revoke", args=[999])).status_code == 404


def test_an_administrator_revokes_a_leaked_token(admin_client, viewer):
    token, _ = ApiToken.issue(user=viewer, name="leaked", scope="read-write")
    response = admin_client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
