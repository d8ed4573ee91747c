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

from ..data.ngrams import FEATURES, hashed_ngrams, ngram_logits
from ..errors import RunError
from ..io.files import write_atomic, write_json, write_text

# bandit takes this for a password (B105): it is the tokenising regular expression.
TOKEN_PATTERN = r"[\w']+|[^\w\s]"  # nosec B105
WEIGHTS = "linear.npy"
SPEC = "linear.json"


def clean(text: str) -> str:
    return text.replace("<br />", " ").lower()


BASELINE_C = 8.0  # the baseline's inverse regularisation, chosen on the validation split
# The multinomial n-gram branch (three classes or more): its regularisation, chosen on
# the validation split of IMDB's ratings (docs/decisions.md).
MULTICLASS_C = 1.0


def multiclass_features(n_classes: int) -> int:
    """Hash buckets of the multinomial branch: 2**20 up to 8 classes, then fewer, so that
    the (buckets x classes) weights the solver iterates on stay within 2**23 values (the
    memory of 2 x the binary branch's 2**22): 2**18 for 20 classes."""
    return min(2**20, 2**23 >> max(n_classes - 1, 1).bit_length())


def tfidf_logistic(
    texts: list[str], labels: np.ndarray, c: float = BASELINE_C, class_weight: str | None = None
):
    """The baseline a user would try first: TF-IDF of 1-2-grams (sublinear tf) + logistic
    regression (multinomial for more than two classes)."""
    from sklearn.pipeline import make_pipeline

    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=2,
        preprocessor=clean,
        token_pattern=TOKEN_PATTERN,
        dtype=np.float32,  # like the weights: no float64 conversion of 4M weights per call
    )
    logistic = LogisticRegression(C=c, max_iter=2000, class_weight=class_weight)
    model = make_pipeline(vectorizer, logistic)
    return model.fit(texts, labels)


BASELINE_TERMS = "baseline_terms.txt"  # one n-gram per line, in column order
BASELINE_WEIGHTS = "baseline_weights.npy"  # (1 + classes or 2, terms): idf, then coef rows
BASELINE_SPEC = "baseline.json"


@dataclass
class TfidfScorer:
    """The fitted baseline as plain arrays (no pickle): its n-gram vocabulary, idf and
    logistic weights. Scores texts as the scikit-learn pipeline does: counts of the
    vocabulary's 1-2-grams, sublinear tf (1 + log), times idf, L2-normalised rows."""

    terms: list[str]
    idf: np.ndarray  # (terms,) float32
    coef: np.ndarray  # (1, terms) for two classes, (classes, terms) for more
    intercept: np.ndarray  # (1,) or (classes,)

    @classmethod
    def from_pipeline(cls, pipeline) -> TfidfScorer:
        vectorizer, logistic = pipeline[0], pipeline[-1]
        terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
        idf = vectorizer.idf_.astype(np.float32)
        return cls(terms, idf, logistic.coef_.astype(np.float32), logistic.intercept_)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """(n,) log-odds of the second class, or (n, classes) logits."""
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.preprocessing import normalize

        counts = CountVectorizer(
            vocabulary={term: i for i, term in enumerate(self.terms)},
            ngram_range=(1, 2),
            preprocessor=clean,
            token_pattern=TOKEN_PATTERN,
            dtype=np.float32,
        ).transform(texts)  # (n, terms) sparse
        counts.data = 1 + np.log(counts.data)
        x = normalize(counts @ sparse.diags(self.idf))
        z = np.asarray(x @ self.coef.T) + self.intercept  # (n, 1) or (n, classes)
        return z[:, 0] if self.coef.shape[0] == 1 else z

    def save(self, folder: Path) -> None:
        # A term never holds a newline: tokens are runs of word characters or one mark.
        write_text(folder / BASELINE_TERMS, "\n".join(self.terms) + "\n")
        arrays = np.vstack([self.idf[None], self.coef]).astype(np.float32)
        write_atomic(folder / BASELINE_WEIGHTS, lambda tmp: np.save(tmp, arrays))
        write_json(folder / BASELINE_SPEC, {"intercept": self.intercept.tolist()})

    @classmethod
    def load(cls, folder: Path) -> TfidfScorer:
        terms = (folder / BASELINE_TERMS).read_text(encoding="utf-8").split("\n")[:-1]
        arrays = np.load(folder / BASELINE_WEIGHTS, allow_pickle=False)
        intercept = np.asarray(json.loads((folder / BASELINE_SPEC).read_text())["intercept"])
        if arrays.ndim != 2 or arrays.shape[1] != len(terms) or len(intercept) != len(arrays) - 1:
            raise RunError(f"{folder}: the baseline's weights do not fit its {len(terms):,} terms")
        return cls(terms, arrays[0], arrays[1:], intercept)


@dataclass
class NBLogistic:
    """Naive-Bayes-weighted logistic regression on binary hashed 1..n-grams of token ids
    (NBSVM, Wang & Manning 2012). The n-grams are built from the ids the recurrent model
    reads (the same tokenizer, so one tokenization serves both branches) and hashed in
    numpy: no vocabulary, no Python loop per token. For two classes the whole model is one
    weight vector (the NB ratios folded into the logistic weights) and a bias; for more, a
    multinomial logistic regression on the n-grams themselves: (n_features, classes)
    weights and (classes,) biases."""

    weights: np.ndarray  # (n_features,) or (n_features, classes) float32
    bias: float | np.ndarray  # or (classes,) float64
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
        n_classes: int = 2,
        class_weight: str | None = None,
    ) -> NBLogistic:
        """`c` was chosen on the validation split (0.1 / 0.3 / 1.0 within 0.06 points);
        `class_weight="balanced"` weighs each class by n / (classes * its count)."""
        if n_classes > 2:
            return cls._fit_multinomial(seqs, labels, ngram_max, n_classes, class_weight)
        x = ngram_features(seqs, ngram_max, n_features)  # (n, n_features) binary
        # Log-count ratio of each n-gram between the classes, add-one smoothed.
        pos = np.asarray(x[labels == 1].sum(0)).ravel() + 1.0
        neg = np.asarray(x[labels == 0].sum(0)).ravel() + 1.0
        ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
        logistic = LogisticRegression(C=c, max_iter=3000, class_weight=class_weight)
        coef = _fit_used_columns(logistic, x @ sparse.diags(ratio), labels)
        weights = (coef.ravel() * ratio).astype(np.float32)
        return cls(weights, float(logistic.intercept_[0]), ngram_max, n_features)

    @classmethod
    def _fit_multinomial(
        cls,
        seqs: Sequence[np.ndarray],
        labels: np.ndarray,
        ngram_max: int,
        n_classes: int,
        class_weight: str | None,
    ) -> NBLogistic:
        """Softmax regression on the n-grams, each scaled by how much its frequency differs
        between the classes: the root mean square, over the classes, of its centred
        log-probability of appearing in a review of the class (add-one smoothed; with two
        classes this is half the NB log-count ratio's size). As in NBSVM, the scaling lets
        the solver converge in ~50-70 iterations. Buckets: `multiclass_features`."""
        n_features = multiclass_features(n_classes)
        x = ngram_features(seqs, ngram_max, n_features)  # (n, n_features) binary
        counts = np.stack(  # (classes, n_features): reviews of each class with each n-gram
            [np.asarray(x[labels == c].sum(0)).ravel() + 1.0 for c in range(n_classes)]
        )
        log_p = np.log(counts / counts.sum(1, keepdims=True))
        scale = np.sqrt(((log_p - log_p.mean(0)) ** 2).mean(0))  # (n_features,)
        logistic = LogisticRegression(C=MULTICLASS_C, max_iter=3000, class_weight=class_weight)
        coef = _fit_used_columns(logistic, x @ sparse.diags(scale), labels)
        # a class absent from training has no row in coef_: weight 0 and the lowest bias
        weights = np.zeros((n_features, n_classes), np.float32)
        bias = np.full(n_classes, logistic.intercept_.min() - 20)
        weights[:, logistic.classes_] = coef.T * scale[:, None]
        bias[logistic.classes_] = logistic.intercept_
        return cls(weights, bias, ngram_max, n_features)

    def logits(self, seqs: Sequence[np.ndarray]) -> np.ndarray:
        """(n,) log-odds of the second class for two classes, else (n, classes) scores
        (log-probabilities up to a constant per row), for token-id sequences."""
        return ngram_logits(seqs, self.weights, self.bias, self.ngram_max)

    def save(self, folder: Path) -> None:
        write_atomic(folder / WEIGHTS, lambda tmp: np.save(tmp, self.weights))
        bias = self.bias.tolist() if isinstance(self.bias, np.ndarray) else self.bias
        spec = {
            "features": FEATURES,
            "bias": bias,
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
        bias = np.array(spec["bias"]) if isinstance(spec["bias"], list) else spec["bias"]
        return cls(weights, bias, spec["ngram_max"], spec["n_features"])


def _fit_used_columns(logistic: LogisticRegression, x, labels: np.ndarray) -> np.ndarray:
    """Fit `logistic` on the columns of `x` that occur; its coef_ with every column,
    (rows of coef_, x's columns). The rest of the 2^20-2^22 buckets would get weight 0
    anyway (no gradient but the L2 penalty's, from 0), yet each solver iteration would
    pay for all of them: on a small corpus nearly all of its time."""
    used = np.flatnonzero(x.getnnz(axis=0))
    logistic.fit(x[:, used], labels)
    coef = np.zeros((logistic.coef_.shape[0], x.shape[1]))
    coef[:, used] = logistic.coef_
    return coef


def ngram_features(seqs: Sequence[np.ndarray], ngram_max: int, n_features: int):
    """(len(seqs), n_features) binary float32 CSR matrix: which hashed 1..ngram_max-grams
    of token ids each sequence contains."""
    rows, columns = hashed_ngrams(seqs, ngram_max, n_features)
    ones = np.ones(len(rows), np.float32)
    return sparse.csr_matrix((ones, (rows, columns)), (len(seqs), n_features))
