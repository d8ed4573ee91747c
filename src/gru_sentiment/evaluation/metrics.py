"""Test metrics and example predictions from labels and probabilities alone (any model,
the linear baseline included, goes through here)."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from ..data.corpus import CLASS_NAMES, Split

N_EXAMPLES = 5
# The metrics every summary shows, in this order: CLI, report, /health.
HEADLINE = ("accuracy", "precision", "recall", "f1", "roc_auc")


def test_metrics(labels: np.ndarray, probs: np.ndarray, threshold: float = 0.5) -> dict:
    """Accuracy, precision, recall, F1 (positive class), ROC-AUC and the confusion matrix."""
    predicted = (probs >= threshold).astype(int)
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        labels, predicted, average="binary", zero_division=0
    )
    return {
        "accuracy": float(skm.accuracy_score(labels, predicted)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": float(skm.roc_auc_score(labels, probs)),
        "confusion_matrix": skm.confusion_matrix(labels, predicted, labels=[0, 1]).tolist(),
        "threshold": threshold,
        "n_test": int(len(labels)),
    }


def classification_report(labels: np.ndarray, probs: np.ndarray, threshold: float = 0.5) -> str:
    """The tutorial's per-class report, four digits."""
    predicted = (probs >= threshold).astype(int)
    return skm.classification_report(
        labels, predicted, target_names=CLASS_NAMES, digits=4, zero_division=0
    )


def examples(test: Split, probs: np.ndarray, threshold: float, seed: int) -> list[dict]:
    """Five seeded random test reviews with their prediction, as in the tutorial."""
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(test), size=min(N_EXAMPLES, len(test)), replace=False)
    return [
        {
            "id": test.ids[i],
            "text": test.texts[i],
            "true": CLASS_NAMES[int(test.labels[i])],
            "predicted": CLASS_NAMES[int(probs[i] >= threshold)],
            "probability": round(float(probs[i]), 4),
        }
        for i in picked
    ]
