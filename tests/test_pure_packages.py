"""The pure packages load no Django (nor heavier libraries they must not need).

Each is imported in a fresh interpreter; the top-level names in sys.modules are checked.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PACKAGES = {
    # package: (must be loaded, must not be loaded)
    "analysis.engine": ({"numpy", "scipy"}, {"django", "matplotlib", "pandas"}),
    "analysis.engine.numbers": (set(), {"django", "matplotlib", "pandas"}),
    "analysis.plots": ({"numpy", "matplotlib"}, {"django", "pandas", "sklearn"}),
    "review.importers": (set(), {"django", "rest_framework"}),
    "review.dedup": ({"rapidfuzz"}, {"django", "rest_framework", "pandas"}),
    "screening.agreement": (set(), {"django", "numpy", "scipy", "pandas"}),
    "review.cells": (set(), {"django"}),
    "review.keys": (set(), {"django"}),
    "review.markup": (set(), {"django"}),
    "review.params": (set(), {"django"}),
    # scikit-learn itself imports pandas when it is installed
    "screening.ranking": ({"numpy", "scipy", "sklearn"}, {"django", "rest_framework"}),
}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_pure_package_imports_no_django(package):
    code = (
        f"import json, sys; import {package}; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    modules = set(json.loads(out.stdout))
    needed, forbidden = PACKAGES[package]
    assert needed <= modules
    assert not modules & forbidden


def test_the_importers_parse_without_django():
    code = (
        "import sys, review.importers as imp\n"
        "from review.importers import bibtex, endnote_xml, medline, pubmed_xml, ris, tabular, wos\n"
        "from review.importers import endnote_tagged, proquest\n"
        "assert imp.parse(b'TY  - JOUR\\nTI  - x\\nER  - \\n', 'x.ris').records[0].title == 'x'\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
