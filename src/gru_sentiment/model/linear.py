"""Bag-of-n-gram linear models: the TF-IDF baseline and the n-gram branch of the hybrid.

The baseline works on text and tokenises like the recurrent models (lowercase, `<br />`
removed, words with inner apostrophes, punctuation marks as tokens); the hybrid's branch
works on the recurrent model's own token ids.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from ..errors import RunError
from ..io.files import write_atomic, write_json

# bandit takes this for a password (B105): it is the tokenising regular expression.
TOKEN_PATTERN = r"[\w']+|[^\w\s]"  # nosec B105
WEIGHTS = "linear.npy"
SPEC = "linear.json"
FEATURES = "token-id-ngrams-v1"  # what the weights index: recorded, checked on load
_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constants (2^64 / golden ratio, ...)
_SPREAD = np.uint64(0xC2B2AE3D27D4EB4F)


def clean(text: str) -> str:
    return text.replace("<br />", " ").lower()


BASELINE_C = 8.0  # the baseline's inverse regularisation, chosen on the validation split


def tfidf_logistic(texts: list[str], labels: np.ndarray, c: float = BASELINE_C):
    """The baseline a user would try first: TF-IDF of 1-2-grams (sublinear tf) + logistic
    regression."""
    from sklearn.pipeline import make_pipeline

    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=2,
        preprocessor=clean,
        token_pattern=TOKEN_PATTERN,
        dtype=np.float32,  # like the weights: no float64 conversion of 4M weights per call
    )
    model = make_pipeline(vectorizer, LogisticRegression(C=c, max_iter=2000))
    return model.fit(texts, labels)


@dataclass
class NBLogistic:
    """Naive-Bayes-weighted logistic regression on binary hashed 1..n-grams of token ids
    (NBSVM, Wang & Manning 2012). The n-grams are built from the ids the recurrent model
    reads (the same tokenizer, so one tokenization serves both branches) and hashed in
    numpy: no vocabulary, no Python loop per token. The whole model is one weight vector
    (the NB ratios folded into the logistic weights) and a bias."""

    weights: np.ndarray  # (n_features,) float32
    bias: float
    ngram_max: int = 3
    n_features: int = 2**22

    @classmethod
    def fit(
        cls,
        seqs: Sequence[np.ndarray],
        labels: np.ndarray,
        c: float = 0.3,
        ngram_max: int = 3,
        n_features: int = 2**22,
    ) -> NBLogistic:
        """`c` was chosen on the validation split (0.1 / 0.3 / 1.0 within 0.06 points)."""
        x = ngram_features(seqs, ngram_max, n_features)  # (n, n_features) binary
        # Log-count ratio of each n-gram between the classes, add-one smoothed.
        pos = np.asarray(x[labels == 1].sum(0)).ravel() + 1.0
        neg = np.asarray(x[labels == 0].sum(0)).ravel() + 1.0
        ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
        logistic = LogisticRegression(C=c, max_iter=3000).fit(x @ sparse.diags(ratio), labels)
        weights = (logistic.coef_.ravel() * ratio).astype(np.float32)
        return cls(weights, float(logistic.intercept_[0]), ngram_max, n_features)

    def logits(self, seqs: Sequence[np.ndarray]) -> np.ndarray:
        """(n,) log-odds of positive for token-id sequences."""
        return ngram_features(seqs, self.ngram_max, self.n_features) @ self.weights + self.bias

    def save(self, folder: Path) -> None:
        write_atomic(folder / WEIGHTS, lambda tmp: np.save(tmp, self.weights))
        spec = {
            "features": FEATURES,
            "bias": self.bias,
            "ngram_max": self.ngram_max,
            "n_features": self.n_features,
        }
        write_json(folder / SPEC, spec)

    @classmethod
    def load(cls, folder: Path) -> NBLogistic:
        spec = json.loads((folder / SPEC).read_text())
        if spec.get("features") != FEATURES:
            raise RunError(
                f"{folder / SPEC} holds n-gram weights of another format "
                f"({spec.get('features', 'hashed words')!r}, expected {FEATURES!r}); "
                "train the run again with this version"
            )
        weights = np.load(folder / WEIGHTS, allow_pickle=False)
        return cls(weights, spec["bias"], spec["ngram_max"], spec["n_features"])


def ngram_features(seqs: Sequence[np.ndarray], ngram_max: int, n_features: int):
    """(len(seqs), n_features) binary float32 CSR matrix: which hashed 1..ngram_max-grams
    of token ids each sequence contains.

    All sequences are concatenated into one flat array, and the n-grams of order n start
    at every position of it; those that run past the end of their sequence go to a spare
    column that is dropped at the end, so no n-gram mixes two sequences.
    """
    if n_features & (n_features - 1):
        raise ValueError(f"n_features must be a power of two, not {n_features}")
    bits = np.uint64(64 - n_features.bit_length() + 1)  # keep the top log2(n_features) bits
    lengths = np.fromiter(map(len, seqs), np.int64, len(seqs))
    ids = np.concatenate([*seqs, np.zeros(0, np.int32)]).astype(np.uint64)  # (total,)
    owner = np.repeat(np.arange(len(seqs)), lengths)  # (total,) sequence of each position
    columns = np.empty((len(ids), ngram_max), np.int64)  # (total, order) hashed n-gram
    key = np.zeros(len(ids), np.uint64)
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps around on purpose
        for n in range(1, ngram_max + 1):
            starts = max(len(ids) - n + 1, 0)  # 0: the batch holds fewer than n ids
            # key of ids[i : i + n], built from the key of ids[i : i + n - 1]
            key = key[:starts] * _MIX + ids[n - 1 :] + np.uint64(n)
            hashed = ((key * _SPREAD) >> bits).astype(np.int64)  # Fibonacci hashing
            inside = owner[:starts] == owner[n - 1 :]
            columns[:starts, n - 1] = np.where(inside, hashed, n_features)
            columns[starts:, n - 1] = n_features
    indptr = np.concatenate([[0], np.cumsum(lengths) * ngram_max])
    shape = (len(seqs), n_features + 1)
    x = sparse.csr_matrix((np.ones(columns.size, np.float32), columns.ravel(), indptr), shape)
    x.sum_duplicates()  # sorts each row and merges repeated n-grams
    x.data = (x.indices != n_features).astype(np.float32)  # binary; the spare column zeroed
    x.eliminate_zeros()
    return sparse.csr_matrix((x.data, x.indices, x.indptr), (len(seqs), n_features))
