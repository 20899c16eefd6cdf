"""Random-effects meta-analysis engine whose numbers match R's metafor 3.8-1.

Plain Python (numpy and scipy only, no Django). Functions and argument names mirror
metafor's: ``escalc``, ``rma``, ``predict``, ``confint``, ``leave1out``, ``cumul``,
``influence``, ``regtest``, ``ranktest``, ``trimfill``; plus ``subgroup``. See docs/engine.md.
R meta's entry points (``metagen``, ``metacont``, ``metacor``; ``meta_style.metabias``,
``trimfill``, ``metainf``, ``update``) are in ``analysis.engine.meta_style``.
"""

from analysis.engine import meta_style
from analysis.engine.bias import (
    MetabiasResult,
    RanktestResult,
    RegtestResult,
    TrimfillResult,
    harbord_test,
    metabias_metabin,
    peters_test,
    ranktest,
    regtest,
    regtest_ni,
    trimfill,
)
from analysis.engine.binary import MetabinResult, MHResult, metabin_common, rma_mh, rma_peto
from analysis.engine.effect_sizes import EffectSizes, escalc
from analysis.engine.errors import MetaAnalysisError
from analysis.engine.glmm import GLMMResult, rma_glmm
from analysis.engine.heterogeneity import HetStat, hetstat_q, kenward_roger_se, rb
from analysis.engine.intervals import ConfintResult, Prediction, confint, predict
from analysis.engine.meta_style import MetaResult, metacont, metacor, metagen
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
    "HetStat",
    "InfluenceResult",
    "MHResult",
    "MetaAnalysisError",
    "MetaResult",
    "MetabiasResult",
    "MetabinResult",
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
    "harbord_test",
    "hetstat_q",
    "influence",
    "kenward_roger_se",
    "leave1out",
    "meta_style",
    "metabias_metabin",
    "metabin_common",
    "metacont",
    "metacor",
    "metagen",
    "metaprop",
    "peters_test",
    "predict",
    "ranktest",
    "rb",
    "regtest",
    "regtest_ni",
    "rma",
    "rma_glmm",
    "rma_mh",
    "rma_peto",
    "subgroup",
    "transf_iarcsin",
    "transf_ipft",
    "transf_ipft_hm",
    "trimfill",
]
