import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from review.demo import DEMO_USERS, read_demo_entries, replay_plan
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
        assert response.context["counts"].database_results == 271


def test_load_demo_refuses_a_production_site_unless_told(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("load_demo")
    assert not Review.objects.exists()
    call_command("load_demo", "--allow-production")
    assert Review.objects.filter(slug="demo").exists()


def _facts(review):
    from analysis.models import Study, StudyReport
    from screening.models import Retrieval, ScreeningDecision, ScreeningEvent, StageResult

    return {
        model.__name__: sorted(model.objects.filter(**{key: review}).values_list("pk", flat=True))
        for model, key in (
            (ScreeningDecision, "review"),
            (StageResult, "review"),
            (Retrieval, "review"),
            (ScreeningEvent, "review"),
            (Study, "review"),
            (StudyReport, "study__review"),
        )
    }


def test_the_demo_replays_the_published_decisions_to_every_prisma_stage(settings):
    from screening.models import ScreeningDecision
    from screening.prisma import prisma_counts

    settings.DEBUG = True
    call_command("load_demo")
    review = Review.objects.get(slug="demo")
    counts = prisma_counts(review)
    assert counts.check() == []
    assert (counts.records_screened, counts.records_excluded) == (271, 171)
    assert (counts.dbr_sought_reports, counts.dbr_notretrieved_reports) == (29, 0)
    assert (counts.dbr_assessed, counts.new_reports, counts.new_studies) == (23, 23, 21)
    assert counts.pending.records == 71  # left for the demo's users to screen
    assert counts.pending.dbr_reports == 6  # 3 to retrieve, 3 to assess at full text
    assert counts.pending.study_links == 2

    # Every decision is the lead's, follows the published label and says so.
    labels = {e["raw"]["id"]: None for e in read_demo_entries()}
    plan = replay_plan()
    assert len(plan.screened) == 200 and set(plan.screened) <= set(labels)
    decisions = ScreeningDecision.objects.filter(review=review).select_related("record", "reviewer")
    assert decisions.count() == 200 + 23
    for decision in decisions:
        assert decision.reviewer.username == "lead"
        assert decision.note.startswith(
            "Replayed from the published review's label (Sep et al. 2021)"
        )
        included = plan.screened[decision.record.raw["id"]]
        assert decision.verdict == ("include" if included else "exclude")
    assert review.records.get(position=1).retrieval.url == (
        "https://doi.org/10.3389/fnbeh.2014.00160"
    )


def test_loading_the_demo_again_replays_nothing_twice(settings, capsys):
    settings.DEBUG = True
    call_command("load_demo")
    review = Review.objects.get(slug="demo")
    before = _facts(review)
    call_command("load_demo")
    assert _facts(review) == before
    assert "replay of the published review's decisions is up to date" in capsys.readouterr().out


def test_the_replay_never_redoes_what_a_person_undid(settings):
    from screening.models import ScreeningDecision
    from screening.services import decision_undo

    settings.DEBUG = True
    call_command("load_demo")
    review = Review.objects.get(slug="demo")
    record = review.records.get(position=2)
    lead = review.memberships.get(user__username="lead").user
    decision_undo(review=review, record=record, reviewer=lead, stage="title_abstract")
    call_command("load_demo")
    assert not ScreeningDecision.objects.filter(record=record, superseded_at=None).exists()


def test_every_demo_page_has_work_left(settings, client):
    settings.DEBUG = True
    call_command("load_demo")
    password, _role = DEMO_USERS["reviewer"]
    assert client.login(username="reviewer", password=password)
    for stage in ("title_abstract", "full_text"):
        response = client.get(reverse("screening:screen", args=["demo", stage]))
        assert response.status_code == 200
        assert response.context["record"] is not None, stage
    retrieval = client.get(reverse("screening:retrieval", args=["demo"]))
    assert sum(not hasattr(r, "retrieval") for r in retrieval.context["records"]) == 3
    inclusion = client.get(reverse("screening:inclusion", args=["demo"]))
    assert sum(not hasattr(r, "study_report") for r in inclusion.context["reports"]) == 2


@pytest.mark.django_db
def test_load_demo_migrates_first_in_the_same_process_when_asked(settings, capsys):
    """`make run` runs `load_demo --migrate`: one interpreter start instead of two."""
    settings.DEBUG = True
    call_command("load_demo", "--migrate")
    out = capsys.readouterr().out
    assert "No migrations to apply" in out or "Applying" in out
    assert "username lead" in out
