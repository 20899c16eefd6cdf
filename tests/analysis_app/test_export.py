"""The meta-analysis export: what the ZIP holds, that it is deterministic, and that its two
scripts recompute the page's numbers (Python with this project's engine; R with metafor where
Rscript is installed: CI installs it)."""

import csv
import io
import math
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from analysis.exports import build_zip
from analysis.extraction import run_analysis
from analysis.models import Outcome
from tests.analysis.reference import result

ROOT = Path(__file__).resolve().parents[2]


def rows_of(text: str) -> dict[tuple[str, str], dict]:
    return {(r["outcome"], r["model"]): r for r in csv.DictReader(io.StringIO(text))}


def same(a: dict, b: dict, rtol: float) -> list[str]:
    wrong = []
    for key in (
        "k",
        "estimate",
        "se",
        "ci_lb",
        "ci_ub",
        "pval",
        "tau2",
        "i2",
        "h2",
        "q",
        "q_pval",
        "pi_lb",
        "pi_ub",
    ):
        x, y = a.get(key, ""), b.get(key, "")
        if x in ("", "NA") and y in ("", "NA"):
            continue
        if (
            x in ("", "NA")
            or y in ("", "NA")
            or not math.isclose(float(x), float(y), rel_tol=rtol, abs_tol=1e-12)
        ):
            wrong.append(f"{key}: {x} vs {y}")
    return wrong


@pytest.fixture
def export_dir(bcg, tmp_path):
    body = build_zip(bcg)
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        zf.extractall(tmp_path)
    return tmp_path


def test_the_zip_holds_data_results_plots_prisma_and_scripts(bcg, export_dir):
    names = {str(p.relative_to(export_dir)) for p in export_dir.rglob("*") if p.is_file()}
    expected = {
        "README.txt",
        "manifest.json",
        "analysis.R",
        "analysis.py",
        "extraction.csv",
        "data/tuberculosis-cases.csv",
        "results/results.csv",
        "results/tuberculosis-cases.json",
        "plots/tuberculosis-cases-forest.svg",
        "plots/tuberculosis-cases-forest.png",
        "plots/tuberculosis-cases-funnel.svg",
        "plots/tuberculosis-cases-funnel.png",
        "plots/tuberculosis-cases-bubble.svg",
        "plots/tuberculosis-cases-bubble.png",
        "prisma/counts.csv",
    }
    assert expected <= names
    assert "prisma/diagram.svg" in names or "prisma/NOT-DRAWN.txt" in names
    assert build_zip(bcg) == build_zip(bcg)  # same review, same bytes


def test_results_are_the_pages_numbers_and_metafors(bcg, export_dir):
    results = rows_of((export_dir / "results/results.csv").read_text())
    outcome = Outcome.objects.get(review=bcg)
    report = run_analysis(outcome)
    main = results[("Tuberculosis cases", "main")]
    assert float(main["estimate"]) == report.main.estimate  # full precision: repr
    assert float(main["tau2"]) == report.main.tau2
    ref = result("bcg_RR")["random"]
    assert math.isclose(float(main["estimate"]), ref["REML"]["z"]["b"], rel_tol=1e-6)
    for method in ("DL", "REML", "PM"):
        for test in ("z", "knha"):
            row = results[("Tuberculosis cases", f"{method}/{test}")]
            assert math.isclose(float(row["estimate"]), ref[method][test]["b"], rel_tol=1e-6)
    assert {m for _, m in results} >= {
        "subgroup:random",
        "subgroup:alternate",
        "metareg:absolute latitude",
    }


def test_the_python_script_recomputes_every_number(export_dir):
    run = subprocess.run(
        [sys.executable, "analysis.py", "--project", str(ROOT)],
        cwd=export_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "Tuberculosis cases: RR, REML, k = 13" in run.stdout
    page = rows_of((export_dir / "results/results.csv").read_text())
    script = rows_of((export_dir / "results_python.csv").read_text())
    assert page.keys() == script.keys()
    for key in page:
        assert not same(page[key], script[key], 1e-12), key


def test_the_r_script_recomputes_every_number_with_metafor(export_dir):
    if shutil.which("Rscript") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install R and metafor (apt-get install r-cran-metafor).")
        pytest.skip("Rscript is not installed (Debian: apt-get install -y r-cran-metafor).")
    run = subprocess.run(
        [shutil.which("Rscript"), "analysis.R"],
        cwd=export_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    page = rows_of((export_dir / "results/results.csv").read_text())
    r = rows_of((export_dir / "results_r.csv").read_text())
    assert page.keys() == r.keys()
    problems = {key: same(page[key], r[key], 1e-6) for key in page}
    assert not any(problems.values()), problems


def test_export_review_command(bcg, tmp_path):
    out = tmp_path / "bcg.zip"
    call_command("export_review", "bcg", "--output", str(out))
    assert zipfile.ZipFile(out).testzip() is None
    with pytest.raises(CommandError, match="No review 'nope'"):
        call_command("export_review", "nope", "--output", str(out))


def test_export_download_for_members(client, bcg):
    client.force_login(bcg.viewer_user)
    response = client.get(f"/reviews/{bcg.slug}/export.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(response.content)).testzip() is None
