"""Set up Django for a benchmark on a throw-away database, never the developer's db.sqlite3.

BENCH_DATABASE_URL picks the database (e.g. postgres://postgres@127.0.0.1:5432/bench, which is
created if missing); the default is a new SQLite file in a temporary folder.
"""

import os
import tempfile

_done = False


def setup() -> str:
    """Configure, set up and migrate; returns a description of the database used."""
    global _done
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        folder = tempfile.mkdtemp(prefix="workbench-bench-")
        url = f"sqlite:///{folder}/bench.sqlite3"
    if not _done:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DEBUG", "true")
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        import django
        from django.core.management import call_command

        django.setup()
        if url.startswith("postgres"):
            _create_postgres_database()
        call_command("migrate", verbosity=0)
        _done = True
    from django.db import connection

    return f"{connection.vendor} ({connection.settings_dict['NAME']})"


def _create_postgres_database() -> None:
    from django.db import connection

    name = connection.settings_dict["NAME"]
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
