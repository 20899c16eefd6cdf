"""The engine is plain Python: importing it must not import Django (or pandas/matplotlib)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_engine_imports_no_django():
    code = (
        "import json, sys; import analysis.engine; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True,
    )
    modules = set(json.loads(out.stdout))
    assert "numpy" in modules
    assert "scipy" in modules
    assert not modules & {"django", "matplotlib", "pandas"}
