"""Prioritised screening, pure (scikit-learn, numpy, scipy; no Django): rank the records not yet
screened by their chance of inclusion, replay screening with known labels, and the statistical
stopping rule of Callaghan & Müller-Hansen (2020). See docs/ranking.md.

    ranker = Ranker(RankerConfig(seed=7)).fit(texts, labels)   # labels: 1, 0 or None
    ranker.rank()                                               # unscreened indices, best first
    hypergeometric_test(n_records=..., screened_ranked=..., relevant_ranked=...,
                        sample_size=..., sample_relevant=...).statement()
"""

from .metrics import screening_metrics
from .model import Ranker, RankerConfig, build_features, record_text
from .simulation import (
    Simulation,
    StopSimulation,
    default_priors,
    retrain_lag,
    simulate,
    simulate_stopping,
    switch_patience,
)
from .stopping import StoppingRule, StoppingTest, hypergeometric_test, k_hat, recall_bound

__all__ = [
    "Ranker",
    "RankerConfig",
    "Simulation",
    "StopSimulation",
    "StoppingRule",
    "StoppingTest",
    "build_features",
    "default_priors",
    "hypergeometric_test",
    "k_hat",
    "recall_bound",
    "record_text",
    "retrain_lag",
    "screening_metrics",
    "simulate",
    "simulate_stopping",
    "switch_patience",
]
