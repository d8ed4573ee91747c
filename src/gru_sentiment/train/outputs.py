"""What every run folder records about its predictions, whatever the model: the
predictions of validation and test, test metrics at 0.5 and at the threshold chosen on
validation, the tutorial's figures and example predictions, the library versions."""

from __future__ import annotations

import csv
import io
import platform
from importlib import metadata
from pathlib import Path

import numpy as np
from sklearn import metrics as skm

from ..data.splits import Splits
from ..evaluation import calibration, metrics, thresholds
from ..io import runs
from ..io.files import write_json, write_text
from ..report import plots

VERSIONED = ("gru-sentiment", "keras", "tensorflow", "jax", "numpy", "tokenizers", "scikit-learn")


def versions() -> dict:
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def write_record(run_dir: Path, record: dict, splits: Splits, device: bool = False) -> None:
    """config.json (the one writer of it): `record` (config, data spec, and what else the
    run says of itself), and what the data resolved to; with `device`, where the network
    trains (backend, CPU, GPUs)."""
    found = {
        **record,
        "seed": record["config"]["seed"],
        "source": splits.source,
        "sizes": splits.sizes(),
        "skipped": splits.skipped,
        "classes": list(splits.classes),
        "versions": versions(),
    }
    if device:
        from ..runtime import device_info

        found.update(device_info())
    write_json(run_dir / runs.CONFIG, found)


def write_evaluation(
    run_dir: Path,
    splits: Splits,
    val_probs: np.ndarray,
    test_probs: np.ndarray,
    lengths: dict[str, list[int]],
    max_len: int | None,
    seed: int,
) -> dict:
    """predictions.csv, the figures and examples.json; returns the test metrics. Two
    classes: at 0.5 and at the decision threshold chosen on validation (what predict
    uses); more: the most probable class (the report draws their figures). Both: the
    expected calibration error (`ece`) and accuracy in fixed length buckets
    (`by_length`, at the decision threshold) of the test set."""
    classes = splits.classes
    write_text(
        run_dir / runs.PREDICTIONS, predictions_csv(splits, val_probs, test_probs, lengths, max_len)
    )
    test = splits.test
    tokens = np.asarray(lengths["test"])
    found = metrics.test_metrics(test.labels, test_probs, 0.5, classes)
    write_json(run_dir / runs.EXAMPLES, metrics.examples(test, test_probs, 0.5, seed, classes))
    found["validation_accuracy"] = validation_accuracy(splits, val_probs)
    found["ece"] = calibration.ece(test.labels, test_probs)
    if len(classes) > 2:
        by_length = calibration.by_length(test.labels, test_probs, tokens)  # argmax
        return found | {"decision_threshold": None, "decision": "argmax", "by_length": by_length}
    plots.confusion(
        np.array(found["confusion_matrix"]), run_dir / runs.PLOTS / "confusion_matrix.png"
    )
    fpr, tpr, _ = skm.roc_curve(test.labels, test_probs)
    plots.roc(fpr, tpr, found["roc_auc"], run_dir / runs.PLOTS / "roc.png")
    decision = thresholds.choose(splits.validation.labels, val_probs)
    found.update(
        decision_threshold=decision,
        at_decision_threshold=metrics.test_metrics(test.labels, test_probs, decision, classes),
        by_length=calibration.by_length(test.labels, test_probs, tokens, decision),
    )
    return found


def predictions_csv(
    splits: Splits,
    val_probs: np.ndarray,
    test_probs: np.ndarray,
    lengths: dict[str, list[int]],
    max_len: int | None,
) -> str:
    """One row per validation and test review: its label, P(second class) for two classes,
    or P(predicted class) and a `p_<class>` column per class for more (`label` and
    `predicted` are class indices into config.json's `classes`)."""
    multi = val_probs.ndim == 2
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["split", "id", "label", "probability", "rating", "tokens", "truncated"]
    if multi:
        header[3:3] = ["predicted"]
        header += [f"p_{name}" for name in splits.classes]
    writer.writerow(header)
    for name, probs in (("validation", val_probs), ("test", test_probs)):
        split = getattr(splits, name)
        for i, n_tokens in enumerate(lengths[name]):
            truncated = int(max_len is not None and n_tokens > max_len)
            tail = [int(split.ratings[i]), n_tokens, truncated]
            if not multi:
                writer.writerow(
                    [name, split.ids[i], int(split.labels[i]), f"{probs[i]:.6f}", *tail]
                )
                continue
            guess = int(probs[i].argmax())
            every = [f"{p:.6f}" for p in probs[i]]
            row = [name, split.ids[i], int(split.labels[i]), guess, every[guess], *tail]
            writer.writerow([*row, *every])
    return out.getvalue()


def validation_accuracy(splits: Splits, val_probs: np.ndarray) -> float:
    """Accuracy at 0.5 (or of the most probable class) on the validation split (what
    choices are made on, beside test)."""
    return float((metrics.predicted(val_probs) == splits.validation.labels).mean())


def history_csv(rows: list[dict]) -> str:
    """Training history rows (one per epoch) as CSV, the tutorial's columns first."""
    columns = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"]
    columns += [k for k in rows[0] if k not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
