"""A lease kept alive while a long piece of background work runs.

    with Heartbeat(lambda: Batch.objects.filter(pk=pk).update(heartbeat_at=timezone.now())):
        long_work()

A daemon thread calls `touch` every `every` seconds (TASK_HEARTBEAT_SECONDS, at most a third of
the stale time it protects) on its own database connection, so the row shows the work is alive
even while the main thread spends minutes in one call (parsing a large file, fitting a model).
When the process dies (SIGKILL, out of memory, a web worker killed by its timeout) the thread
dies with it, the timestamp stops moving, and a sweep that finds it older than the stale time
knows the work lost its process. A failed touch (a dropped connection) is logged and retried at
the next beat on a new connection; the thread never raises into the work.
"""

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)


def beat_interval(stale_seconds: float) -> float:
    """Seconds between two beats: TASK_HEARTBEAT_SECONDS, and at most a third of the stale time
    (so two beats may be missed before the work is taken for dead)."""
    return max(0.05, min(settings.TASK_HEARTBEAT_SECONDS, stale_seconds / 3))


class Heartbeat:
    def __init__(self, touch: Callable[[], object], *, every: float):
        self.touch = touch
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=max(5.0, self.every))

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every):
                try:
                    self.touch()
                except Exception as error:
                    reason = str(error).strip() or type(error).__name__
                    logger.warning("Heartbeat failed (%s); again in %.1f s", reason, self.every)
                    connections.close_all()  # this thread's connections: reconnect next beat
        finally:
            connections.close_all()
