"""The export under each convention (issue 15): the manifest and README say which; results.csv
is the page's numbers; the Python script, the metafor R script (meta's I² from Q, t(k - 1)
prediction interval and Mantel-Haenszel common effect computed from metafor fits) and, when
R's meta is installed, the meta R script (analysis_meta.R) recompute them."""

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from analysis.exports import build_zip
from analysis.extraction import run_analysis
from analysis.models import EffectData, Outcome
from tests.analysis_app.test_export import ROOT, rows_of, same

SETTINGS = [("meta", "REML", "z"), ("revman", "REML", "knha"), ("meta", "FE", "z"),
            ("meta", "DL", "knha"), ("metafor", "REML", "z")]  # fmt: skip


def _export(review, tmp_path, convention, method, test, *, zero=False):
    outcome = Outcome.objects.get(review=review)
    outcome.convention, outcome.method, outcome.test = convention, method, test
    outcome.save()
    if zero:  # two tables with zero cells, one without events in either group
        rows = list(EffectData.objects.filter(outcome=outcome).order_by("study__label"))
        rows[0].values = {**rows[0].values, "ai": 0, "ci": 0}
        rows[1].values = {**rows[1].values, "ai": 0}
        for r in rows[:2]:
            r.save()
    with zipfile.ZipFile(io.BytesIO(build_zip(review))) as zf:
        zf.extractall(tmp_path)
    return outcome


def _rscript(name, cwd):
    return subprocess.run([shutil.which("Rscript"), name], cwd=cwd, capture_output=True,
                          text=True, check=False)  # fmt: skip


def _need_r():
    if shutil.which("Rscript") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install R and metafor (apt-get install r-cran-metafor).")
        pytest.skip("Rscript is not installed (Debian: apt-get install -y r-cran-metafor).")


@pytest.mark.parametrize(("convention", "method", "test"), SETTINGS)
@pytest.mark.parametrize("zero", [False, True], ids=["bcg", "zero-cells"])
def test_scripts_recompute_the_page_under_each_convention(
    bcg, tmp_path, convention, method, test, zero
):
    outcome = _export(bcg, tmp_path, convention, method, test, zero=zero)
    manifest = json.loads((tmp_path / "manifest.json").read_text())["outcomes"][0]
    assert manifest["convention"] == convention
    assert manifest["zero_cells"]["drop00"] is (convention != "metafor")
    assert (tmp_path / "analysis_meta.R").exists() is (convention != "metafor")
    assert convention in (tmp_path / "README.txt").read_text().lower().replace(
        "revman web", "revman"
    )
    page = rows_of((tmp_path / "results/results.csv").read_text())
    report = run_analysis(outcome)
    assert report.convention == convention
    assert float(page[(outcome.name, "main")]["estimate"]) == report.main.estimate
    if zero and convention != "metafor":  # the double-zero table is left out, as meta does
        assert report.main.k == 12

    run = subprocess.run(
        [sys.executable, "analysis.py", "--project", str(ROOT)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    script = rows_of((tmp_path / "results_python.csv").read_text())
    assert page.keys() == script.keys()
    assert not any(same(page[k], script[k], 1e-12) for k in page)

    _need_r()
    run = _rscript("analysis.R", tmp_path)
    assert run.returncode == 0, run.stderr
    r = rows_of((tmp_path / "results_r.csv").read_text())
    assert page.keys() == r.keys()
    problems = {key: same(page[key], r[key], 1e-6) for key in page}
    assert not any(problems.values()), problems


@pytest.mark.parametrize(("convention", "method", "test"), SETTINGS[:4])
def test_the_meta_script_recomputes_with_r_s_meta(bcg, tmp_path, convention, method, test):
    outcome = _export(bcg, tmp_path, convention, method, test)
    _need_r()
    parsed = subprocess.run(
        [shutil.which("Rscript"), "-e", 'invisible(parse("analysis_meta.R"))'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert parsed.returncode == 0, parsed.stderr  # valid R, whether or not meta is installed
    has_meta = (
        subprocess.run(
            [shutil.which("Rscript"), "-e", "library(meta)"], capture_output=True, check=False
        ).returncode
        == 0
    )
    if not has_meta:
        pytest.skip(
            "R's meta package is not installed (it is not in Debian): "
            "install.packages('meta') to run analysis_meta.R"
        )
    run = _rscript("analysis_meta.R", tmp_path)
    assert run.returncode == 0, run.stderr
    page = rows_of((tmp_path / "results/results.csv").read_text())
    meta = rows_of((tmp_path / "results_meta.csv").read_text())
    for key in meta:
        assert not same(page[key], meta[key], 1e-6), key
    assert (outcome.name, "main") in meta
