"""From probabilities to a verdict: the rule every scorer shares (SentimentModel, the
portable scorer, the metrics). Numpy only: the portable scorer has no scikit-learn.

Two classes: P(second class) against the decision threshold; more: the most probable
class."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def predicted(probs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """(n,) class index of (n,) P(second class) or (n, classes) probabilities."""
    if probs.ndim == 1:
        return (probs >= threshold).astype(int)
    return probs.argmax(1)


def verdict(
    probs: float | np.ndarray, classes: Sequence[str], threshold: float | None
) -> tuple[str, float, dict[str, float]]:
    """(label, probability, every class's probability) of one text: `probs` is P(second
    class) for two classes (`probability` is that, as always), (classes,) for more
    (`probability` is P(label)); rounded to 6 decimals."""
    if len(classes) == 2:
        every = [1 - float(probs), float(probs)]
        label, probability = int(float(probs) >= threshold), float(probs)
    else:
        every = [float(p) for p in probs]
        label = int(np.argmax(every))
        probability = every[label]
    rounded = {c: round(p, 6) for c, p in zip(classes, every, strict=True)}
    return classes[label], round(probability, 6), rounded
