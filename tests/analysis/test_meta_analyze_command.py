"""The meta_analyze management command: a thin wrapper over analysis.engine."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

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


# Finding 4 of issue 15: malformed input gave tracebacks; each is now an error naming the file,
# the line and the column, or read as the person meant.

GEN = "study,yi,vi\nA,0.1,0.01\nB,0.3,0.02\nC,0.2,0.015\n"


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def test_a_ragged_row_names_its_line(tmp_path):
    path = write(tmp_path, "ragged.csv", "study,yi,vi\nA,0.1,0.01\nB,0.3,0.02,7\nC,0.2\n")
    with pytest.raises(CommandError, match=r"ragged.csv, line 3: 4 fields, but the header "
                       r"\(line 1\) has 3\."):
        run(path)


def test_a_semicolon_file_with_decimal_commas_reads_as_meant(tmp_path):
    expected = json.loads(run(write(tmp_path, "gen.csv", GEN), "--json"))
    semi = GEN.replace(",", ";").replace("0.", "0,")
    got = json.loads(run(write(tmp_path, "semi.csv", semi), "--json"))
    assert got["model"]["b"] == expected["model"]["b"]
    assert [s["vi"] for s in got["studies"]] == [0.01, 0.02, 0.015]
    tabs = GEN.replace(",", "\t")  # a tab-separated file with decimal points
    assert json.loads(run(write(tmp_path, "t.tsv", tabs), "--json"))["model"]["b"] == (
        expected["model"]["b"]
    )


def test_an_ambiguous_number_is_refused_with_both_readings(tmp_path):
    path = write(tmp_path, "amb.csv", "study;yi;vi\nA;1.234;0,01\nB;0,3;0,02\n")
    with pytest.raises(CommandError, match=r"amb.csv, line 2, column 'yi': '1.234' could be "):
        run(path)
    path = write(tmp_path, "amb2.csv", 'study,yi,vi\nA,"0,1",0.01\nB,0.3,0.02\n')
    with pytest.raises(CommandError, match=r"amb2.csv, line 2, column 'yi': '0,1'"):
        run(path)


def test_a_latin_1_file_is_read(tmp_path):
    content = "study,yi,vi\nM\u00fcller 2001,0.1,0.01\nS\u00e1nchez 2003,0.3,0.02\n"
    path = write(tmp_path, "latin1.csv", content.encode("latin-1"))
    result = json.loads(run(path, "--json"))
    assert [s["slab"] for s in result["studies"]] == ["M\u00fcller 2001", "S\u00e1nchez 2003"]


def test_extreme_magnitudes_are_a_clear_error(tmp_path):
    path = write(tmp_path, "big.csv", "study,yi,vi\nA,1e200,1\nB,2e200,1\nC,1e200,2\n")
    with pytest.raises(CommandError, match=r"study 'A' .* too large or too small"):
        run(path)
    path = write(tmp_path, "tiny.csv", "study,yi,vi\nA,0.1,1e-300\nB,0.2,1e-300\n")
    with pytest.raises(CommandError, match=r"too large or too small"):
        run(path)


@pytest.mark.parametrize("level", ["0", "100", "150", "-5", "nan", "inf", "x"])
def test_a_level_outside_0_100_is_refused(tmp_path, level):
    with pytest.raises(CommandError, match=r"--level must be"):
        run(write(tmp_path, "gen.csv", GEN), f"--level={level}")


def test_a_duplicated_header_is_refused(tmp_path):
    path = write(tmp_path, "dup.csv", "study,yi,vi,yi\nA,0.1,0.01,0.5\nB,0.3,0.02,0.6\n")
    with pytest.raises(CommandError, match=r"dup.csv, line 1: columns 2 and 4 are both named 'yi'"):
        run(path)


def test_files_that_are_not_study_tables(tmp_path):
    for content, message in (
        (b"", "is empty"),
        (b"\n\n", "is empty"),
        (b"study,yi,vi\n", "no data rows"),
        (b"a,b\n1,2\n", "no column is named as an escalc argument"),
        (b"\x00\x01PK", "not a text file"),
    ):
        with pytest.raises(CommandError, match=message):
            run(write(tmp_path, "x.csv", content))


# Finding 3 of issue 15: papers print r, OR and RR; the command printed only log RR, log OR and
# Fisher's z.


def test_ratios_and_correlations_are_printed_on_the_natural_scale(bcg_csv, tmp_path):
    import math

    text = run(str(bcg_csv), "--measure", "RR")
    model = json.loads(run(str(bcg_csv), "--measure", "RR", "--json"))
    natural = model["natural"]
    assert natural["transform"] == "exp" and natural["name"] == "RR"
    assert natural["estimate"] == pytest.approx(math.exp(model["model"]["b"]), rel=1e-12)
    assert natural["ci_lb"] == pytest.approx(math.exp(model["model"]["ci_lb"]), rel=1e-12)
    assert natural["pi_ub"] == pytest.approx(math.exp(model["predict"]["pi_ub"]), rel=1e-12)
    lb, ub = natural["ci_lb"], natural["ci_ub"]
    assert f"RR = {natural['estimate']:.4f} [{lb:.4f}, {ub:.4f}]" in text
    assert "(back-transformed; below, the analysis scale: log RR)" in text
    path = tmp_path / "cor.csv"
    path.write_text("study,ri,ni\nA,0.3,50\nB,0.1,120\nC,0.25,80\n")
    cor = json.loads(run(str(path), "--measure", "ZCOR", "--json"))
    assert cor["natural"]["name"] == "r"
    assert cor["natural"]["estimate"] == pytest.approx(math.tanh(cor["model"]["b"]), rel=1e-12)
    assert "r = " in run(str(path), "--measure", "ZCOR")


def test_the_analysis_scale_alone_on_request(bcg_csv):
    text = run(str(bcg_csv), "--measure", "RR", "--scale", "analysis")
    assert "RR = " not in text and "log RR" in text
    assert "natural" not in json.loads(
        run(str(bcg_csv), "--measure", "RR", "--scale", "analysis", "--json")
    )


def test_the_meta_and_revman_conventions(bcg_csv):
    meta = json.loads(run(str(bcg_csv), "--measure", "RR", "--convention", "meta", "--json"))
    ref = json.loads((Path(__file__).resolve().parent.parent / "data" / "meta_pkg" / "results"
                      / "bcg_metabin_RR.json").read_text())  # fmt: skip
    assert meta["estimate"] == pytest.approx(ref["meta"]["random"]["TE_backtransf"], rel=1e-6)
    assert meta["pi_lb"] == pytest.approx(ref["meta"]["prediction"]["lower_backtransf"],
                                          rel=1e-6)  # fmt: skip
    revman = json.loads(run(str(bcg_csv), "--measure", "RR", "--convention", "revman",
                            "--json"))  # fmt: skip
    assert revman["ci_lb"] == pytest.approx(ref["update_HK"]["random"]["lower_backtransf"],
                                            rel=1e-6)  # fmt: skip
    text = run(str(bcg_csv), "--measure", "RR", "--convention", "revman")
    assert "RevMan Web defaults" in text and "Hartung-Knapp" in text


def test_proportions_under_the_meta_and_revman_conventions(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("study,xi,ni\nA,3,20\nB,5,30\n")
    with pytest.raises(CommandError, match="does not pool single-group proportions"):
        run(str(path), "--measure", "PLO", "--convention", "revman")
    meta = json.loads(run(str(path), "--measure", "PLO", "--convention", "meta", "--json"))
    assert meta["ci_method"] == "normal (z), GLMM" and 0 < meta["estimate"] < 1


def test_zero_cell_handling_can_be_chosen(tmp_path):
    """Finding 1 of issue 15: escalc's add, to and drop00 were only in the API. References:
    metafor 3.8-1, escalc("OR", ...) then rma(yi, vi) on these four tables (one with no events
    in either group): default -0.918157599279174 (k = 4); add = 0.25, to = "all",
    drop00 = TRUE: -0.936740641231383 (k = 3)."""
    path = tmp_path / "zero.csv"
    path.write_text("study,ai,bi,ci,di\nA,0,20,2,18\nB,3,17,6,14\nC,0,25,0,25\nD,5,15,9,11\n")
    default = json.loads(run(str(path), "--measure", "OR", "--json"))
    assert default["model"]["b"] == pytest.approx(-0.918157599279174, rel=1e-6)
    assert default["model"]["k"] == 4
    err = io.StringIO()
    call_command("meta_analyze", str(path), "--measure", "OR", "--add", "0.25", "--to", "all",
                 "--drop00", "--json", stdout=(out := io.StringIO()), stderr=err)  # fmt: skip
    chosen = json.loads(out.getvalue())
    assert "dropped 1 double-zero table(s): C" in err.getvalue()
    assert chosen["model"]["b"] == pytest.approx(-0.936740641231383, rel=1e-6)
    assert chosen["model"]["k"] == 3
    with pytest.raises(CommandError, match="--add must be 0 or more"):
        run(str(path), "--measure", "OR", "--add", "-1")


def _meta_ref(case="bcg_metabin_RR"):
    return json.loads((Path(__file__).resolve().parent.parent / "data" / "meta_pkg" / "results"
                       / f"{case}.json").read_text())  # fmt: skip


def test_conventions_take_the_method_test_and_scale(bcg_csv):
    """--convention meta/revman compute what the analysis page does under that convention:
    --method FE is meta's Mantel-Haenszel common effect, --method and --test are honoured,
    --scale analysis gives log RR."""
    ref = _meta_ref()
    common = json.loads(run(str(bcg_csv), "--measure", "RR", "--convention", "meta",
                            "--method", "FE", "--json"))  # fmt: skip
    assert common["estimate"] == pytest.approx(ref["meta"]["common"]["TE_backtransf"], rel=1e-8)
    assert "Mantel-Haenszel" in common["model"] and common["pi_lb"] is None
    hk = json.loads(run(str(bcg_csv), "--measure", "RR", "--convention", "meta", "--test",
                        "knha", "--json", "--scale", "analysis"))  # fmt: skip
    assert hk["scale"] == "analysis"
    assert hk["ci_lb"] == pytest.approx(ref["update_HK"]["random"]["lower"], rel=1e-6)
    assert hk["i2_lb"] == pytest.approx(ref["meta"]["heterogeneity"]["lower.I2_percent"],
                                        rel=1e-8)  # fmt: skip
    dl = json.loads(run(str(bcg_csv), "--measure", "RR", "--convention", "revman", "--method",
                        "DL", "--json"))  # fmt: skip
    assert (dl["method"], dl["test"]) == ("DL", "knha")  # RevMan's default test
    assert dl["tau2"] != pytest.approx(hk["tau2"], rel=1e-3)


def test_meta_convention_leaves_out_double_zero_tables(tmp_path):
    path = tmp_path / "zero.csv"
    path.write_text("study,ai,bi,ci,di\nA,0,20,2,18\nB,3,17,6,14\nC,0,25,0,25\nD,5,15,9,11\n")
    meta = json.loads(run(str(path), "--measure", "OR", "--convention", "meta", "--json"))
    assert meta["k"] == 3 and [s["slab"] for s in meta["studies"]] == ["A", "B", "D"]
    assert any("Left out" in n and "C" in n for n in meta["notes"])
    text = run(str(path), "--measure", "OR", "--convention", "meta")
    assert "Note: Left out" in text
