"""The report's sections on how the run scores on its test set: the test metrics (per
class for more than two), the decision threshold, and the calibration (Brier score,
expected calibration error, accuracy by length). Each returns the values its part of the
template shows."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import brier_score_loss

from ..data.corpus import class_values
from ..evaluation import calibration, metrics
from ..evaluation.thresholds import sweep
from . import multiclass, plots
from .figures import Figures
from .run_files import Run

# How each metrics.json key reads in the report's tables.
METRIC_NAMES = {
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "roc_auc": "ROC-AUC",
    "balanced_accuracy": "balanced accuracy",
    "macro_f1": "macro F1",
    "weighted_f1": "weighted F1",
    "mae": "mean absolute error (classes as numbers)",
    "within_one": "within one of the true class",
}


def _test_curves(run: Run, base: Run | None) -> plots.Curves:
    """Test labels and probabilities of the run, and of the baseline when its
    probabilities have the same shape (the same number of classes)."""
    test = run.predictions["test"]
    curves = {run.name: (test.labels, test.probs)}
    other = base.predictions.get("test") if base is not None else None
    if other is not None and other.probs.shape[1:] == test.probs.shape[1:]:
        curves[base.name] = (other.labels, other.probs)
    return curves


def metrics_section(run: Run, base: Run | None, figure: Figures) -> dict:
    decision = run.metrics.get("at_decision_threshold", {})
    # A hybrid run also records the test metrics of each of its parts alone (threshold 0.5).
    parts = multiclass.parts(run.metrics)
    keys = metrics.headline(run.metrics)
    if run.multi:
        keys += ("roc_auc",)  # one-vs-rest macro: not a headline, still worth a row
    rows = [
        {
            "metric": METRIC_NAMES.get(key, key),
            "run": run.metrics.get(key),
            "decision": decision.get(key),
            "parts": [part.get(key) for part in parts.values()],
            "baseline": base.metrics.get(key) if base else None,
        }
        for key in keys
    ]
    if run.multi:
        rows[-1]["metric"] = "ROC-AUC (one-vs-rest, macro)"
    imbalance = multiclass.imbalance(run.metrics, metrics.IMBALANCED)
    if imbalance:
        # What accuracy is worth on these classes: the score of a constant answer.
        reference = "accuracy of always predicting the most frequent class"
        majority = {"run": imbalance["majority_accuracy"], "decision": None, "baseline": None}
        rows.insert(1, {"metric": reference, **majority, "parts": [None] * len(parts)})
    verdict = None
    if base is not None:
        gap = (run.metrics["accuracy"] - base.metrics["accuracy"]) * 100
        # Only a comparison on the very same test reviews means anything.
        same = set(base.predictions["test"].ids) == set(run.predictions["test"].ids)
        verdict = {"gap": abs(gap), "beats": gap > 0, "baseline": base.name, "same_test": same}
    section = {
        "rows": rows,
        "parts": list(parts),
        "n_test": run.metrics.get("n_test"),
        "threshold": run.metrics.get("threshold", 0.5),
        "decision_threshold": run.metrics.get("decision_threshold"),
        "verdict": verdict,
        "confusion": run.metrics["confusion_matrix"],
        "class_names": run.classes,
        "per_class": None,
    }
    if run.multi:
        return section | _classes_section(run, figure)
    matrix = np.array(run.metrics["confusion_matrix"])
    return section | {
        "confusion_img": figure(plots.confusion, matrix, classes=run.classes),
        "curves_img": figure(plots.roc_and_pr, _test_curves(run, base)),
    }


def _classes_section(run: Run, figure: Figures) -> dict:
    """More than two classes: the per-class table, the k x k confusion matrix, one-vs-rest
    curves; star-rating-like classes add their MAE (per class too) and outline near misses."""
    values = class_values(run.classes)
    rows = multiclass.per_class_rows(run.metrics, run.classes, values)
    # The weakest class is worth naming only when the classes differ at all.
    tested = [r for r in rows if r["support"]]
    weakest = min(tested, key=lambda r: r["f1"]) if tested else None
    if weakest and weakest["f1"] == max(r["f1"] for r in tested):
        weakest = None
    test = run.predictions["test"]
    matrix = np.array(run.metrics["confusion_matrix"])
    near = multiclass.near_cells(values)
    return {
        "per_class": rows,
        "weakest": weakest,
        "ordinal": values is not None and "mae" in run.metrics,
        "mae": run.metrics.get("mae"),
        "within_one": run.metrics.get("within_one"),
        "confusion_img": figure(plots.confusion_grid, matrix, run.classes, near=near),
        "curves_img": figure(plots.one_vs_rest, test.labels, test.probs, run.classes),
    }


def threshold_section(run: Run, figure: Figures) -> dict:
    chosen = run.metrics.get("decision_threshold", run.metrics.get("threshold", 0.5))
    sweeps = {
        f"{split} ({role})": sweep(run.predictions[split].labels, run.predictions[split].probs)
        for split, role in (("validation", "chooses"), ("test", "reports"))
        if split in run.predictions
    }
    at_decision = run.metrics.get("at_decision_threshold", {})
    return {
        "chosen": chosen,
        "img": figure(plots.threshold_curves, sweeps, chosen),
        "rows": [
            {"metric": key, "half": run.metrics[key], "chosen": at_decision.get(key)}
            for key in metrics.HEADLINE
            if key != "roc_auc"
        ],
    }


def calibration_section(run: Run, base: Run | None, figure: Figures) -> dict:
    """Brier score and ECE of the run (and of the baseline), the reliability diagram, and
    the run's test accuracy in fixed length buckets. The ECE is metrics.json's `ece`:
    equal-mass bins of P(second class) for two classes, of the top class's probability
    for more (not the equal-width bins of multiclass.calibration_row)."""
    curves = _test_curves(run, base)
    section = {"ece_bins": calibration.ECE_BINS, "by_length": accuracy_by_length(run)}
    if run.multi:
        # A (n, k) probability has no single "P(positive)": calibrate the predicted class.
        confident = {}
        for name, (labels, probs) in curves.items():
            guess, conf = multiclass.confidence(probs)
            confident[name] = (guess == labels, conf)
        rows = [
            multiclass.calibration_row(name, labels, probs)
            | {"ece": calibration.ece(labels, probs)}
            for name, (labels, probs) in curves.items()
        ]
        return section | {
            "img": figure(plots.confidence_reliability, confident),
            "rows": rows,
            "uniform_brier": 1 - 1 / len(run.classes),
        }
    return section | {
        "img": figure(plots.reliability, curves),
        "brier": [
            {
                "run": name,
                "brier": float(brier_score_loss(labels, probs)),
                "ece": calibration.ece(labels, probs),
            }
            for name, (labels, probs) in curves.items()
        ],
    }


def accuracy_by_length(run: Run) -> dict:
    """The run's test set in calibration.LENGTH_BUCKETS (fixed token counts, whatever
    max_len): accuracy at the run's threshold (the most probable class for more than two)
    and, for two classes, the mean P(second class) of each class's reviews."""
    test = run.predictions["test"]
    threshold = run.threshold
    rows = calibration.by_length(test.labels, test.probs, test.tokens, threshold)
    return {"rows": rows, "threshold": None if run.multi else threshold}
