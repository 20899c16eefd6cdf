"""escalc() from the raw data columns against metafor's yi and vi for each case."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.engine import escalc
from tests.analysis import reference as ref


def _inputs(case):
    col = lambda name: ref.column(case, name)  # noqa: E731
    if case == "bcg_RR":
        return "RR", {"ai": col("tpos"), "bi": col("tneg"), "ci": col("cpos"), "di": col("cneg")}
    if case == "molloy2014_ZCOR":
        return "ZCOR", {"ri": col("ri"), "ni": col("ni")}
    measure = case.split("_")[1]
    return measure, {n: col(n) for n in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}


@pytest.mark.parametrize("case", ref.CASES)
def test_escalc_matches_metafor(case):
    measure, inputs = _inputs(case)
    assert ref.result(case)["escalc"]["measure"] == measure
    es = escalc(measure, **inputs, slab=ref.slab(case))
    yi, vi = ref.yi_vi(case)
    ref.close(es.yi, yi, ref.RTOL_CLOSED, f"{case} yi", atol=1e-14)
    ref.close(es.vi, vi, ref.RTOL_CLOSED, f"{case} vi", atol=1e-14)
    # and the CSV's own copy of the same values
    ref.close(es.yi, ref.column(case, "yi"), ref.RTOL_CLOSED, f"{case} csv yi", atol=1e-14)
    assert es.slab == tuple(ref.slab(case))
    assert es.corrected == ()


def test_bcg_with_group_sizes_gives_same_values():
    col = lambda name: ref.column("bcg_RR", name)  # noqa: E731
    es = escalc("RR", ai=col("tpos"), n1i=col("tpos") + col("tneg"),
                ci=col("cpos"), n2i=col("cpos") + col("cneg"))
    yi, vi = ref.yi_vi("bcg_RR")
    np.testing.assert_allclose(es.yi, yi, rtol=1e-12)
    np.testing.assert_allclose(es.vi, vi, rtol=1e-12)
