"""review.importers is pure Python: importing and using it loads no Django."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importers_do_not_import_django():
    code = (
        "import sys\n"
        "import review.importers as imp\n"
        "from review.importers import bibtex, endnote_xml, medline, pubmed_xml, ris, tabular, wos\n"
        "r = imp.parse(b'TY  - JOUR\\nTI  - x\\nER  - \\n', 'x.ris')\n"
        "assert r.records[0].title == 'x'\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "[]"


def test_no_django_import_in_source():
    package = ROOT / "review" / "importers"
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import django" not in text and "from django" not in text, path
