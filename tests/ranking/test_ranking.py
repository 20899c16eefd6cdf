"""Ranking and replayed screening on a small real labelled set (Sep et al. 2021, CC0; see
tests/data/ranking/README.md)."""

import csv
import gzip
from pathlib import Path

import numpy as np
import pytest

from screening.ranking import (
    Ranker,
    RankerConfig,
    default_priors,
    record_text,
    retrain_lag,
    screening_metrics,
    simulate,
)

SEP = Path(__file__).resolve().parents[2] / "review" / "demo_data" / "Sep_2021.csv.gz"


@pytest.fixture(scope="module")
def sep():
    with gzip.open(SEP, "rt", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    texts = [record_text(r["title"], r["abstract"]) for r in rows]
    labels = [int(r["label_included"]) for r in rows]
    return texts, labels


def test_ranking_beats_random_order(sep):
    texts, labels = sep
    result = simulate(texts, labels, seed=1)
    m = screening_metrics(result.labels_in_order)
    # random order has an expected WSS@95 of about 0; the method reaches ~0.4 on this set
    assert m["wss_95"] > 0.25
    assert m["recall_at_10pct"] > 0.2
    shuffled = np.random.default_rng(1).permutation(labels)
    assert m["wss_95"] > screening_metrics(shuffled)["wss_95"] + 0.2


def test_simulation_shows_every_record_once_priors_first(sep):
    texts, labels = sep
    result = simulate(texts, labels, prior_included=[107], prior_excluded=[142], seed=1)
    assert result.order[:2] == [107, 142]
    assert sorted(result.order) == list(range(len(texts)))
    assert result.labels_in_order == [labels[i] for i in result.order]


def test_simulation_is_deterministic_for_a_seed(sep):
    texts, labels = sep
    assert simulate(texts, labels, seed=4).order == simulate(texts, labels, seed=4).order


def test_default_priors_follow_the_benchmark_convention(sep):
    # ../shared/screening/priors.json: Sep_2021 seed 1 starts from records 107 and 142
    assert default_priors(sep[1], 1) == (107, 142)


def test_ranker_orders_unlabelled_records_and_needs_both_classes():
    texts = [
        "randomised trial of aspirin for stroke",
        "aspirin trial in stroke patients",
        "soil bacteria in farm fields",
        "a stroke prevention trial with aspirin",
        "bacteria of agricultural soil",
    ]
    ranker = Ranker(RankerConfig(min_df=1)).fit(texts, [1, None, 0, None, None])
    assert ranker.trained
    assert ranker.rank()[0] in (1, 3) and ranker.rank()[-1] == 4
    cold = Ranker(RankerConfig(seed=5)).fit(texts, [1, None, None, None, None])
    assert not cold.trained
    assert sorted(cold.rank()) == [1, 2, 3, 4]
    assert cold.rank() == Ranker(RankerConfig(seed=5)).fit(texts, [1] + [None] * 4).rank()


def test_cold_start_uses_highlight_words():
    texts = ["soil bacteria", "aspirin for stroke", "stroke and soil", "farm animals"]
    config = RankerConfig(include_words=("stroke", "aspirin"), exclude_words=("soil",))
    ranker = Ranker(config).fit(texts, [None] * 4)
    assert ranker.rank()[0] == 1 and ranker.rank()[-1] == 0


def test_retraining_lags_at_most_a_few_decisions():
    assert retrain_lag(2) == 1 and retrain_lag(29) == 1 and retrain_lag(1000) == 30
    assert max(retrain_lag(n) for n in range(100_000)) <= 30
    # the lag is at most 1/15 of the labelled records, so the model always sees ≥ 93% of them
    assert all(retrain_lag(n) <= max(1, n / 15) for n in range(100_000))


def test_bad_inputs_are_refused(sep):
    texts, labels = sep
    with pytest.raises(ValueError, match="label is 0"):
        simulate(texts, labels, prior_included=[142])
    with pytest.raises(ValueError, match="not among"):
        simulate(texts, labels, prior_included=[107], prior_excluded=[9999])
    with pytest.raises(ValueError, match="texts but"):
        simulate(texts[:10], labels)
    with pytest.raises(ValueError, match="models"):
        RankerConfig(models=("forest",))


def test_fast_character_ngrams_equal_scikit_learns_char_wb(sep):
    from sklearn.feature_extraction.text import TfidfVectorizer

    from screening.ranking.model import _char_tfidf, _normalise

    texts = [_normalise(t) for t in sep[0][:60]] + ["a", "", "ab  c\tdé"]
    ours = _char_tfidf(texts, (3, 5), 2, 0.95)
    theirs = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2, max_df=0.95
    ).fit_transform(texts)
    assert ours.shape == theirs.shape and ours.nnz == theirs.nnz
    for i in range(len(texts)):
        a, b = ours.getrow(i).data, theirs.getrow(i).data
        assert np.allclose(np.sort(a), np.sort(b))


@pytest.mark.parametrize("ngrams", [(1, 2), (1, 1), (2, 3)])
def test_fast_word_ngrams_equal_scikit_learns_tfidf(sep, ngrams):
    from sklearn.feature_extraction.text import TfidfVectorizer

    from screening.ranking.model import _normalise, _word_tfidf

    texts = [_normalise(t) for t in sep[0][:80]] + ["", "a b", "fear fear fear memory", "x1 y2"]
    ours, names = _word_tfidf(texts, ngrams, 2, 0.5, names=True)
    vectoriser = TfidfVectorizer(
        ngram_range=ngrams, sublinear_tf=True, min_df=2, max_df=0.5, lowercase=False
    )
    theirs = vectoriser.fit_transform(texts)
    assert sorted(names) == sorted(vectoriser.get_feature_names_out())
    column = vectoriser.vocabulary_
    permuted = theirs[:, [column[name] for name in names]]
    assert ours.shape == permuted.shape and ours.nnz == permuted.nnz
    assert abs(ours - permuted).max() < 1e-12


def test_fast_word_ngrams_need_a_word():
    from screening.ranking.model import _word_tfidf

    with pytest.raises(ValueError, match="No word"):
        _word_tfidf(["", "a !"], (1, 2), 1, 1.0)


def test_accents_are_stripped_as_scikit_learn_does():
    from sklearn.feature_extraction.text import strip_accents_unicode

    from screening.ranking.model import _normalise

    for text in ["Émile Zola", "naïve Bayes", "ﬁbre ½ Ωmega", "Straße", "ascii only", "çà ‐ — µ"]:
        assert _normalise(text) == strip_accents_unicode(text.lower())


def test_merging_single_record_columns_keeps_inner_products_and_scores(sep):
    from screening.ranking.model import merge_single_record_columns

    texts, labels = sep
    plain = Ranker(RankerConfig(models=("nb",))).fit(texts, [None] * len(texts)).features
    merged = merge_single_record_columns(plain)
    assert merged.shape[1] < plain.shape[1] and merged.nnz < plain.nnz
    gram_plain, gram_merged = (plain @ plain.T).toarray(), (merged @ merged.T).toarray()
    assert np.allclose(gram_plain, gram_merged, rtol=0, atol=1e-12)

    # the SVM trained on either gives the same scores
    known = list(labels[:150]) + [None] * (len(labels) - 150)
    config = RankerConfig()
    scores = []
    for features in (plain, merged):
        ranker = Ranker(config, features=features, _texts=texts)
        ranker._tiebreak = np.arange(len(texts))
        idx = np.arange(150)
        scores.append(ranker.fit_indices(idx, np.asarray(labels[:150])).scores)
    assert np.allclose(scores[0], scores[1], rtol=0, atol=1e-8)
    assert Ranker(config).fit(texts, known).features.shape == merged.shape
