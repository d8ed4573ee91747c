"""Hashed n-grams of token ids: the features of the hybrid's n-gram branch.

Numpy only, so the portable scorer (no scikit-learn, no TensorFlow) computes exactly the
features training used. The hashing is specified for other languages in
`export/spec.md`; change one, change the other and `FEATURES`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FEATURES = "token-id-ngrams-v1"  # what a weight vector indexes: recorded, checked on load
MIX = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constants (2^64 / golden ratio, ...)
SPREAD = np.uint64(0xC2B2AE3D27D4EB4F)


def hashed_ngrams(
    seqs: Sequence[np.ndarray], ngram_max: int, n_features: int
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns), two int64 arrays: the distinct hashed 1..ngram_max-grams of token
    ids each sequence contains, sorted by row then column.

    All sequences are concatenated into one flat array, and the n-grams of order n start
    at every position of it; those that run past the end of their sequence are dropped,
    so no n-gram mixes two sequences.
    """
    if n_features <= 0 or n_features & (n_features - 1):
        raise ValueError(f"n_features must be a power of two, not {n_features}")
    bits = np.uint64(64 - n_features.bit_length() + 1)  # keep the top log2(n_features) bits
    lengths = np.fromiter(map(len, seqs), np.int64, len(seqs))
    ids = np.concatenate([*seqs, np.zeros(0, np.int32)]).astype(np.uint64)  # (total,)
    owner = np.repeat(np.arange(len(seqs), dtype=np.int64), lengths)  # (total,)
    keys = []  # per order n: row * (n_features + 1) + column of each n-gram inside a row
    key = np.zeros(len(ids), np.uint64)
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps around on purpose
        for n in range(1, ngram_max + 1):
            starts = max(len(ids) - n + 1, 0)  # 0: the batch holds fewer than n ids
            # key of ids[i : i + n], built from the key of ids[i : i + n - 1]
            key = key[:starts] * MIX + ids[n - 1 :] + np.uint64(n)
            hashed = ((key * SPREAD) >> bits).astype(np.int64)  # Fibonacci hashing
            inside = owner[:starts] == owner[n - 1 :]
            keys.append(owner[:starts][inside] * (n_features + 1) + hashed[inside])
    # Sort, then drop repeats: np.unique's hash table is slower (docs/decisions.md,
    # "The n-gram hashing is one numpy function").
    distinct = np.sort(np.concatenate([*keys, np.zeros(0, np.int64)]))
    distinct = distinct[np.r_[True, distinct[1:] != distinct[:-1]]] if len(distinct) else distinct
    return distinct // (n_features + 1), distinct % (n_features + 1)


def ngram_logits(
    seqs: Sequence[np.ndarray], weights: np.ndarray, bias: float | np.ndarray, ngram_max: int
) -> np.ndarray:
    """bias + the sum of the weights of each sequence's distinct hashed n-grams (a binary
    bag of n-grams times a weight matrix): weights (n_features,) give (len(seqs),) float64
    log-odds, weights (n_features, classes) give (len(seqs), classes) scores."""
    rows, columns = hashed_ngrams(seqs, ngram_max, len(weights))
    if weights.ndim == 1:
        return np.bincount(rows, weights[columns].astype(np.float64), len(seqs)) + bias
    sums = [
        np.bincount(rows, weights[columns, c].astype(np.float64), len(seqs))
        for c in range(weights.shape[1])
    ]  # one class at a time: memory of one (nnz,) column
    return np.stack(sums, axis=1) + np.asarray(bias)
