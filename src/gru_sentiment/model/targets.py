"""What the network learns from a run's labels: its targets and per-review weights.

Two classes keep the tutorial's single sigmoid output: the target is the label itself,
(n,) 0/1. More classes have a softmax output, and the target is a distribution over the
classes, (n, k): one-hot, or (`loss="ordinal"`) soft labels that give the classes near the
true one part of the mass (SORD: Diaz & Marathe 2019, "Soft Labels for Ordinal
Regression"), so that predicting 9 stars for a 10 costs less than predicting 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data.corpus import class_values
from ..errors import ConfigError


def targets(labels: np.ndarray, classes: Sequence[str], loss: str = "crossentropy") -> np.ndarray:
    """(n,) float32 for two classes, else (n, k) float32 rows summing to 1."""
    if len(classes) == 2:
        return labels.astype(np.float32)
    if loss == "ordinal":
        values = class_values(classes)
        if values is None:
            raise ConfigError(
                f"classes.loss=ordinal needs classes that are numbers (star ratings); "
                f"these are not: {', '.join(classes[:5])}"
            )
        distance = values[labels][:, None] - values[None, :]  # (n, k) in the classes' unit
        soft = np.exp(-(distance**2))
        return (soft / soft.sum(1, keepdims=True)).astype(np.float32)
    return np.eye(len(classes), dtype=np.float32)[labels]


def balanced_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes,) float32: n / (n_classes * count of the class), scikit-learn's
    "balanced" rule, so every class carries the same total weight (0 for an absent one)."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    share = np.divide(len(labels), n_classes * counts, out=np.zeros(n_classes), where=counts > 0)
    return share.astype(np.float32)
