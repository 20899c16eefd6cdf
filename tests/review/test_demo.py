import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from review.demo import DEMO_USERS, read_demo_entries
from review.models import Record, Review

pytestmark = pytest.mark.django_db


def test_the_shipped_demo_file_holds_the_published_reviews_271_records():
    entries = read_demo_entries()
    assert len(entries) == 271
    assert all(e["title"] for e in entries)
    assert entries[0]["doi"] == "https://doi.org/10.3389/fnbeh.2014.00160"
    assert not any("label_included" in e["raw"] for e in entries)


def test_load_demo_is_idempotent_and_prints_logins(settings, capsys):
    settings.DEBUG = True
    call_command("load_demo")
    call_command("load_demo")
    out = capsys.readouterr().out
    review = Review.objects.get(slug="demo")
    assert Record.objects.filter(review=review).count() == 271
    assert review.imports.count() == 1 and review.sources.count() == 1
    assert dict(review.memberships.values_list("user__username", "role")) == {
        "lead": "lead",
        "reviewer": "reviewer",
    }
    for username, (password, _role) in DEMO_USERS.items():
        assert f"username {username:<9} password {password}" in out
    record = review.records.get(position=1)
    assert (record.doi, record.pmid, record.year) == ("10.3389/fnbeh.2014.00160", "24847228", 2014)


def test_demo_users_can_log_in_and_see_the_demo(settings, client):
    settings.DEBUG = True
    call_command("load_demo")
    for username, (password, _role) in DEMO_USERS.items():
        assert client.login(username=username, password=password)
        response = client.get(reverse("review:dashboard", args=["demo"]))
        assert response.status_code == 200
        assert response.context["counts"].identified_total == 271


def test_load_demo_refuses_a_production_site_unless_told(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("load_demo")
    assert not Review.objects.exists()
    call_command("load_demo", "--allow-production")
    assert Review.objects.filter(slug="demo").exists()
