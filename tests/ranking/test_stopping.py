"""The hypergeometric stopping test of Callaghan & Müller-Hansen (2020), against values worked
out by hand (and scipy.stats.hypergeom for the tail sums)."""

import math

import pytest
from scipy.stats import hypergeom

from screening.ranking import (
    StoppingRule,
    hypergeometric_test,
    k_hat,
    recall_bound,
    simulate_stopping,
)


def test_k_hat_is_the_fewest_missed_records_that_break_the_target():
    # 95 found before sampling, 0 in the sample: recall < 95% needs 95 / (95 + K) < 0.95,
    # i.e. K > 5, so K_hat = 6.
    assert k_hat(95, 95, 0.95) == 6
    # 19 / 0.95 is exactly 20: recall = 19/20 is not below 95%, so K_hat = 20 - 19 + 1 = 2.
    assert k_hat(19, 19, 0.95) == 2
    # 10 found of which 2 in the sample (r_AL = 8): floor(10 / 0.9) - 8 + 1 = 11 - 8 + 1 = 4.
    assert k_hat(10, 8, 0.9) == 4


def test_p_value_with_no_relevant_record_in_the_sample():
    # N = 1000, 400 screened in ranked order with 95 relevant, then 200 sampled, none relevant.
    # Urn of 600 records, K_hat = 6. P(X = 0) = C(594, 200) / C(600, 200)
    #   = prod_{i=0..5} (400 - i) / (600 - i).
    by_hand = math.prod((400 - i) / (600 - i) for i in range(6))
    assert by_hand == pytest.approx(0.08669, abs=1e-5)
    test = hypergeometric_test(
        n_records=1000,
        screened_ranked=400,
        relevant_ranked=95,
        sample_size=200,
        sample_relevant=0,
    )
    assert test.k_hat == 6
    assert test.p_value == pytest.approx(by_hand, rel=1e-9)
    assert not test.can_stop  # 0.087 ≥ 0.05
    assert "cannot yet be claimed" in test.statement()


def test_p_value_falls_below_alpha_with_a_larger_sample():
    by_hand = math.prod((300 - i) / (600 - i) for i in range(6))  # 300 sampled, none relevant
    test = hypergeometric_test(
        n_records=1000,
        screened_ranked=400,
        relevant_ranked=95,
        sample_size=300,
        sample_relevant=0,
    )
    assert test.p_value == pytest.approx(by_hand, rel=1e-9)
    assert by_hand == pytest.approx(0.01524, abs=1e-5)
    assert test.can_stop
    assert test.statement().startswith("Recall ≥ 95% with 95% confidence")


def test_p_value_with_relevant_records_in_the_sample():
    # 50 records, 20 screened in ranked order with 8 relevant, 10 sampled with 2 relevant,
    # target 90%: K_hat = 4 (above). Urn of 30 with 4 relevant, 10 drawn:
    # P(X <= 2) = [C(4,0)C(26,10) + C(4,1)C(26,9) + C(4,2)C(26,8)] / C(30,10).
    by_hand = sum(math.comb(4, j) * math.comb(26, 10 - j) for j in range(3)) / math.comb(30, 10)
    test = hypergeometric_test(
        n_records=50,
        screened_ranked=20,
        relevant_ranked=8,
        sample_size=10,
        sample_relevant=2,
        recall_target=0.9,
        confidence=0.9,
    )
    assert test.k_hat == 4
    assert test.p_value == pytest.approx(by_hand, rel=1e-12)
    assert test.p_value == pytest.approx(float(hypergeom.cdf(2, 30, 4, 10)), rel=1e-12)
    assert test.relevant_found == 10 and test.screened == 30


def test_impossible_null_hypothesis_gives_p_zero():
    # 3 records left, but recall < 95% of 95 found would need 6 of them relevant.
    test = hypergeometric_test(
        n_records=100, screened_ranked=97, relevant_ranked=95, sample_size=0, sample_relevant=0
    )
    assert test.k_hat == 6 and test.p_value == 0.0 and test.can_stop


def test_bad_counts_are_refused():
    with pytest.raises(ValueError):
        hypergeometric_test(
            n_records=10, screened_ranked=5, relevant_ranked=6, sample_size=0, sample_relevant=0
        )
    with pytest.raises(ValueError):
        hypergeometric_test(
            n_records=10, screened_ranked=5, relevant_ranked=1, sample_size=6, sample_relevant=0
        )
    with pytest.raises(ValueError):
        k_hat(3, 3, 0.0)


def test_recall_bound_is_the_highest_target_the_test_rejects():
    counts = {
        "n_records": 1000,
        "screened_ranked": 400,
        "relevant_ranked": 95,
        "sample_size": 300,
        "sample_relevant": 0,
    }
    bound = recall_bound(**counts, confidence=0.95)
    assert 0.95 <= bound < 1
    assert hypergeometric_test(**counts, recall_target=bound).can_stop
    assert not hypergeometric_test(**counts, recall_target=min(1.0, bound + 0.005)).can_stop


def test_stopping_rule_counts_ranked_and_sampled_records_apart():
    rule = StoppingRule(n_records=20)
    for label in (1, 1, 0, 1, 0, 0):
        assert rule.record(label) is None
    rule.start_sampling()
    test = rule.record(0)
    assert (test.screened_ranked, test.relevant_ranked) == (6, 3)
    assert (test.sample_size, test.sample_relevant) == (1, 0)


def test_simulated_stop_reaches_the_target_and_saves_work():
    # 2000 records, 40 relevant all near the top of the ranking.
    labels = [1] * 30 + [0, 1] * 10 + [0] * 1950
    result = simulate_stopping(labels, seed=3)
    assert result.switched_at == 50 + 100  # 5% of 2000 consecutive irrelevant records
    assert result.stopped_early and result.recall == 1.0
    assert result.screened < 2000
    assert result.test.can_stop
