"""The decision threshold: one grid, one sweep, one rule for choosing on validation."""

from __future__ import annotations

import numpy as np

GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)  # (99,) candidate thresholds


def sweep(labels: np.ndarray, probs: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, precision, recall and F1 (positive class) at every threshold of GRID."""
    grid = GRID
    predicted = probs[None, :] >= grid[:, None]  # (thresholds, reviews)
    positive = labels[None, :] == 1
    tp = (predicted & positive).sum(1)
    fp = (predicted & ~positive).sum(1)
    fn = (~predicted & positive).sum(1)
    precision = np.divide(tp, tp + fp, out=np.zeros(len(grid)), where=tp + fp > 0)
    recall = np.divide(tp, tp + fn, out=np.zeros(len(grid)), where=tp + fn > 0)
    denominator = precision + recall
    f1 = np.divide(
        2 * precision * recall, denominator, out=np.zeros(len(grid)), where=denominator > 0
    )
    return {
        "threshold": grid,
        "accuracy": (predicted == positive).mean(1),
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def choose(labels: np.ndarray, probs: np.ndarray) -> float:
    """The threshold of GRID with the best accuracy on these labels, the one closest to
    0.5 among ties. Call it on validation data only, never on test."""
    accuracy = sweep(labels, probs)["accuracy"]
    best = np.flatnonzero(accuracy == accuracy.max())
    return float(GRID[best[np.argmin(np.abs(GRID[best] - 0.5))]])


def nearest(threshold: float) -> int:
    """Index of the grid point closest to `threshold`."""
    return int(np.argmin(np.abs(GRID - threshold)))
