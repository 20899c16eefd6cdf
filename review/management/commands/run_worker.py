"""`manage.py run_worker [--supervise]`: the background worker the project runs.

django-tasks-db's `db_worker`, with the same options, made to survive faults (review/worker.py):
it reconnects when its database connection drops, sweeps for imports and retrains whose process
died, and with `--supervise` runs as a child process that is started again whenever it exits
abnormally. `make run` and docs/operations.md use `run_worker --supervise`.
"""

import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from review.worker import ResilientWorker, Supervisor, Sweeper, sweep_interval


class Command(DbWorkerCommand):
    help = (
        "Run the background worker (django-tasks-db's db_worker that reconnects after a dropped "
        "database connection and requeues work whose process died); --supervise restarts it "
        "whenever it exits abnormally."
    )

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--supervise",
            action="store_true",
            help="Run the worker as a child process and start it again (after 1 s, doubling up "
            "to --max-backoff) whenever it exits abnormally; SIGTERM/SIGINT stop both.",
        )
        parser.add_argument(
            "--max-backoff",
            type=float,
            default=30.0,
            help="The longest wait, in seconds, before reconnecting or restarting (default 30).",
        )

    def handle(self, *, supervise: bool, max_backoff: float, **options) -> None:
        if supervise:
            self.configure_logging(options["verbosity"])
            code = Supervisor(self._child_argv(options), max_backoff=max_backoff).run()
            if code:
                sys.exit(code)
            return
        self._run_worker(max_backoff=max_backoff, **options)

    def _child_argv(self, options) -> list[str]:
        """The same worker without --supervise (the supervisor adds --worker-id)."""
        argv = [
            sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "run_worker",
            "--no-reload", "--queue-name", options["queue_name"],
            "--interval", str(options["interval"]), "--backend", options["backend_name"],
            "--verbosity", str(options["verbosity"]),
        ]  # fmt: skip
        if options["exclude_queues"]:
            argv += ["--exclude-queues", options["exclude_queues"]]
        if not options["startup_delay"]:
            argv.append("--no-startup-delay")
        if options.get("settings"):
            argv += ["--settings", options["settings"]]
        if options["batch"]:
            argv.append("--batch")
        if options["max_tasks"]:
            argv += ["--max-tasks", str(options["max_tasks"])]
        return argv

    def _run_worker(self, *, verbosity, queue_name, interval, batch, backend_name,
                    startup_delay, reload, max_tasks, worker_id, exclude_queues, max_backoff,
                    **options) -> None:  # fmt: skip
        self.configure_logging(verbosity)
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = ResilientWorker(
            queue_names=queue_names, interval=interval, batch=batch, backend_name=backend_name,
            startup_delay=startup_delay, max_tasks=max_tasks, worker_id=worker_id,
            excluded_queue_names=excluded, max_backoff=max_backoff,
        )  # fmt: skip
        sweeper = Sweeper(sweep_interval(settings.IMPORT_STALE_SECONDS))
        if reload and not batch:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
                sweeper.start()
            run_with_reloader(worker.run)
            return
        worker.configure_signals()
        sweeper.start()
        try:
            worker.run()
        finally:
            sweeper.stop()
