"""Test-only: `python -m tests.review.slow_worker MARKER SECONDS COMMAND [options]` runs a worker
command (`run_worker`, or django-tasks-db's `db_worker`) whose first import stops mid-write.

`records_insert` writes the batch's records inside the import's transaction, then this worker
touches MARKER and sleeps SECONDS before going on (the transaction still open), so that
tests/review/test_worker_faults.py can SIGKILL the worker there, or cut its database
connection. Later imports (MARKER exists) do not stop. Nothing in the application knows this
module: it patches the function in its own process only.
"""

import sys
import time
from pathlib import Path

import django


def main() -> None:
    marker, seconds, command, options = (
        Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4:]
    )  # fmt: skip
    django.setup()
    from django.core.management import call_command

    from review import import_service

    real = import_service.records_insert

    def insert_then_stop(batch, records):
        ids = real(batch, records)
        if not marker.exists():
            marker.write_text(str(len(ids)))
            time.sleep(seconds)
        return ids

    import_service.records_insert = insert_then_stop
    call_command(command, *options)


if __name__ == "__main__":
    main()
