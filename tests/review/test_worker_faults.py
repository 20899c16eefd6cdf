"""Issue 14, finding 1, with real faults on PostgreSQL: real worker processes (`manage.py
run_worker` against the test database), killed with SIGKILL mid-import and cut off by
`pg_terminate_backend`.

- A worker killed inside an import's write transaction leaves no record; the import is found
  stale (its heartbeat stops) and run to completion by a second worker, once.
- A worker whose database connection is terminated keeps running and runs the next task
  (django-tasks-db's own `db_worker` exits there).
- `run_worker --supervise` starts a new worker when its worker is killed; SIGTERM stops both
  (what the dead worker held is released at once: tests/review/test_worker.py).
- A cancel that lands while an import is writing rolls the write back.

Each test takes seconds (stale time 3 s, heartbeat 0.5 s in the workers' environment).
"""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django_tasks_db.models import DBTaskResult

from review import import_service
from review.models import ImportBatch, Record
from tests import factories

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent connections need PostgreSQL"
    ),
]
DATA = Path(__file__).parent / "data"
BASE_DIR = Path(django_settings.BASE_DIR)
WORKER = ["run_worker", "--queue-name", "*", "--interval", "0.2", "--no-startup-delay"]


def database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host = f"{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}"
    return f"postgres://{s['USER']}{password}@{host}/{s['NAME']}"


@pytest.fixture
def spawn(transactional_db, settings, tmp_path):
    """Start processes against the test database; all are killed before it is flushed."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.IMPORT_STALE_SECONDS = 3
    settings.IMPORT_BACKGROUND_BYTES = 10
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "false",
        "SECRET_KEY": "x" * 50, "DATABASE_URL": database_url(),
        "MEDIA_ROOT": str(tmp_path / "media"), "IMPORT_STALE_SECONDS": "3",
        "TASK_HEARTBEAT_SECONDS": "0.5", "PYTHONUNBUFFERED": "1",
    }  # fmt: skip
    started = []

    def start(*argv, name="worker"):
        log = (tmp_path / f"{name}-{len(started)}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, *argv], cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        process.log_path = log.name
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)
    connection.close()


def log_of(process) -> str:
    return Path(process.log_path).read_text()


def wait_for(condition, timeout=90.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def queue_import(review, source, name):
    """Upload a file that goes to the background worker (IMPORT_BACKGROUND_BYTES: `spawn`)."""
    batch = import_service.import_upload(
        review=review, source=source, filename=name, content=(DATA / name).read_bytes(),
        allow_same_file=True,
    )  # fmt: skip
    assert batch.status == "pending"
    return batch


def status_of(batch) -> str:
    return ImportBatch.objects.get(pk=batch.pk).status


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_a_worker_killed_mid_write_leaves_nothing_and_a_second_worker_finishes_it(spawn, tmp_path):
    review = factories.ReviewFactory()
    source = factories.SourceFactory(review=review)
    marker = tmp_path / "written"
    slow = spawn("-m", "tests.review.slow_worker", str(marker), "3600", *WORKER, name="slow")
    batch = queue_import(review, source, "pubmed_small.ris")
    wait_for(
        lambda: marker.exists() or slow.poll() is not None,
        what="the first worker to write the records (uncommitted)",
    )
    assert slow.poll() is None, log_of(slow)
    assert marker.read_text() == "3"
    assert status_of(batch) == "running"
    assert not Record.objects.filter(batch=batch).exists()  # written, not committed

    slow.send_signal(signal.SIGKILL)
    slow.wait(10)
    killed_at = time.monotonic()
    time.sleep(1)
    assert not Record.objects.exists()  # the kill rolled the write back
    assert status_of(batch) == "running"  # and nobody knows yet

    second = spawn("manage.py", *WORKER, name="second")
    wait_for(lambda: status_of(batch) == "done", what="the import to be finished")
    recovered = time.monotonic() - killed_at
    batch.refresh_from_db()
    assert (batch.record_count, batch.attempts) == (3, 2)
    assert Record.objects.filter(batch=batch).count() == 3  # once
    results = DBTaskResult.objects.filter(task_path="review.tasks.run_import")
    assert sorted(results.values_list("status", flat=True)) == ["FAILED", "SUCCESSFUL"]
    assert "lost its worker" in log_of(second)
    print(f"killed worker's import finished {recovered:.1f} s after the kill")
    assert recovered < 90, recovered  # a worker starting, stale after 3 s, a sweep every 0.75 s


def terminate_other_connections() -> int:
    """What a PostgreSQL restart or a network cut does to every connection but the test's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_a_worker_whose_connection_is_cut_mid_import_reconnects_and_finishes_it(spawn, tmp_path):
    """The import being written when the connection is cut rolls back, is queued again at once
    and written once; the worker goes on to the next task."""
    review = factories.ReviewFactory()
    source = factories.SourceFactory(review=review)
    marker = tmp_path / "written"
    worker = spawn("-m", "tests.review.slow_worker", str(marker), "3", *WORKER, name="cut")
    batch = queue_import(review, source, "pubmed_small.ris")
    wait_for(lambda: marker.exists() or worker.poll() is not None, what="the write to start")
    assert terminate_other_connections() >= 1
    wait_for(lambda: status_of(batch) == "done", what="the import to be run again and finished")
    batch.refresh_from_db()
    assert (batch.record_count, batch.attempts) == (3, 2)
    assert Record.objects.filter(batch=batch).count() == 3
    assert "lost its database connection" in log_of(worker)
    later = queue_import(review, source, "embase_small.ris")
    wait_for(lambda: status_of(later) == "done", what="the next import")
    assert worker.poll() is None


def idle() -> bool:
    """No task waiting or running, and the worker back in its polling loop."""
    if DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists():
        return False
    time.sleep(0.5)
    return True


def database_down_for(seconds: float) -> None:
    """What a PostgreSQL restart does to the test database: every other connection is cut and
    new ones are refused for a while (the test's own connection stays). Run from a connection
    to the `postgres` database: a database cannot refuse connections to itself."""
    import psycopg

    s = connection.settings_dict
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        mine = cursor.fetchone()[0]
    name = connection.ops.quote_name(s["NAME"])
    admin = psycopg.connect(
        dbname="postgres", user=s["USER"], password=s.get("PASSWORD") or None,
        host=s["HOST"] or "localhost", port=s["PORT"] or 5432, autocommit=True,
    )  # fmt: skip
    with admin:
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        try:
            cut = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> %s",
                [s["NAME"], mine],
            ).fetchone()[0]
            assert cut >= 1
            time.sleep(seconds)
        finally:
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")


@pytest.mark.parametrize(("command", "survives"), [("run_worker", True), ("db_worker", False)])
def test_a_worker_outlives_a_database_restart(spawn, command, survives):
    """Finding 1: django-tasks-db's own `db_worker` exits when the database goes away for a
    moment (and nothing restarted it); `run_worker` waits, reconnects and runs the next task."""
    review = factories.ReviewFactory()
    source = factories.SourceFactory(review=review)
    worker = spawn("manage.py", command, *WORKER[1:], "--no-reload", name=command)
    first = queue_import(review, source, "pubmed_small.ris")
    wait_for(lambda: status_of(first) == "done", what="the first import")
    wait_for(idle, what="the worker to wait for work")
    database_down_for(3)
    if not survives:
        assert worker.wait(60) != 0
        return
    second = queue_import(review, source, "embase_small.ris")
    wait_for(lambda: status_of(second) == "done", what="the import after the restart")
    assert worker.poll() is None
    assert "lost its database connection" in log_of(worker)


def test_the_supervisor_restarts_a_killed_worker(spawn):
    review = factories.ReviewFactory()
    source = factories.SourceFactory(review=review)
    supervisor = spawn("manage.py", *WORKER, "--supervise", name="supervisor")
    first = queue_import(review, source, "pubmed_small.ris")
    wait_for(lambda: status_of(first) == "done", what="the first import")
    (child,) = wait_for(lambda: children(supervisor.pid), what="the worker process")
    os.kill(child, signal.SIGKILL)
    replacement = wait_for(
        lambda: [pid for pid in children(supervisor.pid) if pid != child],
        what="a new worker process",
    )
    assert replacement
    second = queue_import(review, source, "embase_small.ris")
    wait_for(lambda: status_of(second) == "done", what="the import after the restart")
    assert supervisor.poll() is None
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(60) == 0
    assert not children(supervisor.pid)
    log = log_of(supervisor)
    assert f"exited with signal {signal.SIGKILL.value}; restarting it" in log


def test_a_cancel_during_the_write_rolls_it_back(transactional_db, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # queued only
    review = factories.ReviewFactory()
    lead = factories.MembershipFactory(review=review, role="lead").user
    source = factories.SourceFactory(review=review)
    settings.IMPORT_BACKGROUND_BYTES = 10
    batch = import_service.import_upload(
        review=review, source=source, filename="pubmed_small.ris", user=lead,
        content=(DATA / "pubmed_small.ris").read_bytes(),
    )  # fmt: skip
    real_refresh = import_service.statistics_refresh
    cancelled = []

    def refresh_while_someone_cancels(n):
        def cancel():
            try:
                cancelled.append(import_service.import_cancel(
                    batch=ImportBatch.objects.get(pk=batch.pk), user=lead
                ).status)  # fmt: skip
            finally:
                connection.close()

        thread = threading.Thread(target=cancel)
        thread.start()
        thread.join(10)
        return real_refresh(n)

    monkeypatch.setattr(import_service, "statistics_refresh", refresh_while_someone_cancels)
    result = import_service.import_run(ImportBatch.objects.get(pk=batch.pk))
    assert cancelled == ["cancelled"]  # the records were written, not committed: cancellable
    assert result.status == "cancelled"
    assert not Record.objects.exists()


def test_a_long_phase_keeps_the_import_alive_with_its_heartbeat(
    transactional_db, settings, tmp_path, monkeypatch
):
    """A parse longer than the stale time: the heartbeat thread keeps the batch fresh, so no
    sweep takes it for dead (a sweep during the parse finds nothing)."""
    settings.MEDIA_ROOT = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.IMPORT_BACKGROUND_BYTES = 10
    settings.IMPORT_STALE_SECONDS, settings.TASK_HEARTBEAT_SECONDS = 0.6, 0.1
    review = factories.ReviewFactory()
    source = factories.SourceFactory(review=review)
    batch = queue_import(review, source, "pubmed_small.ris")
    real_parse = import_service.importers.parse
    swept = []

    def slow_parse(*args, **kwargs):
        time.sleep(1.5)  # 2.5 stale times, no step
        swept.append(import_service.imports_sweep())
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(import_service.importers, "parse", slow_parse)
    result = import_service.import_run(ImportBatch.objects.get(pk=batch.pk))
    assert swept == [0]
    assert (result.status, result.attempts, result.record_count) == ("done", 1, 3)


def test_a_running_retrain_keeps_its_claim_fresh(transactional_db, settings, monkeypatch):
    from django.utils import timezone

    from screening import prioritisation
    from screening.models import Prioritisation
    from screening.tasks import retrain_ranking

    settings.RANKING_STALE_SECONDS, settings.TASK_HEARTBEAT_SECONDS = 0.6, 0.1
    review = factories.ReviewFactory()
    claimed = timezone.now()
    Prioritisation.objects.create(review=review, seed=1, training_requested_at=claimed)
    seen = []

    def slow_train(review):
        time.sleep(1.5)
        seen.append(Prioritisation.objects.get(review=review).training_requested_at)
        seen.append(prioritisation.ranking_after_import(review))  # queued twice?
        return Prioritisation.objects.get(review=review)

    monkeypatch.setattr(prioritisation, "ranking_train", slow_train)
    retrain_ranking.call(review.pk)
    assert seen[0] > claimed + timedelta(seconds=1)
    assert seen[1] is False  # the claim is alive: not queued again
