"""Whether a model's probabilities mean what they say, and where (by text length) it errs.

Two classes: the reliability of P(second class) ("positive"): in each bin of reviews with
similar P(positive), the share that really is positive. A model that leans positive on
short texts shows it here, which top-label confidence would hide. More classes: the
reliability of the top class's probability against its accuracy. Bins hold equal numbers
of texts (equal mass), so every bin's share is measured on as many texts as any other.
"""

from __future__ import annotations

import numpy as np

from .decision import predicted

ECE_BINS = 15
# Lengths in tokens (words and punctuation marks): one-liners, sentences, paragraphs,
# reviews, long reviews. (low, high) inclusive; None: no upper bound.
LENGTH_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (1, 10),
    (11, 30),
    (31, 100),
    (101, 400),
    (401, None),
)


def _forecast(labels: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(what the model says, what happened), each (n,): P(second class) and whether the
    text is of it, for two classes; P(top class) and whether it is right, for more."""
    labels = np.asarray(labels, int)
    if probs.ndim == 1:
        return np.asarray(probs, float), (labels == 1).astype(float)
    return probs.max(1).astype(float), (probs.argmax(1) == labels).astype(float)


def reliability(labels: np.ndarray, probs: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    """Equal-mass bins of the forecast, lowest first: each bin's size, mean forecast and
    observed rate (fewer bins when there are fewer texts than `bins`)."""
    said, happened = _forecast(labels, probs)
    order = np.argsort(said, kind="stable")
    parts = np.array_split(order, min(bins, len(order))) if len(order) else []
    return [
        {
            "n": int(len(part)),
            "mean_probability": float(said[part].mean()),
            "observed": float(happened[part].mean()),
        }
        for part in parts
    ]


def ece(labels: np.ndarray, probs: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error over equal-mass bins: the mean, weighted by bin size, of
    |mean forecast - observed rate|. 0 is perfect; a model that says 0.7 where 50% are
    positive scores about 0.2."""
    parts = reliability(labels, probs, bins)
    total = sum(part["n"] for part in parts)
    if not total:
        return 0.0
    gaps = sum(part["n"] * abs(part["mean_probability"] - part["observed"]) for part in parts)
    return float(gaps / total)


def bucket_name(low: int, high: int | None) -> str:
    return f"{low}-{high}" if high is not None else f">{low - 1}"


def by_length(
    labels: np.ndarray, probs: np.ndarray, tokens: np.ndarray, threshold: float = 0.5
) -> list[dict]:
    """Accuracy (and, for two classes, mean P(positive) of each class) in each of
    LENGTH_BUCKETS; a bucket without texts has n 0 and no accuracy."""
    labels, tokens = np.asarray(labels, int), np.asarray(tokens)
    right = predicted(probs, threshold) == labels
    rows = []
    for low, high in LENGTH_BUCKETS:
        inside = (tokens >= low) & (tokens <= (np.inf if high is None else high))
        row: dict = {"bucket": bucket_name(low, high), "n": int(inside.sum())}
        row["accuracy"] = float(right[inside].mean()) if inside.any() else None
        if probs.ndim == 1:
            for value, name in ((0, "negative"), (1, "positive")):
                chosen = inside & (labels == value)
                mean = float(probs[chosen].mean()) if chosen.any() else None
                row[f"mean_p_of_{name}"] = mean
        rows.append(row)
    return rows


def confident_errors(
    labels: np.ndarray, probs: np.ndarray, threshold: float = 0.5, k: int = 10
) -> list[tuple[int, float]]:
    """(row index, the wrong class's probability) of the `k` errors the model was surest
    of, surest first."""
    labels = np.asarray(labels, int)
    wrong = np.flatnonzero(predicted(probs, threshold) != labels)
    if probs.ndim == 1:
        sureness = np.where(labels[wrong] == 1, 1 - probs[wrong], probs[wrong])
    else:
        sureness = probs[wrong].max(1)
    order = np.argsort(-sureness, kind="stable")[:k]
    return [(int(wrong[i]), float(sureness[i])) for i in order]
