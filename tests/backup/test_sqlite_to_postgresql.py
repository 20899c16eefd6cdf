"""One review moved from SQLite to PostgreSQL with backup_review / restore_review: the same
PRISMA counts, votes with their history, extraction and analysis results on both databases.

The SQLite side runs in a subprocess (`python -m tests.backup.world`) on a fresh SQLite file:
it migrates, builds the demo reviews with their extra history and files, backs them up and
prints their snapshots; this process restores the files into the PostgreSQL test database and
compares. Runs in CI's PostgreSQL pass (about 25 s)."""

import io
import json
import os
import subprocess
import sys
import zipfile

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from review.models import Review
from tests.backup import world


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the SQLite → PostgreSQL round trip needs PostgreSQL (CI's PostgreSQL pass)",
)
def test_a_review_backed_up_on_sqlite_restores_identically_on_postgresql(db, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "postgres-media"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}",
        "BACKUP_TEST_MEDIA": str(tmp_path / "sqlite-media"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.backup.world", str(tmp_path / "backup")],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    on_sqlite = json.loads(done.stdout)
    for slug in ("demo", "bcg"):
        backup = tmp_path / f"backup-{slug}.zip"
        with zipfile.ZipFile(backup) as zf:
            assert json.loads(zf.read("manifest.json"))["vendor"] == "sqlite"
        out = io.StringIO()
        call_command("restore_review", str(backup), stdout=out)
        review = Review.objects.get(slug=slug)
        on_postgresql = json.loads(json.dumps(world.snapshot(review), default=str))
        assert on_postgresql == on_sqlite[slug]
        assert on_postgresql["prisma"]["records_screened"] > 0 or slug == "bcg"
