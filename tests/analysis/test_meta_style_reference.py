"""meta-style entry points against R meta 8.4-0 (tests/data/meta_pkg, see its README).

Every field of the ``meta``, ``metabias``, ``trimfill``, ``metainf.default``,
``metainf.random``, ``update_HK`` and ``update_HTS`` blocks is compared. Closed-form values
(study effects, common effect, Q, I2 and H from Q, Egger's test) to 1e-8 relative;
values that depend on the REML tau2 (metafor's default convergence, the same algorithm
as here) to 1e-6; the Q-profile tau2 bounds (uniroot, tol 1.22e-4) to 1e-5.
"""

from __future__ import annotations

import csv
import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from analysis.engine import meta_style

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "meta_pkg"
CASES = ("molloy2014_metacor", "normand1999_metacont_SMD", "normand1999_metacont_MD",
         "bcg_metagen_RR")

RTOL_CLOSED = 1e-8
RTOL_ITER = 1e-6
RTOL_ROOT = 1e-5
# quantities that are not functions of the data alone but of the REML tau2 (iterative)
ITERATIVE = {
    "tau2", "se.tau2", "tau", "Rb", "lower.Rb", "upper.Rb", "w.random", "w.random_percent",
    "lower.predict", "upper.predict", "seTE.predict", "seTE.kero", "seTE.hakn.ci",
    "seTE.hakn.adhoc.ci", "seTE.hakn.pi", "seTE.classic",
}
ROOT = {"lower.tau2", "upper.tau2", "lower.tau", "upper.tau"}
# meta's metainf writes NA here (no harmonic mean outside metaprop)
SKIP = {"n.harmonic.mean"}


@cache
def reference(case: str) -> dict:
    return json.loads((DATA_DIR / "results" / f"{case}.json").read_text())


@cache
def columns(case: str) -> dict[str, list[str]]:
    with (DATA_DIR / "data" / f"{case}.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {key: [row[key] for row in rows] for key in rows[0]}


def col(case: str, name: str) -> np.ndarray:
    return np.array([float(x) for x in columns(case)[name]])


@cache
def fitted(case: str):
    ref = reference(case)
    studlab = columns(case)["studlab"]
    if ref["r_function"] == "metacor":
        return meta_style.metacor(col(case, "ri"), col(case, "ni"), studlab=studlab)
    if ref["r_function"] == "metacont":
        return meta_style.metacont(
            col(case, "n1i"), col(case, "m1i"), col(case, "sd1i"),
            col(case, "n2i"), col(case, "m2i"), col(case, "sd2i"),
            sm=ref["options"]["sm"], studlab=studlab)
    assert ref["r_function"] == "metagen"
    return meta_style.metagen(col(case, "TE"), col(case, "seTE"), sm=ref["options"]["sm"],
                              studlab=studlab)


def rtol_for(path: str, key: str) -> float:
    base = key.split("_")[0]
    if base in ROOT:
        return RTOL_ROOT
    block = path.split("/")[0]
    if (block in ("trimfill", "update_HK", "update_HTS", "metainf.random")
            or "/random" in path or "/prediction" in path or base in ITERATIVE):
        return RTOL_ITER
    return RTOL_CLOSED


def compare(actual, expected, path: str, block: str, failures: list, key: str = "",
            worst: dict | None = None) -> None:
    if key in SKIP:
        return
    if isinstance(expected, dict):
        for sub, value in expected.items():
            if sub in ("call", "note", "studlab", "omitted", "ci_quantile", "conventions"):
                continue
            if sub not in actual:
                if path.endswith("settings"):
                    continue  # meta's settings list differs by function; compare those given
                failures.append(f"{path}.{sub}: missing")
                continue
            compare(actual[sub], value, f"{path}/{sub}", block, failures, sub, worst)
        return
    if isinstance(expected, list):
        if not isinstance(actual, (list, tuple, np.ndarray)) or len(actual) != len(expected):
            failures.append(f"{path}: length {actual!r} vs {expected!r}")
            return
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            compare(a, e, f"{path}[{i}]", block, failures, key, worst)
        return
    if expected is None:
        if not (actual is None or (isinstance(actual, float) and math.isnan(actual))):
            failures.append(f"{path}: {actual!r}, R has NA")
        return
    if isinstance(expected, (bool, str)):
        if actual != expected:
            failures.append(f"{path}: {actual!r} != {expected!r}")
        return
    if actual is None:
        failures.append(f"{path}: None, R has {expected!r}")
        return
    rtol = rtol_for(path, key)
    atol = 1e-14 if rtol == RTOL_CLOSED else 1e-12
    rel = abs(float(actual) - float(expected)) / max(abs(float(expected)), 1e-300)
    if worst is not None and rel > worst.get(path, (0, ""))[0] and abs(expected) > 1e-12:
        worst[path] = (rel, rtol)
    if not math.isclose(float(actual), float(expected), rel_tol=rtol, abs_tol=atol):
        failures.append(f"{path}: {actual!r} vs R {expected!r} (rel {rel:.2e} > {rtol:g})")


WORST: dict = {}


def check(actual: dict, expected: dict, block: str) -> None:
    failures: list[str] = []
    compare(actual, expected, block, block, failures, block, WORST)
    assert not failures, "\n".join(failures[:40])


@pytest.mark.parametrize("case", CASES)
def test_meta_block(case):
    check(fitted(case).as_meta_json(), reference(case)["meta"], "meta")


@pytest.mark.parametrize("case", CASES)
def test_update_hk(case):
    m = meta_style.update(fitted(case), method_random_ci="HK")
    check(m.as_meta_json(studies=False), reference(case)["update_HK"], "update_HK")


@pytest.mark.parametrize("case", CASES)
def test_update_hts(case):
    m = meta_style.update(fitted(case), method_predict="HTS")
    check(m.as_meta_json(studies=False), reference(case)["update_HTS"], "update_HTS")


@pytest.mark.parametrize("case", CASES)
def test_metabias(case):
    check(meta_style.metabias(fitted(case)).as_meta_json(), reference(case)["metabias"],
          "metabias")


@pytest.mark.parametrize("case", CASES)
def test_trimfill(case):
    check(meta_style.trimfill(fitted(case)).as_meta_json(), reference(case)["trimfill"],
          "trimfill")


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("pooled", ["default", "random"])
def test_metainf(case, pooled):
    kwargs = {} if pooled == "default" else {"pooled": "random"}
    got = meta_style.metainf(fitted(case), **kwargs).as_meta_json()
    check(got, reference(case)["metainf"][pooled], f"metainf.{pooled}")


def test_as_meta_dict_has_meta_names():
    m = fitted("molloy2014_metacor")
    d = m.as_meta_dict()
    for name in ("TE.common", "seTE.common", "lower.common", "upper.common", "TE.random",
                 "seTE.random", "lower.random", "upper.random", "lower.predict",
                 "upper.predict", "tau2", "lower.tau2", "upper.tau2", "I2", "lower.I2",
                 "upper.I2", "H", "lower.H", "upper.H", "Q", "df.Q", "pval.Q"):
        assert name in d, name
    assert d["TE.common"] == m.TE_common
    assert d["lower.I2"] == m.lower_I2
