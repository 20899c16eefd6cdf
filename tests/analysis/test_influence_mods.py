"""influence() of meta-regressions against metafor 3.8-1 (tests/data/metafor/influence_mods.R).

metafor's Cook's distance and covariance ratio use every coefficient, the intercept included
(`influence.rma.uni` sets `btt` with `int.incl = FALSE`, i.e. 1:p), not the moderator test's
coefficients: leaving the intercept out got them wrong by up to 133% on dat.bcg.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.engine import influence, rma

DATA = json.loads(
    (Path(__file__).resolve().parent.parent / "data" / "metafor" / "extra" / "influence_mods.json")
    .read_text()
)
KEYS = {"rstudent": "rstudent", "dffits": "dffits", "cook.d": "cook_d", "cov.r": "cov_r",
        "tau2.del": "tau2_del", "QE.del": "qe_del", "hat": "hat", "weight": "weight"}  # fmt: skip
RTOL = {"REML": 1e-4, "DL": 1e-8, "FE": 1e-8}


@pytest.mark.parametrize("case", list(DATA))
def test_influence_of_a_meta_regression_matches_metafor(case):
    expected = DATA[case]
    method = case.rsplit("-", 1)[1]
    mods = np.column_stack([expected[m] for m in case.split("-")[2].split("+")])
    res = rma(expected["yi"], expected["vi"], mods=mods, method=method)
    out = influence(res)
    for key, attr in KEYS.items():
        np.testing.assert_allclose(
            getattr(out, attr), expected[key], rtol=RTOL[method], atol=1e-12, err_msg=key
        )
    np.testing.assert_allclose(out.dfbs, expected["dfbs"], rtol=RTOL[method], atol=1e-12)
    assert out.is_infl.tolist() == expected["is.infl"]
