"""Access to the metafor 3.8-1 reference values in tests/data/metafor (see its README)."""

from __future__ import annotations

import csv
import json
import math
from functools import cache
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "metafor"
CASES = tuple(json.loads((DATA_DIR / "results" / "index.json").read_text())["cases"])
TIGHT = {"threshold": 1e-12, "tol": 1e-12, "maxiter": 10000}

# Tolerances (relative), as agreed for the engine: closed-form results 1e-8; iterative
# estimators (REML, ML, PM, EB) 1e-6 against metafor's tight-convergence entries and 1e-4
# against its default-convergence entries.
RTOL_CLOSED = 1e-8
RTOL_TIGHT = 1e-6
RTOL_DEFAULT = 1e-4
ITERATIVE = ("REML", "ML", "PM", "EB")


@cache
def result(case: str) -> dict:
    return json.loads((DATA_DIR / "results" / f"{case}.json").read_text())


@cache
def data(case: str) -> dict[str, list]:
    with (DATA_DIR / "data" / f"{case}.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {key: [row[key] for row in rows] for key in rows[0]}


def column(case: str, name: str) -> np.ndarray:
    return np.array([float(x) for x in data(case)[name]])


def yi_vi(case: str) -> tuple[np.ndarray, np.ndarray]:
    ref = result(case)["data"]
    return np.array(ref["yi"], dtype=float), np.array(ref["vi"], dtype=float)


def slab(case: str) -> list[str]:
    return list(result(case)["data"]["study"])


def rtol_for(method: str, variant: str) -> float:
    if method not in ITERATIVE:
        return RTOL_CLOSED
    return RTOL_TIGHT if variant.endswith("tight") else RTOL_DEFAULT


def close(actual, expected, rtol: float, what: str, atol: float | None = None) -> None:
    """assert_allclose with None (R's NA) handled and a message naming the quantity."""
    if expected is None:
        assert actual is None or (np.ndim(actual) == 0 and math.isnan(actual)), what
        return
    exp = np.asarray(expected, dtype=float)
    act = np.asarray(actual, dtype=float)
    np.testing.assert_allclose(
        act, exp, rtol=rtol, atol=rtol * 1e-6 if atol is None else atol, err_msg=what
    )
