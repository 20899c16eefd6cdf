"""The background worker the project runs (`manage.py run_worker`): django-tasks-db's worker,
made to survive faults.

- `ResilientWorker` keeps running when its database connection drops (PostgreSQL restarted,
  `pg_terminate_backend`, a network blip): the upstream loop exits on any OperationalError;
  this one closes the connection, waits (0.5 s, doubling, at most `max_backoff`) and goes on.
  The task that was running when the connection went is handled as lost (`task_lost`).
- `Sweeper`, a thread of the worker process, looks every few seconds for work whose process
  died (`review.import_service.imports_sweep`: running imports with a stale heartbeat are
  queued again, or failed after IMPORT_MAX_ATTEMPTS; `rankings_sweep`: retrains whose claim went
  stale while running).
- `Supervisor` (`run_worker --supervise`) runs the worker as a child process and starts it
  again whenever it exits abnormally (killed, out of memory, a crash), after a bounded backoff,
  logging each restart; the tasks the dead child was running are handled as lost at once.
  SIGTERM or SIGINT are passed to the child, which finishes its task and exits; so does the
  supervisor then.

`task_lost(result)`: a task's process is gone. Its `DBTaskResult` (left "running") is marked
failed, and what it held is released: an import is queued again (bounded), a ranking claim is
cleared so the next decision queues a retrain, an Excel export is failed with the reason.
"""

import logging
import os
import signal
import socket
import subprocess
import threading
import time

from django.db import InterfaceError, OperationalError, connections, transaction
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker

logger = logging.getLogger("review.worker")

DATABASE_ERRORS = (OperationalError, InterfaceError)
RUNNING = "RUNNING"


class WorkerStopped(Exception):
    """What a lost task's result records: its process stopped while running it."""


def _lost_message(reason: str) -> tuple[str, str]:
    return f"{WorkerStopped.__module__}.{WorkerStopped.__qualname__}", f"WorkerStopped: {reason}\n"


def tasks_abandoned(task_path: str, args: list, *, reason: str = "") -> int:
    """Mark the running results of `task_path(*args)` as failed (their process is gone)."""
    from django_tasks_db.models import DBTaskResult

    exception_class_path, traceback = _lost_message(
        reason or "the worker stopped while running this task"
    )
    rows = DBTaskResult.objects.filter(status=RUNNING, task_path=task_path)
    ids = [r.pk for r in rows.only("pk", "args_kwargs") if r.args_kwargs.get("args") == args]
    return DBTaskResult.objects.filter(pk__in=ids, status=RUNNING).update(
        status="FAILED", finished_at=timezone.now(), return_value=None,
        exception_class_path=exception_class_path, traceback=traceback,
    )  # fmt: skip


def task_lost(result) -> None:
    """The process running `result` (a DBTaskResult) is gone: release what the task held and
    mark the result failed. Safe to call for a task that finished meanwhile (nothing happens)."""
    from review.import_service import import_worker_stopped
    from review.models import ImportBatch, ImportStatus
    from screening.models import ExportJob, ExportStatus, Prioritisation, ReviewerRanking

    args = result.args_kwargs.get("args") or []
    path = result.task_path
    with transaction.atomic():
        if path == "review.tasks.run_import" and args:
            batch = ImportBatch.objects.filter(pk=args[0], status=ImportStatus.RUNNING).first()
            if batch is not None:
                import_worker_stopped(
                    batch.pk, attempts=batch.attempts, heartbeat_at=batch.heartbeat_at
                )
        elif path == "screening.tasks.retrain_ranking" and args:
            Prioritisation.objects.filter(review=args[0]).update(training_requested_at=None)
        elif path == "screening.tasks.retrain_personal_ranking" and len(args) == 2:
            ReviewerRanking.objects.filter(review=args[0], reviewer=args[1]).update(
                training_requested_at=None
            )
        elif path == "screening.tasks.run_export" and args:
            ExportJob.objects.filter(pk=args[0], status=ExportStatus.PENDING).update(
                status=ExportStatus.FAILED,
                error="The background worker stopped while building this export; ask for it again.",
                finished_at=timezone.now(),
            )
        tasks_abandoned(path, args)


def tasks_of_dead_worker(worker_id: str) -> int:
    """Handle every task the worker `worker_id` (now dead) was running as lost."""
    from django_tasks_db.models import DBTaskResult

    lost = [
        r
        for r in DBTaskResult.objects.filter(status=RUNNING)
        if r.worker_ids and r.worker_ids[-1] == worker_id
    ]
    for result in lost:
        logger.warning("Task %s (%s) lost its worker %s", result.pk, result.task_path, worker_id)
        task_lost(result)
    return len(lost)


def rankings_sweep(*, now=None) -> int:
    """Running retrains whose claim (kept fresh by their heartbeat) went stale lost their
    process: mark their results failed. The stale claim itself lets the next decision queue a
    retrain (`screening.prioritisation._claim_retrain`)."""
    from screening.models import Prioritisation, ReviewerRanking
    from screening.prioritisation import claim_stale_before

    stale_before = claim_stale_before(now)
    handled = 0
    for review_id in Prioritisation.objects.filter(
        training_requested_at__lt=stale_before
    ).values_list("review", flat=True):
        handled += tasks_abandoned("screening.tasks.retrain_ranking", [review_id])
    for review_id, reviewer_id in ReviewerRanking.objects.filter(
        training_requested_at__lt=stale_before
    ).values_list("review", "reviewer"):
        handled += tasks_abandoned(
            "screening.tasks.retrain_personal_ranking", [review_id, reviewer_id]
        )
    return handled


def sweep() -> int:
    from review.import_service import imports_sweep

    return imports_sweep() + rankings_sweep()


class Sweeper:
    """A daemon thread running `sweep()` every `every` seconds on its own connection."""

    def __init__(self, every: float):
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweeper", daemon=True)

    def start(self) -> "Sweeper":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every):
                try:
                    sweep()
                except DATABASE_ERRORS as error:
                    logger.warning("Sweep failed (%s); trying again in %.0f s",
                                   str(error).strip(), self.every)  # fmt: skip
                    connections.close_all()
                except Exception:
                    logger.exception("Sweep failed; trying again in %.0f s", self.every)
                    connections.close_all()
        finally:
            connections.close_all()


class ResilientWorker(Worker):
    """django-tasks-db's worker, reconnecting when its database connection drops."""

    def __init__(self, *args, max_backoff: float = 30.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_backoff = max_backoff
        self.current = None  # the DBTaskResult being run
        self.reconnections = 0

    def run_task(self, db_task_result) -> None:
        self.current = db_task_result
        super().run_task(db_task_result)
        self.current = None  # left set when the task's result could not be saved

    def run(self) -> None:
        delay = 0.5
        while True:
            started = time.monotonic()
            try:
                super().run()
                return
            except DATABASE_ERRORS as error:
                if not self.running:
                    return
                if time.monotonic() - started > self.max_backoff:
                    delay = 0.5  # it ran fine for a while: a new outage
                logger.warning(
                    "Worker %s lost its database connection (%s); reconnecting in %.1f s",
                    self.worker_id, str(error).strip() or type(error).__name__, delay,
                )  # fmt: skip
                connections.close_all()
                time.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
                self.reconnections += 1
                self._release_current()

    def _release_current(self) -> None:
        """The task running when the connection dropped could not record how it ended."""
        if self.current is None:
            return
        try:
            task_lost(self.current)
        except DATABASE_ERRORS:
            connections.close_all()  # still down: try again after the next reconnection
        else:
            self.current = None


def sweep_interval(stale_seconds: float) -> float:
    return max(0.5, min(30.0, stale_seconds / 4))


class Supervisor:
    """Run `argv` (a worker) as a child; start it again when it exits abnormally."""

    def __init__(self, argv: list[str], *, first_backoff: float = 1.0, max_backoff: float = 60.0,
                 stable_after: float = 60.0, on_death=tasks_of_dead_worker):  # fmt: skip
        self.argv = argv
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self.on_death = on_death
        self.stopping = threading.Event()
        self.child: subprocess.Popen | None = None
        self.restarts = 0

    def _signal(self, signum, frame) -> None:
        logger.warning("Supervisor received %s: stopping the worker", signal.strsignal(signum))
        self.stopping.set()
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    def worker_id(self) -> str:
        return f"{socket.gethostname()[:30]}-{os.getpid()}-{self.restarts}"

    def run(self) -> int:
        previous = {s: signal.signal(s, self._signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            return self._loop()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _loop(self) -> int:
        delay = self.first_backoff
        while True:
            worker_id = self.worker_id()
            started = time.monotonic()
            # Its own process group: a Ctrl-C in the terminal reaches the supervisor only, which
            # passes it on once (a second SIGINT would make the worker abandon its task).
            self.child = subprocess.Popen(  # noqa: S603
                [*self.argv, "--worker-id", worker_id], process_group=0
            )
            logger.info("Supervisor started worker %s (pid %s)", worker_id, self.child.pid)
            code = self.child.wait()
            if self.stopping.is_set() or code == 0:
                logger.info("Worker %s exited (%s); supervisor stopping", worker_id, code)
                return 0 if self.stopping.is_set() else code
            if time.monotonic() - started > self.stable_after:
                delay = self.first_backoff  # it ran fine for a while: a new fault
            how = f"signal {-code}" if code < 0 else f"code {code}"
            logger.error(
                "Worker %s exited with %s; restarting it in %.1f s (restart %d)",
                worker_id, how, delay, self.restarts + 1,
            )  # fmt: skip
            try:
                self.on_death(worker_id)
            except Exception:
                logger.warning("Could not release the tasks of worker %s", worker_id,
                               exc_info=True)  # fmt: skip
                connections.close_all()
            if self.stopping.wait(delay):
                return 0
            delay = min(delay * 2, self.max_backoff)
            self.restarts += 1
