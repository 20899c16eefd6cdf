"""meta_style.metabin against R meta 8.4-0's metabin (tests/data/meta_pkg): the whole ``meta``
block (study effects, MH or Peto common effect, random effects, prediction, heterogeneity),
``update_HK``, ``update_HTS`` and ``metabias`` (Harbord for OR, Egger for RR and RD, none
below k = 10), with the tolerances of test_meta_style_reference."""

import pytest

from analysis.engine import meta_style
from tests.analysis.test_meta_style_reference import check, col, columns, reference

CASES = ("bcg_metabin_RR", "bcg_metabin_OR", "bcg_metabin_RD", "bcg_metabin_OR_Peto",
         "fleiss1993bin_metabin_RR", "fleiss1993bin_metabin_OR")  # fmt: skip


def fitted(case):
    ref = reference(case)
    args = {meta: col(case, column) for meta, column in ref["args"].items()}
    opts = ref["options"] or {}  # None: all defaults (sm = "RR")
    return meta_style.metabin(args["event.e"], args["n.e"], args["event.c"], args["n.c"],
                              sm=opts.get("sm", "RR"), method=opts.get("method", "MH"),
                              studlab=columns(case)["studlab"])  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_meta_block(case):
    check(fitted(case).as_meta_json(), reference(case)["meta"], "meta")


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("block", ["update_HK", "update_HTS"])
def test_updates(case, block):
    opts = {"method_random_ci": "HK"} if block == "update_HK" else {"method_predict": "HTS"}
    m = meta_style.update(fitted(case), **opts)
    check(m.as_meta_json(studies=False), reference(case)[block], block)


@pytest.mark.parametrize("case", CASES)
def test_metabias(case):
    expected = reference(case)["metabias"]
    got = meta_style.metabias(fitted(case))
    if expected.get("skipped"):
        assert got.skipped and got.k == expected["k"]
        return
    assert not got.skipped
    for key, attr in (("statistic", "statistic"), ("df", "df"), ("pval", "pval")):
        assert getattr(got, attr) == pytest.approx(expected[key], rel=1e-8), key


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("pooled", ["default", "random"])
def test_metainf_refits_metabin(case, pooled):
    """metainf(m) of a metabin fit: each omission refitted from the counts (meta's default
    pools the Mantel-Haenszel/Peto common effect)."""
    ref = reference(case)["metainf"][pooled]
    got = meta_style.metainf(fitted(case), pooled=None if pooled == "default" else "random")
    check(got.as_meta_json(), ref, f"metainf.{pooled}")
