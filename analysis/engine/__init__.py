"""Random-effects meta-analysis engine whose numbers match R's metafor 3.8-1.

Plain Python (numpy and scipy only, no Django). Functions and argument names mirror
metafor's: ``escalc``, ``rma``, ``predict``, ``confint``, ``leave1out``, ``cumul``,
``influence``, ``regtest``, ``ranktest``, ``trimfill``; plus ``subgroup``. See docs/engine.md.
"""

from analysis.engine.bias import (
    RanktestResult,
    RegtestResult,
    TrimfillResult,
    ranktest,
    regtest,
    trimfill,
)
from analysis.engine.effect_sizes import EffectSizes, escalc
from analysis.engine.errors import MetaAnalysisError
from analysis.engine.glmm import GLMMResult, rma_glmm
from analysis.engine.intervals import ConfintResult, Prediction, confint, predict
from analysis.engine.model import RMAResult, rma
from analysis.engine.proportions import (
    MetapropResult,
    clopper_pearson,
    metaprop,
    transf_iarcsin,
    transf_ipft,
    transf_ipft_hm,
)
from analysis.engine.sensitivity import CaseResults, InfluenceResult, cumul, influence, leave1out
from analysis.engine.subgroups import SubgroupResult, subgroup

__all__ = [
    "CaseResults",
    "ConfintResult",
    "EffectSizes",
    "GLMMResult",
    "InfluenceResult",
    "MetaAnalysisError",
    "MetapropResult",
    "Prediction",
    "RMAResult",
    "RanktestResult",
    "RegtestResult",
    "SubgroupResult",
    "TrimfillResult",
    "clopper_pearson",
    "confint",
    "cumul",
    "escalc",
    "influence",
    "leave1out",
    "metaprop",
    "predict",
    "ranktest",
    "regtest",
    "rma",
    "rma_glmm",
    "subgroup",
    "transf_iarcsin",
    "transf_ipft",
    "transf_ipft_hm",
    "trimfill",
]
