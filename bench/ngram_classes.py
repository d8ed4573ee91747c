"""Screen of the multi-class n-gram branch: one-vs-rest NB-LR against a softmax regression on
n-grams scaled by how their frequency differs between classes, at 2^22 and 2^20 hash
buckets, on the validation split of IMDB's star ratings (seed 1; 8 classes).

    GRU_SENTIMENT_HOME=/tmp/benchhome .venv/bin/python bench/ngram_classes.py

Prints validation accuracy, macro-F1, MAE in stars, share within one star and seconds per
model; its output of 2026-12-01 (2 cores shared with another job: seconds are ratios only)
is bench/results/2026-12-01-ngram-classes.txt. The plain softmax regression row of
docs/decisions.md is the branch of commit 6f95d69 measured the same way.
"""

import time

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from gru_sentiment.data.prepared import prepare_ids
from gru_sentiment.data.splits import DataSpec, load_splits
from gru_sentiment.evaluation.metrics import test_metrics
from gru_sentiment.model.linear import ngram_features

K = 8  # IMDB's ratings


def report(name: str, scores: np.ndarray, labels: np.ndarray, classes, started: float) -> None:
    probs = np.exp(scores - scores.max(1, keepdims=True))
    found = test_metrics(labels, probs / probs.sum(1, keepdims=True), 0.5, classes)
    shown = {m: round(found[m], 4) for m in ("accuracy", "macro_f1", "mae", "within_one")}
    print(name, shown, "seconds", round(time.perf_counter() - started, 1), flush=True)


def main() -> None:
    spec = DataSpec("../shared/data/aclImdb.tar.gz", target="rating")
    splits = load_splits(spec, 1, 0.2, unlabeled=False)
    _, ids = prepare_ids(splits, 30000, print)
    y, yv = splits.train.labels, splits.validation.labels
    for bits in (22, 20):
        started = time.perf_counter()
        x = ngram_features(ids["train"], 3, 2**bits)
        xv = ngram_features(ids["validation"], 3, 2**bits)
        counts = np.stack([np.asarray(x[y == c].sum(0)).ravel() + 1.0 for c in range(K)])
        log_p = np.log(counts / counts.sum(1, keepdims=True))  # (K, buckets)
        print("features", bits, round(time.perf_counter() - started, 1), flush=True)
        # 1. one-vs-rest NB-LR: class c against the rest, NB ratios of that pair
        started = time.perf_counter()
        scores = np.zeros((len(yv), K))
        total = counts.sum(0)
        for c in range(K):
            rest = total - counts[c] + 1.0
            ratio = log_p[c] - np.log(rest / rest.sum())
            binary = (y == c).astype(int)
            lr = LogisticRegression(C=0.3, max_iter=3000).fit(x @ sparse.diags(ratio), binary)
            scores[:, c] = (xv @ (lr.coef_.ravel() * ratio)) + lr.intercept_[0]
        report(f"ovr-nblr bits={bits}", scores, yv, splits.classes, started)
        # 2. softmax regression on n-grams scaled by the rms of centred log-probabilities
        scale = sparse.diags(np.sqrt(((log_p - log_p.mean(0)) ** 2).mean(0)))
        for c in (0.3, 1.0):
            started = time.perf_counter()
            lr = LogisticRegression(C=c, max_iter=3000).fit(x @ scale, y)
            scores = (xv @ scale) @ lr.coef_.T + lr.intercept_
            name = f"multinomial-nbscaled C={c} bits={bits} iters={lr.n_iter_}"
            report(name, scores, yv, splits.classes, started)


if __name__ == "__main__":
    main()
