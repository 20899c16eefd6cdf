"""Features and the classifier that ranks unscreened records by their chance of inclusion."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import sparse
from scipy.stats import rankdata
from sklearn import config_context as sklearn_config
from sklearn.feature_extraction.text import (
    CountVectorizer,
    TfidfTransformer,
    TfidfVectorizer,
    strip_accents_unicode,
)
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB
from sklearn.svm import LinearSVC

#: "svm", "lr", "nb" use all the features; "svm_word" an SVM on the word n-grams alone
MODELS = ("svm", "lr", "nb", "svm_word")


@dataclass(frozen=True)
class RankerConfig:
    """How records are turned into features and scored. The defaults are the benchmarked method
    (docs/ranking.md); they are the same for every review, never tuned per dataset."""

    #: word n-grams of the TF-IDF (sublinear tf), terms in at least min_df records and at most
    #: max_df of them
    word_ngrams: tuple[int, int] = (1, 2)
    min_df: int = 1
    max_df: float = 0.95
    #: character n-grams within words (None: none), stacked beside the word features,
    #: weighted by char_weight; they catch spelling variants, stems and chemical or gene names
    char_ngrams: tuple[int, int] | None = (4, 4)
    #: character n-grams in more than this share of the records are dropped (most of the
    #: non-zeros, little information)
    char_max_df: float = 0.95
    #: character n-grams in fewer records than this are dropped
    char_min_df: int = 2
    #: weight of the character block beside the word block (both blocks are L2-normalised)
    char_weight: float = 0.3
    #: the classifiers; with several, their rank-normalised scores are averaged
    models: tuple[str, ...] = ("svm",)
    #: total weight of the includes over that of the excludes in training (1.0 = "balanced")
    include_weight: float = 9.8
    svm_c: float = 0.11
    svm_tol: float = 1e-2
    lr_c: float = 1.0
    nb_alpha: float = 3.822
    #: seed of the random order used before there is one include and one exclude
    seed: int = 0
    #: highlight words: before the model can be trained, records are ordered by the number of
    #: include words minus exclude words they contain (ties in the seeded random order)
    include_words: tuple[str, ...] = ()
    exclude_words: tuple[str, ...] = ()

    def __post_init__(self):
        unknown = set(self.models) - set(MODELS)
        if not self.models or unknown:
            raise ValueError(f"models must be among {MODELS}, not {sorted(unknown)}.")
        if self.include_weight <= 0:
            raise ValueError("include_weight must be positive.")


def record_text(title: str | None, abstract: str | None, keywords: str | None = None) -> str:
    """The text a record is judged on: title, abstract and keywords when present."""
    return " \n ".join(
        part.strip() for part in (title, abstract, keywords) if part and part.strip()
    )


def _char_wb_grams(word: str, low: int, high: int) -> list[str]:
    """The character n-grams of one word as scikit-learn's `char_wb` analyser makes them."""
    padded = f" {word} "
    grams = []
    for n in range(low, high + 1):
        if len(padded) <= n:  # a short word counts once, whatever the n
            grams.append(padded)
            break
        grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def _char_tfidf(texts: list[str], ngrams: tuple[int, int], min_df: int, max_df: float):
    """TF-IDF of character n-grams within words, equal to TfidfVectorizer(analyzer="char_wb")
    but fast: a record's n-gram counts are the sum over its words of each word's counts, so
    they are (records by words) @ (words by n-grams), each distinct word analysed once."""
    words = CountVectorizer(
        tokenizer=str.split, token_pattern=None, lowercase=False, dtype=np.float64
    )
    doc_words = words.fit_transform(texts)
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for w_index, word in enumerate(words.get_feature_names_out()):
        for gram in _char_wb_grams(word, *ngrams):
            rows.append(w_index)
            cols.append(vocabulary.setdefault(gram, len(vocabulary)))
    word_grams = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(doc_words.shape[1], len(vocabulary))
    )
    counts = (doc_words @ word_grams).tocsc()
    df = np.diff((counts > 0).astype(np.int8).tocsc().indptr)
    keep = (df >= min_df) & (df <= max_df * len(texts))
    if not keep.any():
        raise ValueError("No character n-gram is frequent enough.")
    return TfidfTransformer(sublinear_tf=True).fit_transform(counts[:, keep].tocsr())


def _normalise(text: str) -> str:
    text = text.lower()
    return text if text.isascii() else strip_accents_unicode(text)


def build_features(texts: Sequence[str], config: RankerConfig) -> sparse.csr_matrix:
    """TF-IDF of all records (fitted on every record's text, which needs no label)."""
    texts = [_normalise(t or "") for t in texts]
    min_df = config.min_df if len(texts) > config.min_df else 1
    max_df = config.max_df if len(texts) > 20 else 1.0
    blocks = []
    try:
        blocks.append(
            TfidfVectorizer(
                ngram_range=config.word_ngrams,
                sublinear_tf=True,
                min_df=min_df,
                max_df=max_df,
                lowercase=False,
                dtype=np.float64,
            ).fit_transform(texts)
        )
    except ValueError:  # no word in any text (e.g. every text empty)
        blocks.append(sparse.csr_matrix((len(texts), 1), dtype=np.float64))
    if config.char_ngrams:
        with contextlib.suppress(ValueError):  # no character n-gram in any text
            char_max_df = min(max_df, config.char_max_df) if len(texts) > 20 else 1.0
            char_min_df = config.char_min_df if len(texts) > config.char_min_df else 1
            char = _char_tfidf(texts, config.char_ngrams, char_min_df, char_max_df)
            blocks.append(char * config.char_weight)
    matrix = sparse.hstack(blocks, format="csr") if len(blocks) > 1 else blocks[0].tocsr()
    if len(blocks) > 1:
        matrix = matrix * (1 / np.sqrt(1 + config.char_weight**2))
    matrix = matrix.tocsr().astype(np.float64)
    # canonical (sorted, no duplicates) once, so that training slices are not re-sorted per fit
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def _sample_weight(y: np.ndarray, include_weight: float) -> np.ndarray:
    n_inc = int(y.sum())
    n_exc = len(y) - n_inc
    weight = np.where(y == 1, 1.0, n_inc / (include_weight * n_exc))
    return weight * (len(y) / weight.sum())


def _linear(model, x) -> np.ndarray:
    """The decision values of a fitted linear model, without scikit-learn's input checks."""
    return np.asarray(x @ model.coef_.ravel()).ravel() + model.intercept_[0]


def _scores(config: RankerConfig, x_train, y_train: np.ndarray, x_all, words=None) -> np.ndarray:
    with sklearn_config(assume_finite=True):  # TF-IDF values are finite: skip the checks
        return _scores_checked(config, x_train, y_train, x_all, words)


def _scores_checked(config, x_train, y_train, x_all, words) -> np.ndarray:
    weight = _sample_weight(y_train, config.include_weight)
    out = []
    for name in config.models:
        if name == "svm_word":
            model = LinearSVC(C=config.svm_c, tol=config.svm_tol, random_state=config.seed)
            model.fit(words[0], y_train, sample_weight=weight)
            out.append(_linear(model, words[1]))
        elif name == "svm":
            model = LinearSVC(C=config.svm_c, tol=config.svm_tol, random_state=config.seed)
            model.fit(x_train, y_train, sample_weight=weight)
            out.append(_linear(model, x_all))
        elif name == "lr":
            model = LogisticRegression(C=config.lr_c, solver="liblinear", random_state=config.seed)
            model.fit(x_train, y_train, sample_weight=weight)
            out.append(model.decision_function(x_all))
        else:
            model = MultinomialNB(alpha=config.nb_alpha)
            model.fit(x_train, y_train, sample_weight=weight)
            log_p = model.predict_log_proba(x_all)
            out.append(log_p[:, 1] - log_p[:, 0])
    if len(out) == 1:
        return np.asarray(out[0], dtype=float)
    return np.mean([rankdata(s) / len(s) for s in out], axis=0)


def _feature_settings(config: RankerConfig) -> tuple:
    return (
        config.word_ngrams,
        config.min_df,
        config.max_df,
        config.char_ngrams,
        config.char_max_df,
        config.char_min_df,
        config.char_weight,
    )


def _keyword_scores(texts: Sequence[str], config: RankerConfig) -> np.ndarray:
    def pattern(words):
        words = [re.escape(w.strip().lower()) for w in words if w and w.strip()]
        return re.compile(r"\b(?:" + "|".join(words) + r")", re.IGNORECASE) if words else None

    inc, exc = pattern(config.include_words), pattern(config.exclude_words)
    scores = np.zeros(len(texts))
    for i, text in enumerate(texts):
        text = text or ""
        if inc:
            scores[i] += len(inc.findall(text))
        if exc:
            scores[i] -= len(exc.findall(text))
    return scores


@dataclass
class Ranker:
    """Ranks the records not yet screened, most likely include first.

    >>> ranker = Ranker(RankerConfig()).fit(texts, labels)   # labels: 1, 0 or None per text
    >>> ranker.rank()          # indices of the unscreened records, best first
    >>> ranker.scores          # a score per record (higher = more likely include)

    With fewer than one include and one exclude the order is random with `config.seed` (or by
    the highlight words when the config has some); `trained` says whether a model ranked.
    The features are computed once per list of texts: calling `fit` again with the same list
    object (new labels only) retrains without vectorising again.
    """

    config: RankerConfig = field(default_factory=RankerConfig)
    features: sparse.csr_matrix | None = None
    word_features: sparse.csr_matrix | None = None
    scores: np.ndarray | None = None
    labelled: np.ndarray | None = None
    trained: bool = False
    _texts: Sequence[str] | None = field(default=None, repr=False)
    _tiebreak: np.ndarray | None = field(default=None, repr=False)

    def fit(self, texts: Sequence[str], labels: Sequence[int | bool | None]) -> Ranker:
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels.")
        if self._texts is not texts or self.features is None:
            self.features = build_features(texts, self.config)
            if "svm_word" in self.config.models:
                self.word_features = build_features(texts, replace(self.config, char_ngrams=None))
            self._texts = texts
            self._tiebreak = np.random.default_rng(self.config.seed).permutation(len(texts))
        known = np.array([label is not None for label in labels], dtype=bool)
        y = np.array([int(bool(label)) if label is not None else -1 for label in labels])
        return self.fit_indices(np.nonzero(known)[0], y[known])

    def shared(self, config: RankerConfig) -> Ranker:
        """A new Ranker with another config (e.g. another seed) reusing these features: the
        vectorising settings must be the same. Call after `fit`."""
        if self.features is None or self._texts is None:
            raise RuntimeError("Call fit(texts, labels) first.")
        if _feature_settings(config) != _feature_settings(self.config):
            raise ValueError("The configs differ in how records are vectorised.")
        if "svm_word" in config.models and self.word_features is None:
            raise ValueError("These features have no word-only block.")
        return Ranker(
            config,
            features=self.features,
            word_features=self.word_features,
            _texts=self._texts,
            _tiebreak=np.random.default_rng(config.seed).permutation(self.features.shape[0]),
        )

    def fit_indices(self, indices: Sequence[int], y: Sequence[int]) -> Ranker:
        """Retrain on the records at `indices` with labels `y` (after `fit` has vectorised)."""
        if self.features is None or self._texts is None:
            raise RuntimeError("Call fit(texts, labels) first.")
        n = self.features.shape[0]
        indices = np.asarray(indices, dtype=int)
        y = np.asarray(y, dtype=int)
        self.labelled = np.zeros(n, dtype=bool)
        self.labelled[indices] = True
        if 0 < y.sum() < len(y):
            words = (
                (self.word_features[indices], self.word_features)
                if self.word_features is not None
                else None
            )
            self.scores = _scores(self.config, self.features[indices], y, self.features, words)
            self.trained = True
        else:
            self.trained = False
            keyword = (
                _keyword_scores(self._texts, self.config)
                if self.config.include_words or self.config.exclude_words
                else np.zeros(n)
            )
            # random order by seed, keyword matches first when there are highlight words
            self.scores = keyword + (1 - self._tiebreak / max(n, 1)) * 0.5
        return self

    def rank(self) -> list[int]:
        """Indices of the records without a label, highest score first (ties: lower index)."""
        if self.scores is None or self.labelled is None:
            raise RuntimeError("Call fit(texts, labels) first.")
        candidates = np.nonzero(~self.labelled)[0]
        order = np.argsort(-self.scores[candidates], kind="stable")
        return [int(i) for i in candidates[order]]
