"""The inverse-variance parts of R meta's metabin and metaprop results, reproduced with
metagen() on meta's own study TE/seTE (tests/data/meta_pkg): trim and fill (k0 and the
adjusted fit, whose common effect is inverse variance there too), metainf(pooled =
"random"), Egger's test and the heterogeneity block. The Mantel-Haenszel/Peto/GLMM parts
belong to other entry points.

fleiss1993bin's leave-one-out omits a study leaving Q < df: meta then reports
H = max(1, sqrt(Q/df)) and centres the Higgins-Thompson CI on log(1).
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.engine import meta_style as ms
from tests.analysis.test_meta_style_reference import check, reference

CASES = ("fleiss1993bin_metabin_RR", "bcg_metabin_RR", "pritz1997_metaprop_PLOGIT_IV")


def _fit(case: str) -> ms.MetaResult:
    ref = reference(case)
    d = ref["data"]
    sm = ref["meta"]["settings"]["sm"]
    # metaprop tests no pooled effect (null.effect = NA)
    null = None if ref["r_function"] == "metaprop" else 0.0
    return ms.metagen(np.array(d["yi"]), np.sqrt(np.array(d["vi"])), sm=sm,
                      studlab=d["studlab"], null_effect=null)


def _without(block: dict, *names: str) -> dict:
    return {k: v for k, v in block.items() if k not in names}


@pytest.mark.parametrize("case", CASES)
def test_heterogeneity_block(case):
    het = _without(reference(case)["meta"]["heterogeneity"], "Q.CMH", "df.Q.CMH", "pval.Q.CMH")
    check(_fit(case).as_meta_json()["heterogeneity"], het, "meta/heterogeneity")


@pytest.mark.parametrize("case", CASES)
def test_random_and_prediction_blocks(case):
    got = _fit(case).as_meta_json()
    ref = reference(case)["meta"]
    check(got["random"], ref["random"], "meta/random")
    check(got["prediction"], ref["prediction"], "meta/prediction")


@pytest.mark.parametrize("case", CASES)
def test_trimfill_iv(case):
    ref = _without(reference(case)["trimfill"], "settings")
    check(ms.trimfill(_fit(case)).as_meta_json(), ref, "trimfill")


@pytest.mark.parametrize("case", CASES)
def test_metainf_random(case):
    ref = reference(case)["metainf"]["random"]
    check(ms.metainf(_fit(case), pooled="random").as_meta_json(), ref, "metainf.random")


@pytest.mark.parametrize("case", CASES)
def test_metabias_egger(case):
    check(ms.metabias(_fit(case)).as_meta_json(), reference(case)["metabias"], "metabias")


# trimfill and leave-one-out of the random effect are inverse variance for every measure:
# k0 and the adjusted fit from meta's study TE/seTE, whatever the common-effect method
MORE = ("bcg_metabin_OR", "bcg_metabin_RD", "bcg_metabin_OR_Peto", "fleiss1993bin_metabin_OR",
        "pritz1997_metaprop_PFT")


def _no_backtransf(block):
    """Drop *_backtransf (PFT's harmonic-mean back-transformation is another entry point's)."""
    if isinstance(block, dict):
        return {k: _no_backtransf(v) for k, v in block.items() if not k.endswith("_backtransf")}
    return block


@pytest.mark.parametrize("case", MORE)
def test_trimfill_iv_more_measures(case):
    ref = _without(reference(case)["trimfill"], "settings")
    got = ms.trimfill(_fit(case)).as_meta_json()
    if reference(case)["meta"]["settings"]["sm"] == "PFT":
        ref = _no_backtransf(ref)
    check(got, ref, "trimfill")


@pytest.mark.parametrize("case", MORE)
def test_metainf_random_more_measures(case):
    ref = reference(case)["metainf"]["random"]
    if reference(case)["meta"]["settings"]["sm"] == "PFT":
        ref = _no_backtransf(ref)
    check(ms.metainf(_fit(case), pooled="random").as_meta_json(), ref, "metainf.random")
