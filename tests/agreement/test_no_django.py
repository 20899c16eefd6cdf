"""The statistics are plain Python: importing them must not import Django."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_agreement_imports_no_django():
    code = (
        "import json, sys; import screening.agreement; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    modules = set(json.loads(out.stdout))
    assert "screening" in modules
    assert not modules & {"django", "numpy", "scipy", "pandas"}
