"""The meta_analyze management command: a thin wrapper over analysis.engine."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.analysis import reference as ref


@pytest.fixture
def bcg_csv(tmp_path):
    """dat.bcg with columns named as metafor's escalc arguments and a study label column."""
    path = tmp_path / "bcg.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["study", "ai", "bi", "ci", "di"])
        for i, label in enumerate(ref.slab("bcg_RR")):
            writer.writerow([label, *(int(ref.column("bcg_RR", c)[i])
                                      for c in ("tpos", "tneg", "cpos", "cneg"))])
    return path


def run(*args) -> str:
    out = io.StringIO()
    call_command("meta_analyze", *args, stdout=out)
    return out.getvalue()


def test_json_output_matches_metafor(bcg_csv):
    result = json.loads(run(str(bcg_csv), "--measure", "RR", "--method", "REML", "--json"))
    expected = ref.result("bcg_RR")["random"]["REML"]["z"]
    model = result["model"]
    for key, attr in (("b", "b"), ("se", "se"), ("ci.lb", "ci_lb"), ("tau2", "tau2"),
                      ("I2", "i2"), ("QE", "qe")):
        assert model[attr] == pytest.approx(expected[key], rel=1e-9)
    assert result["predict"]["pi_lb"] == pytest.approx(expected["predict"]["pi.lb"], rel=1e-9)
    assert result["measure"] == "RR"
    assert [s["slab"] for s in result["studies"]] == ref.slab("bcg_RR")
    assert sum(s["weight"] for s in result["studies"]) == pytest.approx(100)


def test_knha_and_level(bcg_csv):
    result = json.loads(run(str(bcg_csv), "--measure", "rr", "--method", "DL", "--test",
                            "knha", "--level", "90", "--json"))
    model = result["model"]
    assert model["test"] == "knha"
    assert model["ddf"] == 12
    assert model["level"] == 90
    expected = ref.result("bcg_RR")["random"]["DL"]["knha"]
    assert model["se"] == pytest.approx(expected["se"], rel=1e-9)


def test_table_output(bcg_csv):
    text = run(str(bcg_csv), "--measure", "RR")
    assert "method: REML" in text
    assert "tau2 = 0.3132" in text
    assert "Aronson, 1948" in text


def test_generic_yi_vi_columns(tmp_path):
    path = tmp_path / "gen.csv"
    path.write_text("slab,yi,vi\nA,0.1,0.01\nB,0.3,0.02\nC,0.2,0.015\n")
    result = json.loads(run(str(path), "--method", "FE", "--json"))
    assert result["model"]["method"] == "FE"
    assert result["predict"]["pi_lb"] is None


def test_errors_become_command_errors(bcg_csv, tmp_path):
    with pytest.raises(CommandError, match=r"Measure 'SMD' needs m1i"):
        run(str(bcg_csv), "--measure", "SMD")
    bad = tmp_path / "bad.csv"
    bad.write_text("study,yi,vi\nA,0.1,0.01\nB,0.2,0\n")
    with pytest.raises(CommandError, match=r"Sampling variance of study 'B' is not positive"):
        run(str(bad))
    with pytest.raises(CommandError, match="Cannot read"):
        run(str(tmp_path / "missing.csv"))
