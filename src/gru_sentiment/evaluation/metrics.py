"""Test metrics and example predictions from labels and probabilities alone (any model,
the linear baseline included, goes through here).

Probabilities are (n,) P(second class) for two classes (the decision is a threshold) and
(n, classes) for more (the decision is the most probable class)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn import metrics as skm

from ..data.corpus import CLASS_NAMES, Split, class_values
from .decision import predicted

N_EXAMPLES = 5
# The metrics every summary shows, in this order: CLI, report, /health.
HEADLINE = ("accuracy", "precision", "recall", "f1", "roc_auc")
MULTICLASS_HEADLINE = ("accuracy", "macro_f1", "weighted_f1", "balanced_accuracy")
ORDINAL_HEADLINE = ("mae", "within_one")  # classes that are numbers: star ratings
IMBALANCED = 1.5  # most / least frequent class above this: the report says so


def headline(found: dict) -> tuple[str, ...]:
    """The summary metrics of a metrics dict: HEADLINE for two classes, else the
    multi-class ones (and the ordinal ones when the classes are numbers)."""
    if len(found.get("classes", CLASS_NAMES)) == 2:
        return HEADLINE
    return MULTICLASS_HEADLINE + tuple(k for k in ORDINAL_HEADLINE if k in found)


def test_metrics(
    labels: np.ndarray,
    probs: np.ndarray,
    threshold: float = 0.5,
    classes: Sequence[str] = CLASS_NAMES,
) -> dict:
    """Accuracy, the per-class and averaged precision / recall / F1, balanced accuracy, the
    confusion matrix (rows: true class), ROC-AUC (one-vs-rest, macro, for more than two
    classes), PR-AUC for two; the mean absolute error and the share within one of the true
    class when the classes are numbers; what always predicting the most frequent class
    would score."""
    labels = np.asarray(labels, int)
    guess = predicted(probs, threshold)
    k = len(classes)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        labels, guess, labels=range(k), zero_division=0
    )
    counts = np.bincount(labels, minlength=k)
    found = {
        "accuracy": float(skm.accuracy_score(labels, guess)),
        "balanced_accuracy": float(recall[counts > 0].mean()),
        "macro_f1": float(f1.mean()),
        "weighted_f1": float(np.average(f1, weights=support)) if support.sum() else 0.0,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(classes)
        },
        "confusion_matrix": skm.confusion_matrix(labels, guess, labels=range(k)).tolist(),
        "majority_accuracy": float(counts.max() / max(len(labels), 1)),
        "imbalance": float(counts.max() / max(counts[counts > 0].min(), 1)),
        "classes": list(classes),
        "n_test": int(len(labels)),
    }
    if probs.ndim == 1:
        found.update(
            precision=float(precision[1]),
            recall=float(recall[1]),
            f1=float(f1[1]),
            roc_auc=_roc_auc(labels, probs),
            pr_auc=float(skm.average_precision_score(labels, probs)) if counts[1] else 0.0,
            threshold=threshold,
        )
        return found
    found["roc_auc"] = _roc_auc(labels, probs, k)
    values = class_values(classes)
    if values is not None:
        error = np.abs(values[guess] - values[labels])
        found.update(mae=float(error.mean()), within_one=float((error <= 1).mean()))
    return found


def _roc_auc(labels: np.ndarray, probs: np.ndarray, k: int = 2) -> float | None:
    """ROC-AUC (one-vs-rest macro average for more than two classes); None when a class
    has no test review (undefined)."""
    if len(np.unique(labels)) < k:
        return None
    if probs.ndim == 1:
        return float(skm.roc_auc_score(labels, probs))
    return float(skm.roc_auc_score(labels, probs, multi_class="ovr", labels=range(k)))


def classification_report(
    labels: np.ndarray,
    probs: np.ndarray,
    threshold: float = 0.5,
    classes: Sequence[str] = CLASS_NAMES,
) -> str:
    """The tutorial's per-class report, four digits."""
    return skm.classification_report(
        labels,
        predicted(probs, threshold),
        labels=range(len(classes)),
        target_names=list(classes),
        digits=4,
        zero_division=0,
    )


def examples(
    test: Split,
    probs: np.ndarray,
    threshold: float,
    seed: int,
    classes: Sequence[str] = CLASS_NAMES,
) -> list[dict]:
    """Five seeded random test reviews with their prediction, as in the tutorial;
    `probability` is P(second class) for two classes, P(predicted class) for more."""
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(test), size=min(N_EXAMPLES, len(test)), replace=False)
    guess = predicted(probs, threshold)
    return [
        {
            "id": test.ids[i],
            "text": test.texts[i],
            "true": classes[int(test.labels[i])],
            "predicted": classes[int(guess[i])],
            "probability": round(float(probs[i] if probs.ndim == 1 else probs[i, guess[i]]), 4),
        }
        for i in picked
    ]
