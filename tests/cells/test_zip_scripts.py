"""The ZIP's scripts still recompute every number when the CSVs they read hold quoted text.

The data CSVs quote study labels and subgroups that start with = + - @ (review.cells); the
scripts take the apostrophe off again, so a subgroup `=random` is the same group, named the
same, in results.csv and in what the scripts write."""

import csv
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from analysis.demo import bcg_demo_load
from analysis.exports import build_zip
from analysis.models import ModeratorValue, Outcome, Study
from review.cells import unquote_cell
from review.models import Role
from tests import factories
from tests.analysis_app.test_export import same

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def rows_of(text: str) -> dict[tuple[str, str], dict]:
    """Rows by (outcome, model), read back as the user's text."""
    return {(unquote_cell(r["outcome"]), r["model"]): r for r in csv.DictReader(io.StringIO(text))}


@pytest.fixture
def export_dir(tmp_path):
    review = bcg_demo_load({"lead": (factories.UserFactory(username="lead"), Role.LEAD)})
    Outcome.objects.filter(review=review).update(name="=Tuberculosis")
    for value in ModeratorValue.objects.filter(moderator__name="allocation"):
        value.value = {"random": "=random", "alternate": "+alternate"}.get(value.value, "-sys")
        value.save()
    for study in Study.objects.filter(review=review):
        study.label = "@" + study.label
        study.save()
    with zipfile.ZipFile(io.BytesIO(build_zip(review))) as zf:
        zf.extractall(tmp_path)
    assert "'@" in (tmp_path / "data/tuberculosis.csv").read_text()
    return tmp_path


def _run(command, folder):
    run = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    return run


def test_the_python_script_reads_quoted_text_back(export_dir):
    _run([sys.executable, "analysis.py", "--project", str(ROOT)], export_dir)
    page = rows_of((export_dir / "results/results.csv").read_text())
    script = rows_of((export_dir / "results_python.csv").read_text())
    assert ("=Tuberculosis", "subgroup:=random") in page
    assert page.keys() == script.keys()
    for key in page:
        assert not same(page[key], script[key], 1e-12), key
    assert not any(
        c.startswith(("=", "+", "@"))
        for row in csv.reader(io.StringIO((export_dir / "results_python.csv").read_text()))
        for c in row
    )


def test_the_r_script_reads_quoted_text_back(export_dir):
    if shutil.which("Rscript") is None:  # as tests/analysis_app/test_export.py
        if os.environ.get("CI"):
            pytest.fail("CI must install R and metafor (apt-get install r-cran-metafor).")
        pytest.skip("Rscript is not installed (Debian: apt-get install -y r-cran-metafor).")
    _run([shutil.which("Rscript"), "analysis.R"], export_dir)
    page = rows_of((export_dir / "results/results.csv").read_text())
    r = rows_of((export_dir / "results_r.csv").read_text())
    assert page.keys() == r.keys()
    problems = {key: same(page[key], r[key], 1e-6) for key in page}
    assert not any(problems.values()), problems
