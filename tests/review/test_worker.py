"""Issue 14, finding 1: the worker the project runs (`run_worker`, review/worker.py) reconnects
after a dropped database connection, its supervisor restarts it when it dies, and what a dead
worker held (an import, a ranking claim, an export) is released. In-process, SQLite and
PostgreSQL; the real faults (SIGKILL, pg_terminate_backend) are in test_worker_faults.py."""

import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError
from django.tasks import task
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult, DBTaskResultQuerySet

from review import import_service, worker
from review.heartbeat import Heartbeat
from review.models import ImportBatch, ImportStatus
from screening import prioritisation
from screening.models import ExportJob, Prioritisation
from screening.tasks import retrain_ranking
from tests import factories

DATA = Path(__file__).parent / "data"
DB_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@task()
def add(a: int, b: int) -> int:
    return a + b


def worker_options(**overrides):
    return {
        "queue_names": ["*"], "interval": 0, "batch": True, "backend_name": "default",
        "startup_delay": False, "max_tasks": None, "worker_id": "test-worker",
        "excluded_queue_names": [], **overrides,
    }  # fmt: skip


@pytest.fixture
def drop_connection_once(monkeypatch):
    """The first time the worker asks for a task, the database connection is gone."""
    real = DBTaskResultQuerySet.get_locked
    calls = []

    def get_locked(self):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(self)

    monkeypatch.setattr(DBTaskResultQuerySet, "get_locked", get_locked)
    return calls


@pytest.mark.django_db(transaction=True)
def test_the_worker_reconnects_after_a_dropped_connection_and_runs_the_task(
    settings, drop_connection_once, monkeypatch
):
    settings.TASKS = DB_BACKEND
    monkeypatch.setattr(worker.time, "sleep", lambda seconds: None)
    result = add.enqueue(2, 3)
    resilient = worker.ResilientWorker(**worker_options())
    resilient.run()
    assert resilient.reconnections == 1
    assert DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL"


@pytest.mark.django_db(transaction=True)
def test_django_tasks_db_s_own_worker_exits_there(settings, drop_connection_once):
    """What `db_worker` did (finding 1): the first dropped connection ended the worker."""
    settings.TASKS = DB_BACKEND
    add.enqueue(2, 3)
    with pytest.raises(OperationalError):
        Worker(**worker_options()).run()


@pytest.mark.django_db(transaction=True)
def test_the_backoff_is_bounded(settings, monkeypatch):
    settings.TASKS = DB_BACKEND
    waits = []
    monkeypatch.setattr(worker.time, "sleep", waits.append)
    failures = iter(range(8))

    def get_locked(self):
        if next(failures, None) is not None:
            raise OperationalError("could not connect to server")
        return None

    monkeypatch.setattr(DBTaskResultQuerySet, "get_locked", get_locked)
    worker.ResilientWorker(**worker_options(), max_backoff=4).run()
    assert waits == [0.5, 1, 2, 4, 4, 4, 4, 4]


@pytest.mark.django_db
def test_a_stopped_worker_does_not_reconnect(settings, monkeypatch):
    settings.TASKS = DB_BACKEND
    resilient = worker.ResilientWorker(**worker_options())

    def get_locked(self):
        resilient.running = False  # SIGTERM arrived
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(DBTaskResultQuerySet, "get_locked", get_locked)
    resilient.run()
    assert resilient.reconnections == 0


# What a dead worker held --------------------------------------------------------------------


def running_result(task_path, args, worker_id="dead-1"):
    return DBTaskResult.objects.create(
        status="RUNNING", args_kwargs={"args": args, "kwargs": {}}, backend_name="default",
        task_path=task_path, run_after=timezone.now(), worker_ids=["earlier", worker_id],
    )  # fmt: skip


@pytest.mark.django_db
def test_a_dead_workers_import_is_queued_again_at_once(
    review, lead, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    settings.IMPORT_BACKGROUND_BYTES = 10
    source = factories.SourceFactory(review=review)
    batch = import_service.import_upload(
        review=review, source=source, filename="pubmed_small.ris", user=lead,
        content=(DATA / "pubmed_small.ris").read_bytes(),
    )  # fmt: skip
    settings.IMPORT_BACKGROUND_BYTES = 10**9
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportStatus.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now(),  # fresh: no wait
    )
    result = running_result("review.tasks.run_import", [batch.pk])
    elsewhere = running_result("review.tasks.run_import", [batch.pk + 1], worker_id="alive")
    with django_capture_on_commit_callbacks(execute=True):
        assert worker.tasks_of_dead_worker("dead-1") == 1
    batch.refresh_from_db()
    assert (batch.status, batch.attempts, batch.record_count) == ("done", 2, 3)
    result.refresh_from_db()
    assert result.status == "FAILED" and "stopped" in result.traceback
    elsewhere.refresh_from_db()
    assert elsewhere.status == "RUNNING"


@pytest.mark.django_db
def test_a_dead_workers_ranking_claim_and_export_are_released(review, lead):
    Prioritisation.objects.create(review=review, seed=1, training_requested_at=timezone.now())
    job = ExportJob.objects.create(review=review, user=lead)
    running_result("screening.tasks.retrain_ranking", [review.pk])
    running_result("screening.tasks.run_export", [job.pk])
    assert worker.tasks_of_dead_worker("dead-1") == 2
    assert Prioritisation.objects.get(review=review).training_requested_at is None
    job.refresh_from_db()
    assert job.status == "failed" and "worker stopped" in job.error
    assert not DBTaskResult.objects.filter(status="RUNNING").exists()


# The ranking claim ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_ranking_claim_whose_worker_died_expires_after_the_stale_time(review, settings):
    """Before: a claim stayed frozen for 10 minutes; now RANKING_STALE_SECONDS (120 s), kept
    fresh by a heartbeat while the retrain runs."""
    settings.RANKING_STALE_SECONDS = 120
    Prioritisation.objects.create(review=review, seed=1)
    Prioritisation.objects.filter(review=review).update(
        training_requested_at=timezone.now() - timedelta(seconds=30)
    )
    assert not prioritisation.ranking_after_import(review)  # alive: not queued twice
    Prioritisation.objects.filter(review=review).update(
        training_requested_at=timezone.now() - timedelta(seconds=150)
    )
    assert prioritisation.ranking_after_import(review)  # stale: queued again


@pytest.mark.django_db
def test_a_retrain_with_nothing_claimed_does_nothing(review):
    """A copy queued again after a stale claim, once the first copy ran."""
    Prioritisation.objects.create(review=review, seed=1, training_requested_at=None)
    assert retrain_ranking.call(review.pk) == -1
    assert Prioritisation.objects.get(review=review).trained_at is None


@pytest.mark.django_db
def test_the_sweep_fails_a_running_retrain_whose_claim_went_stale(review, settings):
    settings.RANKING_STALE_SECONDS = 60
    Prioritisation.objects.create(
        review=review, seed=1, training_requested_at=timezone.now() - timedelta(seconds=100)
    )
    stuck = running_result("screening.tasks.retrain_ranking", [review.pk])
    other = factories.ReviewFactory()
    Prioritisation.objects.create(review=other, seed=1, training_requested_at=timezone.now())
    alive = running_result("screening.tasks.retrain_ranking", [other.pk])
    assert worker.rankings_sweep() == 1
    stuck.refresh_from_db()
    alive.refresh_from_db()
    assert (stuck.status, alive.status) == ("FAILED", "RUNNING")


def test_the_heartbeat_beats_while_the_work_runs_and_stops_after():
    beats = []
    with Heartbeat(lambda: beats.append(time.monotonic()), every=0.02):
        time.sleep(0.2)
    n = len(beats)
    assert n >= 3
    time.sleep(0.1)
    assert len(beats) == n


def test_a_failing_beat_does_not_stop_the_heartbeat():
    beats = []

    def touch():
        beats.append(1)
        if len(beats) == 1:
            raise OperationalError("connection lost")

    with Heartbeat(touch, every=0.02):
        time.sleep(0.2)
    assert len(beats) >= 3


# The supervisor --------------------------------------------------------------------------------


def test_the_supervisor_restarts_a_worker_that_dies_and_stops_when_it_exits_cleanly(tmp_path):
    """The child dies twice (a crash, then SIGKILL), then exits 0: two restarts, with the dead
    workers' ids handed over to release their tasks."""
    counter = tmp_path / "runs"
    script = (
        "import os, pathlib, signal, sys\n"
        f"p = pathlib.Path({str(counter)!r})\n"
        "n = int(p.read_text()) if p.exists() else 0\n"
        "p.write_text(str(n + 1))\n"
        "if n == 0: sys.exit(3)\n"
        "if n == 1: os.kill(os.getpid(), signal.SIGKILL)\n"
        "sys.exit(0)\n"
    )
    dead = []
    supervisor = worker.Supervisor(
        [sys.executable, "-c", script, "--"], first_backoff=0.05, max_backoff=0.1,
        on_death=dead.append,
    )  # fmt: skip
    assert supervisor.run() == 0
    assert counter.read_text() == "3"
    assert supervisor.restarts == 2
    assert len(dead) == 2 and dead[0] != dead[1]
