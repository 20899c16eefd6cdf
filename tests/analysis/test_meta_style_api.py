"""meta_style: names, options, clear errors naming the study, trimfill's fill_method."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.engine import MetaAnalysisError, rma
from analysis.engine import bias as bias_mod
from analysis.engine import meta_style as ms

REF = json.loads((Path(__file__).resolve().parent.parent / "data" / "meta_pkg" / "results"
                  / "molloy2014_metacor.json").read_text())
Y = np.array(REF["data"]["yi"])
SE = np.sqrt(np.array(REF["data"]["vi"]))
LAB = REF["data"]["studlab"]


def test_attributes_and_meta_names_agree():
    m = ms.metagen(Y, SE, sm="ZCOR", studlab=LAB)
    d = m.as_meta_dict()
    assert m.TE_random == d["TE.random"] and m.df_Q == d["df.Q"] == 15
    assert m.seTE_hakn_ci == d["seTE.hakn.ci"]
    assert m.backtransf(m.TE_random) == pytest.approx(np.tanh(m.TE_random))
    assert "lower_I2" in dir(m)
    with pytest.raises(AttributeError, match="no 'nonsense'"):
        _ = m.nonsense


def test_update_accepts_meta_dotted_names():
    m = ms.metagen(Y, SE, sm="ZCOR")
    a = ms.update(m, **{"method.random.ci": "HK", "method.predict": "HTS"})
    b = ms.update(m, method_random_ci="HK", method_predict="HTS")
    assert a.lower_random == b.lower_random and a.df_predict == 14 and a.df_random == 15
    assert ms.update(m, hakn=True).df_random == 15
    assert ms.update(m, level_ma=90).upper_random < m.upper_random


def test_options_z_prediction_and_adhoc():
    m = ms.metagen(Y, SE, method_predict="S")
    assert m.df_predict is None
    fit = rma(Y, SE**2)
    z = 1.959963984540054
    assert m.upper_predict == pytest.approx(fit.b + z * np.sqrt(fit.se**2 + fit.tau2), rel=1e-12)
    se_fix = ms.metagen(Y, SE, method_random_ci="HK", adhoc_hakn_ci="se")
    assert se_fix.seTE_random == max(se_fix.seTE_hakn_ci, se_fix.seTE_classic)


@pytest.mark.parametrize("kwargs, match", [
    ({"method_random_ci": "KR"}, "method_random_ci"),
    ({"adhoc_hakn_ci": "IQWiG5"}, "adhoc_hakn_ci"),
    ({"method_predict": "NNF"}, "method_predict"),
    ({"method_tau": "FE"}, "method_tau"),
    ({"method_tau_ci": "BJ"}, "not implemented"),
    ({"level": 0}, "level"),
    ({"colour": "red"}, "Unknown option"),
])
def test_bad_options_are_clear_errors(kwargs, match):
    with pytest.raises(MetaAnalysisError, match=match):
        ms.metagen(Y, SE, **kwargs)


def test_bad_study_values_name_the_study():
    se = SE.copy()
    se[3] = 0.0
    with pytest.raises(MetaAnalysisError, match=r"Christensen et al\. 1999"):
        ms.metagen(Y, se, studlab=LAB)
    y = Y.copy()
    y[1] = np.nan
    with pytest.raises(MetaAnalysisError, match="study 2"):
        ms.metagen(y, SE)
    with pytest.raises(MetaAnalysisError, match="study 1"):
        ms.metacor([1.2, 0.3, 0.1], [20, 30, 40])
    with pytest.raises(MetaAnalysisError, match="expected 16"):
        ms.metagen(Y, SE[:5])
    with pytest.raises(MetaAnalysisError, match="sm must be"):
        ms.metacont([10], [1], [1], [10], [1], [1], sm="ROM")


def test_one_or_two_studies():
    with pytest.raises(MetaAnalysisError, match=r"Only one study \(study 'A'\)"):
        ms.metagen([0.2], [0.1], studlab=["A"])
    m = ms.metagen([0.2, 0.4], [0.1, 0.2], method_predict="HTS")
    assert m.lower_predict is None and any("k > 2" in n for n in m.notes)
    with pytest.raises(MetaAnalysisError, match="at least 3"):
        ms.trimfill(m)
    with pytest.raises(MetaAnalysisError, match="at least 3 studies"):
        ms.metainf(m)


def test_metabias_skips_below_k_min_and_runs_on_request():
    m = ms.metagen(Y[:9], SE[:9])
    assert ms.metabias(m).as_meta_json() == {"skipped": True, "k": 9, "k.min": 10}
    forced = ms.metabias(m, k_min=5)
    assert not forced.skipped and forced.df == 7
    with pytest.raises(MetaAnalysisError, match="method_bias"):
        ms.metabias(m, method_bias="Begg")


def test_trimfill_fill_method_is_meta_adjusted_fit():
    """metafor's trimfill on an EE fit with fill_method='REML' gives meta's adjusted tau²."""
    tf = bias_mod.trimfill(rma(Y, SE**2, method="EE"), fill_method="REML")
    assert tf.k0 == REF["trimfill"]["k0"] and tf.side == "left"
    assert tf.iterations == REF["trimfill"]["n.iter"]
    assert tf.fit.tau2 == pytest.approx(REF["trimfill"]["heterogeneity"]["tau2"], rel=1e-6)
    assert tf.fit.b == pytest.approx(REF["trimfill"]["random"]["TE"], rel=1e-6)
    plain = bias_mod.trimfill(rma(Y, SE**2, method="EE"))
    assert plain.fit.method == "EE" and plain.fit.tau2 == 0
    with pytest.raises(MetaAnalysisError, match="fill_method"):
        bias_mod.trimfill(rma(Y, SE**2, method="EE"), fill_method="XX")


def test_trimfill_options():
    m = ms.metagen(Y, SE, sm="ZCOR", studlab=LAB)
    right = ms.trimfill(m, left=False)
    assert right.left is False
    r0 = ms.trimfill(m, type="R")
    assert r0.type == "R" and r0.k0 >= 0
    re_based = ms.trimfill(m, ma_common=False)
    assert re_based.ma_common is False
    with pytest.raises(MetaAnalysisError, match="type"):
        ms.trimfill(m, type="Q")


def test_custom_backtransformation_hook_is_carried_through():
    """metaprop's PFT needs each study's n for study values and the harmonic mean for pooled
    ones: an entry point passes backtransf=f(x, study) and every derived result uses it."""

    def bt(x, study):
        value = 1.0 if study else 2.0
        return np.full(np.shape(x), value) if np.ndim(x) else value

    m = ms._build(Y, SE, LAB, ms.MetaSettings(sm="PFT"), backtransf=bt)
    js = m.as_meta_json()
    assert js["studies"]["TE_backtransf"][0] == 1.0
    assert js["random"]["TE_backtransf"] == 2.0
    hts = ms.update(m, method_predict="HTS").as_meta_json()
    assert hts["prediction"]["lower_backtransf"] == 2.0
    assert ms.metainf(m).as_meta_json()["TE_backtransf"][0] == 2.0
    assert ms.trimfill(m).fit.as_meta_json()["common"]["TE_backtransf"] == 2.0
