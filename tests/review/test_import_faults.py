"""Issue 14, finding 1: an import whose process died does not stay "running" forever, and an
import can be cancelled or retried by its uploader or a lead (SQLite and PostgreSQL; the real
killed-worker test is tests/review/test_worker_faults.py, on PostgreSQL)."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from review import import_service
from review.models import ImportBatch, ImportStatus, Record
from tests import factories

pytestmark = pytest.mark.django_db
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def source(review):
    return factories.SourceFactory(review=review)


def queued(review, source, user, name="pubmed_small.ris", settings=None):
    """A batch waiting for the background worker (as a large upload leaves it)."""
    settings.IMPORT_BACKGROUND_BYTES = 10
    batch = import_service.import_upload(
        review=review, source=source, filename=name, content=(DATA / name).read_bytes(),
        user=user,
    )  # fmt: skip
    assert batch.status == ImportStatus.PENDING
    settings.IMPORT_BACKGROUND_BYTES = 10**9
    return batch


def died_running(batch, *, seconds_ago=1000, attempts=1):
    """What a run leaves when its process is killed: running, attempt n, a heartbeat that
    stopped moving."""
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportStatus.RUNNING, attempts=attempts, phase="parsing",
        heartbeat_at=timezone.now() - timedelta(seconds=seconds_ago),
    )  # fmt: skip
    batch.refresh_from_db()
    return batch


def test_a_run_records_its_attempt_and_heartbeat(review, source, lead, settings):
    batch = queued(review, source, lead, settings=settings)
    done = import_service.import_run(batch)
    assert (done.status, done.attempts, done.record_count) == ("done", 1, 3)
    assert done.heartbeat_at is not None


def test_a_running_import_whose_worker_died_is_queued_again_then_imports(
    review, source, lead, settings, django_capture_on_commit_callbacks
):
    """Before: it stayed "running" forever, never retried."""
    settings.IMPORT_STALE_SECONDS = 60
    batch = died_running(queued(review, source, lead, settings=settings))
    with django_capture_on_commit_callbacks(execute=True):  # the immediate backend runs it
        assert import_service.imports_sweep() == 1
    batch.refresh_from_db()
    assert (batch.status, batch.attempts, batch.record_count) == ("done", 2, 3)
    assert Record.objects.filter(batch=batch).count() == 3


def test_a_live_import_is_left_alone(review, source, lead, settings):
    settings.IMPORT_STALE_SECONDS = 60
    batch = died_running(queued(review, source, lead, settings=settings), seconds_ago=5)
    assert import_service.imports_sweep() == 0
    batch.refresh_from_db()
    assert batch.status == "running"


def test_after_the_last_attempt_it_fails_with_the_reason_shown(
    client, review, source, lead, settings
):
    settings.IMPORT_STALE_SECONDS, settings.IMPORT_MAX_ATTEMPTS = 60, 3
    batch = died_running(queued(review, source, lead, settings=settings), attempts=3)
    assert import_service.imports_sweep() == 1
    batch.refresh_from_db()
    assert batch.status == "failed"
    assert batch.error.startswith(
        "The background worker stopped (or lost its database connection) while importing this "
        "file 3 times; nothing was written."
    )
    assert "nothing was written" in batch.error
    assert not Record.objects.exists()
    client.force_login(lead)
    page = client.get(reverse("review:import-detail", args=[review.slug, batch.pk]))
    assert "while importing this file 3 times" in page.content.decode()


def test_the_import_page_notices_a_dead_run_on_its_own(
    client, review, source, lead, settings, django_capture_on_commit_callbacks
):
    """The page polls every second: a stale heartbeat is handled there too, without a worker."""
    settings.IMPORT_STALE_SECONDS = 60
    batch = died_running(queued(review, source, lead, settings=settings))
    client.force_login(lead)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("review:import-detail", args=[review.slug, batch.pk]))
    batch.refresh_from_db()
    assert (batch.status, batch.attempts) == ("done", 2)


def test_the_dead_runs_task_result_is_marked_failed(review, source, lead, settings):
    settings.IMPORT_STALE_SECONDS = 60
    batch = died_running(queued(review, source, lead, settings=settings))
    stuck = DBTaskResult.objects.create(
        status="RUNNING", args_kwargs={"args": [batch.pk], "kwargs": {}}, backend_name="default",
        task_path="review.tasks.run_import", run_after=timezone.now(), worker_ids=["gone"],
    )  # fmt: skip
    other = DBTaskResult.objects.create(
        status="RUNNING", args_kwargs={"args": [batch.pk + 1], "kwargs": {}},
        backend_name="default", task_path="review.tasks.run_import", run_after=timezone.now(),
    )  # fmt: skip
    import_service.imports_sweep()
    stuck.refresh_from_db()
    other.refresh_from_db()
    assert stuck.status == "FAILED" and "WorkerStopped" in stuck.exception_class_path
    assert other.status == "RUNNING"


def test_a_run_taken_for_dead_writes_nothing_when_it_comes_back(
    review, source, lead, settings, monkeypatch
):
    """A run that was slow, not dead: the sweep queued the batch again meanwhile. The old run
    finds it no longer holds the batch at its next step and writes nothing."""
    batch = queued(review, source, lead, settings=settings)
    real_parse = import_service.importers.parse

    def parse_then_lose_the_batch(*args, **kwargs):
        ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.PENDING)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(import_service.importers, "parse", parse_then_lose_the_batch)
    result = import_service.import_run(batch)
    assert result.status == "pending"
    assert not Record.objects.exists()


def test_a_cancel_just_before_the_write_writes_nothing(review, source, lead, settings, monkeypatch):
    """The write transaction checks the batch under a lock before writing."""
    batch = queued(review, source, lead, settings=settings)
    real_plan = import_service.dedup_plan_start

    def plan_then_cancel(**kwargs):
        import_service.import_cancel(batch=ImportBatch.objects.get(pk=batch.pk), user=lead)
        return real_plan(**kwargs)

    monkeypatch.setattr(import_service, "dedup_plan_start", plan_then_cancel)
    result = import_service.import_run(batch)
    assert result.status == "cancelled"
    assert result.error == f"Cancelled by {lead.username}; nothing was written."
    assert not Record.objects.exists()


def test_a_delivered_twice_task_does_nothing(review, source, lead, settings):
    batch = queued(review, source, lead, settings=settings)
    import_service.import_run(batch)
    again = import_service.import_run(ImportBatch.objects.get(pk=batch.pk))
    assert (again.status, again.attempts) == ("done", 1)
    assert Record.objects.count() == 3


# Cancel and retry: who may, through the pages -------------------------------------------------


def post(client, user, review, batch, action):
    client.force_login(user)
    return client.post(reverse(f"review:import-{action}", args=[review.slug, batch.pk]))


def test_the_uploader_cancels_a_waiting_import_and_retries_it(
    client, review, source, lead, settings, django_capture_on_commit_callbacks
):
    batch = queued(review, source, lead, settings=settings)
    client.force_login(lead)
    page = client.get(reverse("review:import-detail", args=[review.slug, batch.pk]))
    assert 'data-testid="import-cancel"' in page.content.decode()
    response = post(client, lead, review, batch, "cancel")
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == "cancelled"
    page = client.get(reverse("review:import-detail", args=[review.slug, batch.pk]))
    assert 'data-testid="import-retry"' in page.content.decode()
    assert "Cancelled by" in page.content.decode()
    settings.IMPORT_BACKGROUND_BYTES = 10
    with django_capture_on_commit_callbacks(execute=True):
        post(client, lead, review, batch, "retry")
    batch.refresh_from_db()
    assert (batch.status, batch.record_count, batch.error) == ("done", 3, "")


def test_a_lead_may_cancel_anothers_import_a_reviewer_may_not(
    client, review, source, lead, reviewer, viewer, outsider, settings
):
    other_lead = factories.MembershipFactory(review=review, role="lead").user
    batch = queued(review, source, other_lead, settings=settings)
    assert post(client, reviewer, review, batch, "cancel").status_code == 403
    assert post(client, viewer, review, batch, "cancel").status_code == 403
    assert post(client, outsider, review, batch, "cancel").status_code == 404
    batch.refresh_from_db()
    assert batch.status == "pending"
    client.force_login(reviewer)
    page = client.get(reverse("review:import-detail", args=[review.slug, batch.pk]))
    assert "import-cancel" not in page.content.decode()
    assert post(client, lead, review, batch, "cancel").status_code == 302
    batch.refresh_from_db()
    assert batch.status == "cancelled"
    assert post(client, reviewer, review, batch, "retry").status_code == 403
    assert post(client, outsider, review, batch, "retry").status_code == 404
    batch.refresh_from_db()
    assert batch.status == "cancelled"


def test_an_uploader_no_longer_lead_may_still_cancel_their_own(
    client, review, source, reviewer, settings
):
    batch = queued(review, source, reviewer, settings=settings)  # uploaded while a lead
    assert post(client, reviewer, review, batch, "cancel").status_code == 302
    batch.refresh_from_db()
    assert batch.status == "cancelled"


def test_cancel_and_retry_are_post_only_and_refuse_the_wrong_state(
    client, review, source, lead, settings
):
    batch = queued(review, source, lead, settings=settings)
    client.force_login(lead)
    for action in ("cancel", "retry"):
        url = reverse(f"review:import-{action}", args=[review.slug, batch.pk])
        assert client.get(url).status_code == 405
    response = post(client, lead, review, batch, "retry")  # waiting: nothing to retry
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == "pending"
    import_service.import_run(batch)
    response = client.post(
        reverse("review:import-cancel", args=[review.slug, batch.pk]), follow=True
    )
    assert "it can no longer be cancelled" in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == "done" and Record.objects.count() == 3


def test_retrying_a_csv_goes_back_to_its_column_page(client, review, source, lead):
    batch = import_service.import_upload(
        review=review, source=source, filename="refs.csv", user=lead,
        content=b"Title,Year\nA study,2020\n",
    )  # fmt: skip
    assert post(client, lead, review, batch, "cancel").status_code == 302
    response = post(client, lead, review, batch, "retry")
    assert response.url == reverse("review:import-mapping", args=[review.slug, batch.pk])
    batch.refresh_from_db()
    assert batch.status == "pending"
