"""What the report computes for runs of more than two classes: per-class rows, the
calibration of the predicted class, and the most confident errors per (true, predicted)
pair. Numbers only (numpy), from predictions.csv's (n, k) probabilities and metrics.json;
html.py turns them into sections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

N_PAIRS = 4  # (true, predicted) pairs shown: those with the most errors
N_PAIR_ERRORS = 3  # most confident errors shown per pair
BINS = 10  # confidence bins of the calibration


def parts(found: dict) -> dict[str, dict]:
    """The test metrics of each part of a hybrid alone (recurrent, ngram), by name.

    per_class is a dict of dicts too, and a user's class may be called "accuracy": it is
    never a part."""
    skip = ("at_decision_threshold", "per_class")
    return {
        k: v for k, v in found.items() if isinstance(v, dict) and "accuracy" in v and k not in skip
    }


def imbalance(found: dict, threshold: float) -> dict | None:
    """The imbalance note's numbers when the test classes are imbalanced (largest /
    smallest count above `threshold`), else None (older runs lack the keys)."""
    ratio = found.get("imbalance")
    if ratio is None or found.get("majority_accuracy") is None or ratio <= threshold:
        return None
    return {
        "ratio": float(ratio),
        "majority_accuracy": float(found["majority_accuracy"]),
        "accuracy": float(found["accuracy"]),
        "balanced_accuracy": found.get("balanced_accuracy"),
    }


def near_cells(values: np.ndarray | None) -> np.ndarray | None:
    """(k, k) bool: (true, predicted) cells within one of each other, for classes that are
    numbers (star ratings: 4 and 7 are 3 apart, not neighbours); None otherwise."""
    if values is None:
        return None
    return np.abs(values[:, None] - values[None, :]) <= 1


def mae_by_class(matrix: np.ndarray, values: np.ndarray) -> list[float | None]:
    """Mean absolute error of the reviews of each true class (rows of the confusion
    matrix), in the classes' units (stars); None for a class without test reviews."""
    distance = np.abs(values[:, None] - values[None, :])  # (k true, k predicted)
    totals = matrix.sum(axis=1)
    return [
        float((row * d).sum() / n) if n else None
        for row, d, n in zip(matrix, distance, totals, strict=True)
    ]


def per_class_rows(
    found: dict, classes: Sequence[str], values: np.ndarray | None = None
) -> list[dict]:
    """One row per class, in class order: precision, recall, F1, support (metrics.json's
    per_class), the F1 of each hybrid part alone, and the MAE of its reviews for numeric
    classes."""
    per_class = found["per_class"]
    split = parts(found)
    matrix = np.array(found["confusion_matrix"])
    maes = mae_by_class(matrix, values) if values is not None else [None] * len(classes)
    return [
        {
            "class": name,
            **per_class[name],
            "parts": [part.get("per_class", {}).get(name, {}).get("f1") for part in split.values()],
            "mae": mae,
        }
        for name, mae in zip(classes, maes, strict=True)
    ]


def confidence(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n,) predicted class (the most probable) and (n,) its probability."""
    guess = probs.argmax(1)
    return guess, probs[np.arange(len(probs)), guess]


def brier(labels: np.ndarray, probs: np.ndarray) -> float:
    """Multi-class Brier score: the mean over reviews of the squared distance between the
    (k,) probabilities and the one-hot true class (0 is perfect; 1 - 1/k for always
    answering 1/k per class, 2 for a sure, wrong answer)."""
    onehot = np.eye(probs.shape[1])[labels]
    return float(((probs - onehot) ** 2).sum(axis=1).mean())


def expected_calibration_error(correct: np.ndarray, conf: np.ndarray, bins: int = BINS) -> float:
    """|accuracy - mean confidence| per confidence bin, weighted by the bin's reviews."""
    which = np.minimum((conf * bins).astype(int), bins - 1)  # conf == 1.0 in the last bin
    gap = 0.0
    for b in np.unique(which):
        members = which == b
        gap += members.sum() * abs(correct[members].mean() - conf[members].mean())
    return float(gap / max(len(conf), 1))


def calibration_row(name: str, labels: np.ndarray, probs: np.ndarray) -> dict:
    """A run's calibration numbers on test: Brier, ECE, mean confidence against accuracy."""
    guess, conf = confidence(probs)
    correct = guess == labels
    return {
        "run": name,
        "brier": brier(labels, probs),
        "ece": expected_calibration_error(correct, conf),
        "confidence": float(conf.mean()),
        "accuracy": float(correct.mean()),
    }


@dataclass
class ErrorPair:
    true: int  # class index
    predicted: int
    errors: int  # test reviews of `true` predicted as `predicted`
    shown: list[int]  # row indices of the most confident of them, most confident first


def error_pairs(
    labels: np.ndarray, probs: np.ndarray, n_pairs: int = N_PAIRS, per_pair: int = N_PAIR_ERRORS
) -> list[ErrorPair]:
    """The (true, predicted) pairs with the most errors (ties: the surer mistake first),
    each with its most confident errors."""
    guess, conf = confidence(probs)
    wrong = np.flatnonzero(guess != labels)
    pairs = []
    for true, pred in {(int(labels[i]), int(guess[i])) for i in wrong}:
        members = wrong[(labels[wrong] == true) & (guess[wrong] == pred)]
        members = members[np.argsort(-conf[members], kind="stable")]
        pairs.append(ErrorPair(true, pred, len(members), [int(i) for i in members[:per_pair]]))
    pairs.sort(key=lambda p: (-p.errors, -conf[p.shown[0]], p.true, p.predicted))
    return pairs[:n_pairs]
