"""Features and the classifier that ranks unscreened records by their chance of inclusion."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import chain

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import rankdata
from sklearn import config_context as sklearn_config
from sklearn.feature_extraction.text import TfidfTransformer
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


#: scikit-learn's default token pattern: words of two or more word characters
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def _factorise(tokens: list[list[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each text's tokens as integer codes: (codes of every token in text order, the text each
    token is in, the distinct tokens in order of first appearance)."""
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    flat = np.fromiter(chain.from_iterable(tokens), dtype=object, count=int(lengths.sum()))
    codes, vocabulary = pd.factorize(flat)
    return codes.astype(np.int64), np.repeat(np.arange(len(tokens)), lengths), vocabulary


def _tfidf(counts: sparse.csr_matrix, min_df: int, max_df: float, what: str):
    """Sublinear TF-IDF of a count matrix after dropping the terms in fewer than `min_df`
    records or in more than `max_df` of them (scikit-learn's rule); the columns kept."""
    counts.sum_duplicates()
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    keep = (df >= max(min_df, 1)) & (df <= max_df * counts.shape[0])
    if not keep.any():
        raise ValueError(f"No {what} is frequent enough.")
    # drop the other columns without a (slow) column slice: the rows stay sorted
    mask = keep[counts.indices]
    rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    indptr = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[mask], minlength=counts.shape[0]), out=indptr[1:])
    kept = sparse.csr_matrix(
        (counts.data[mask], (np.cumsum(keep) - 1)[counts.indices[mask]], indptr),
        shape=(counts.shape[0], int(keep.sum())),
    )
    return TfidfTransformer(sublinear_tf=True).fit_transform(kept), np.nonzero(keep)[0]


def _word_tfidf(
    texts: list[str], ngrams: tuple[int, int], min_df: int, max_df: float, *, names=False
):
    """TF-IDF of word n-grams, equal to TfidfVectorizer(ngram_range=ngrams, sublinear_tf=True,
    lowercase=False) up to the order of the columns, in about a third of the time: the tokens
    are numbered once (pandas' hash table) and an n-gram is numbered from the number of the
    (n-1)-gram it starts with and the number of its last word, so no n-gram string is built.
    With `names`, also the n-gram of each column."""
    low, high = ngrams
    codes, doc, vocabulary = _factorise([_TOKEN.findall(t) for t in texts])
    if not len(vocabulary):
        raise ValueError("No word in any text.")
    v = len(vocabulary)
    rows, cols, uniques_by_size = [], [], []
    offset = 0
    gram = codes  # number of the n-gram starting at each token position (across texts too)
    for size in range(1, high + 1):
        if size == 1:
            uniques = np.arange(v)
        else:
            gram, uniques = pd.factorize(gram[:-1] * v + codes[size - 1 :])
            gram = gram.astype(np.int64)
        uniques_by_size.append(uniques)
        if size >= low:
            inside = doc[: len(gram)] == doc[size - 1 :]  # the n-gram lies within one text
            rows.append(doc[: len(gram)][inside])
            cols.append(gram[inside] + offset)
            offset += len(uniques)
    counts = sparse.csr_matrix(
        (np.ones(sum(map(len, rows))), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(texts), offset),
    )
    matrix, kept = _tfidf(counts, min_df, max_df, "word n-gram")
    if not names:
        return matrix
    words = [str(w) for w in vocabulary]
    text, all_names = words, []
    for size, uniques in enumerate(uniques_by_size, start=1):
        if size > 1:  # key = (number of the (n-1)-gram) * v + number of the last word
            text = [f"{text[key // v]} {words[key % v]}" for key in uniques]
        if size >= low:
            all_names.extend(text)
    return matrix, np.array(all_names, dtype=object)[kept]


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
    up to the order of the columns but fast: a record's n-gram counts are the sum over its
    words of each word's counts, so they are (records by words) @ (words by n-grams), each
    distinct word analysed once."""
    codes, doc, words = _factorise([t.split() for t in texts])
    if not len(words):
        raise ValueError("No word in any text.")
    doc_words = sparse.csr_matrix(
        (np.ones(len(codes)), (doc, codes)), shape=(len(texts), len(words))
    )
    grams_of_word = [_char_wb_grams(word, *ngrams) for word in words]
    gram_codes, gram_word, grams = _factorise(grams_of_word)
    word_grams = sparse.csr_matrix(
        (np.ones(len(gram_codes)), (gram_word, gram_codes)), shape=(len(words), len(grams))
    )
    return _tfidf((doc_words @ word_grams).tocsr(), min_df, max_df, "character n-gram")[0]


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _drop_combining(match: re.Match) -> str:
    return "".join(c for c in match.group() if not unicodedata.combining(c))


def _normalise(text: str) -> str:
    """Lower case without accents: scikit-learn's strip_accents_unicode (NFKD, then the
    combining marks removed), testing only the non-ASCII characters."""
    text = text.lower()
    if text.isascii():
        return text
    return _NON_ASCII.sub(_drop_combining, unicodedata.normalize("NFKD", text))


def build_features(texts: Sequence[str], config: RankerConfig) -> sparse.csr_matrix:
    """TF-IDF of all records (fitted on every record's text, which needs no label)."""
    texts = [_normalise(t or "") for t in texts]
    min_df = config.min_df if len(texts) > config.min_df else 1
    max_df = config.max_df if len(texts) > 20 else 1.0
    blocks = []
    try:
        blocks.append(_word_tfidf(texts, config.word_ngrams, min_df, max_df))
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
    if "nb" not in config.models:
        matrix = merge_single_record_columns(matrix)
    return matrix


def merge_single_record_columns(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """The columns that are non-zero in one record only, merged into one column per record
    holding the root of their sum of squares (the other columns kept, in order).

    The inner product of any two records is unchanged, and so is each record's norm; a model
    that sees the records only through inner products with an L2 penalty on the weights (a
    linear SVM, L2-regularised logistic regression) therefore gives every record the same
    score, while training reads fewer numbers: 15-35% of the word n-grams of a review are in
    one record only. (Not for naive Bayes, which counts terms.)"""
    n = matrix.shape[0]
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    single = (df == 1)[matrix.indices]
    if not single.any():
        return matrix
    rows = np.repeat(np.arange(n), np.diff(matrix.indptr))
    squares = np.bincount(rows[single], weights=matrix.data[single] ** 2, minlength=n)
    kept_columns = df > 1
    column = np.cumsum(kept_columns) - 1  # new index of each kept column
    merged_column = int(kept_columns.sum()) + np.cumsum(squares > 0) - 1
    # rows stay sorted: kept columns keep their order and a record's merged column comes last
    has = squares > 0
    kept_per_row = np.bincount(rows[~single], minlength=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(kept_per_row + has, out=indptr[1:])
    before = np.concatenate([[0], np.cumsum(has)[:-1]])  # merged entries in earlier rows
    position = np.arange(int(kept_per_row.sum())) + before[rows[~single]]
    data = np.empty(indptr[-1])
    indices = np.empty(indptr[-1], dtype=np.int64)
    data[position] = matrix.data[~single]
    indices[position] = column[matrix.indices[~single]]
    data[indptr[1:][has] - 1] = np.sqrt(squares[has])
    indices[indptr[1:][has] - 1] = merged_column[has]
    merged = sparse.csr_matrix(
        (data, indices, indptr), shape=(n, int(kept_columns.sum()) + int(has.sum()))
    )
    merged.has_sorted_indices = True
    return merged


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
