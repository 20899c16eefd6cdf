"""Real data: dat.bcg (log risk ratios) and dat.molloy2014 (Fisher's z) with metafor's
reference results (tests/data/metafor)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from analysis.engine import RMAResult, rma
from tests.analysis.reference import column, data, result, slab, yi_vi

Z95 = 1.959963984540054  # qnorm(0.975)


@dataclass(frozen=True)
class Case:
    yi: np.ndarray
    vi: np.ndarray
    labels: list[str]
    fit: RMAResult
    ref: dict
    columns: dict


def _case(name: str) -> Case:
    yi, vi = yi_vi(name)
    return Case(
        yi=yi,
        vi=vi,
        labels=slab(name),
        fit=rma(yi, vi, method="REML"),
        ref=result(name),
        columns=data(name),
    )


@pytest.fixture(scope="session")
def bcg() -> Case:
    return _case("bcg_RR")


@pytest.fixture(scope="session")
def molloy() -> Case:
    return _case("molloy2014_ZCOR")


@pytest.fixture(scope="session")
def ablat() -> np.ndarray:
    return column("bcg_RR", "ablat")
