"""`make bench BENCH=scale` needs PostgreSQL: without it, it says so and exits cleanly."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_scale_demo_skips_cleanly_without_postgresql():
    env = {
        **os.environ,
        # nothing listens on port 1
        "BENCH_SCALE_DATABASE_URL": "postgres://postgres@127.0.0.1:1/scale_demo",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench", "scale"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "skipped: the scale demo needs PostgreSQL" in done.stdout
