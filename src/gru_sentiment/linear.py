"""Bag-of-n-gram linear models: the TF-IDF baseline and the n-gram branch of the hybrid.

Both tokenise like the recurrent models (lowercase, `<br />` removed, words with inner
apostrophes, punctuation marks as tokens).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from .files import write_atomic, write_json

TOKEN_PATTERN = r"[\w']+|[^\w\s]"
WEIGHTS = "linear.npy"
SPEC = "linear.json"


def clean(text: str) -> str:
    return text.replace("<br />", " ").lower()


def tfidf_logistic(texts: list[str], labels: np.ndarray, c: float = 8.0):
    """The baseline a user would try first: TF-IDF of 1-2-grams (sublinear tf) + logistic
    regression; `c` was chosen on the validation split."""
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
    """Naive-Bayes-weighted logistic regression on binary hashed 1..n-grams (NBSVM,
    Wang & Manning 2012). Hashing needs no vocabulary, so the whole model is one weight
    vector (the NB ratios folded into the logistic weights) and a bias."""

    weights: np.ndarray  # (n_features,) float32
    bias: float
    ngram_max: int = 3
    n_features: int = 2**22

    def _vectorizer(self) -> HashingVectorizer:
        return hashed_ngrams(self.ngram_max, self.n_features)

    @classmethod
    def fit(
        cls,
        texts: list[str],
        labels: np.ndarray,
        c: float = 0.3,
        ngram_max: int = 3,
        n_features: int = 2**22,
    ) -> NBLogistic:
        x = hashed_ngrams(ngram_max, n_features).transform(texts)  # (n, n_features) binary
        # Log-count ratio of each n-gram between the classes, add-one smoothed.
        pos = np.asarray(x[labels == 1].sum(0)).ravel() + 1.0
        neg = np.asarray(x[labels == 0].sum(0)).ravel() + 1.0
        ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
        logistic = LogisticRegression(C=c, max_iter=3000).fit(x @ sparse.diags(ratio), labels)
        weights = (logistic.coef_.ravel() * ratio).astype(np.float32)
        return cls(weights, float(logistic.intercept_[0]), ngram_max, n_features)

    def logits(self, texts: list[str]) -> np.ndarray:
        """(n,) log-odds of positive."""
        return self._vectorizer().transform(texts) @ self.weights + self.bias

    def save(self, folder: Path) -> None:
        write_atomic(folder / WEIGHTS, lambda tmp: np.save(tmp, self.weights))
        spec = {"bias": self.bias, "ngram_max": self.ngram_max, "n_features": self.n_features}
        write_json(folder / SPEC, spec)

    @classmethod
    def load(cls, folder: Path) -> NBLogistic:
        spec = json.loads((folder / SPEC).read_text())
        weights = np.load(folder / WEIGHTS, allow_pickle=False)
        return cls(weights, spec["bias"], spec["ngram_max"], spec["n_features"])


def hashed_ngrams(ngram_max: int, n_features: int) -> HashingVectorizer:
    return HashingVectorizer(
        ngram_range=(1, ngram_max),
        n_features=n_features,
        binary=True,
        norm=None,
        alternate_sign=False,
        preprocessor=clean,
        token_pattern=TOKEN_PATTERN,
        dtype=np.float32,  # like the weights: no float64 conversion of 4M weights per call
    )
