"""rma() with sampling variances of zero, as metafor 3.8-1 fits them (extra/zero_vi.json).

metafor fits REML, ML, HE, SJ and EB when some or all vi are 0 (the Q-test, I² and H² are NA)
and refuses DL, PM, HS and the common-effect model, each with its own message. A negative vi
is refused here (metafor sets it to 0 with a warning: a number silently changed).
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from analysis.engine import MetaAnalysisError, predict, rma

DATA = json.loads(
    (Path(__file__).resolve().parent.parent / "data" / "metafor" / "extra" / "zero_vi.json")
    .read_text()
)
CASES = [key for key in DATA if key.count("-") == 2]
RTOL = {"REML": 1e-5, "ML": 1e-5, "EB": 1e-5, "HE": 1e-8, "SJ": 1e-8}


def _fit(key):
    vis, method, mods = key.split("-")
    vi = [0.0] * 13 if vis == "all_zero" else DATA[key].get("vi") or DATA[f"{vis}-REML-none"]["vi"]
    kwargs = {"mods": DATA["ablat"]} if mods == "ablat" else {}
    return rma(DATA["yi"], vi, method=method, **kwargs)


@pytest.mark.parametrize("key", CASES)
def test_zero_sampling_variances_as_metafor(key):
    expected = DATA[key]
    if "error" in expected:
        with pytest.raises(MetaAnalysisError) as caught:
            _fit(key)
        assert str(caught.value) == expected["error"]
        return
    res = _fit(key)
    rtol = RTOL[key.split("-")[1]]
    np.testing.assert_allclose(np.atleast_1d(res.b), np.atleast_1d(expected["b"]), rtol=rtol)
    np.testing.assert_allclose(np.atleast_1d(res.se), np.atleast_1d(expected["se"]), rtol=rtol)
    assert res.tau2 == pytest.approx(expected["tau2"], rel=rtol)
    assert math.isnan(res.qe) and math.isnan(res.i2) and math.isnan(res.h2)
    stats = res.fitstats
    assert stats["ML"]["logLik"] == pytest.approx(expected["ll_ml"], rel=rtol)
    assert stats["REML"]["logLik"] == pytest.approx(expected["ll_reml"], rel=rtol)
    assert stats["ML"]["deviance"] == pytest.approx(expected["dev_ml"], rel=rtol)
    if key.endswith("-none"):
        pred = predict(res)
        assert float(pred.pi_lb) == pytest.approx(expected["pi_lb"], rel=rtol)
        assert float(pred.pi_ub) == pytest.approx(expected["pi_ub"], rel=rtol)


def test_a_negative_sampling_variance_is_refused_by_name():
    with pytest.raises(MetaAnalysisError, match=r"Sampling variance of study 2 is negative"):
        rma([0.1, 0.2, 0.3], [0.01, -0.02, 0.03])
