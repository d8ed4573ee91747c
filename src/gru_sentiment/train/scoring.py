"""What a trained network scores, and the hybrid's n-gram branch and stack fitted on it.

validation / test ids -> the network's probabilities -> (hybrid) n-gram model on train,
stack on validation + crops of it, n-gram model refitted on train + validation
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..config import Config
from ..data.splits import Splits
from ..data.text import TextEncoder
from ..evaluation import metrics
from ..io.terminal import Log
from .outputs import validation_accuracy


def batches(
    seqs: list[np.ndarray],
    labels: np.ndarray,
    cfg: Config,
    training: bool = False,
    weights: np.ndarray | None = None,
):
    """A PaddedBatches over encoded reviews and their targets (`model.targets`), shuffled
    only for training; `weights`: per review, in the loss and metrics."""
    from ..model.batching import PaddedBatches

    return PaddedBatches(
        seqs,
        labels,
        cfg.fit.batch_size,
        cfg.text.max_len,
        keep=cfg.text.keep,
        padding=cfg.text.padding,
        bucket=cfg.fit.bucket,
        shuffle=training,
        seed=cfg.seed,
        weights=weights,
    )


def score(
    model,
    cfg: Config,
    splits: Splits,
    encoder: TextEncoder,
    encoded: dict,
    run_dir: Path,
    log: Log,
):
    """Validation and test probabilities of the final model (the hybrid's n-gram branch and
    stack fitted here), and each component's own test metrics."""
    from ..data.crops import sentence_crops
    from ..model.batching import predict_proba

    def probs_of(seqs: list[np.ndarray], labels: np.ndarray) -> np.ndarray:
        return predict_proba(model, batches(seqs, labels, cfg))

    val_probs = probs_of(encoded["validation"], splits.validation.labels)
    test_probs = probs_of(encoded["test"], splits.test.labels)
    if not cfg.network.ngrams:
        return val_probs, test_probs, {}
    # Crops of the validation reviews (their first or last 1-3 sentences, with the
    # review's label) join the stack's fit: short texts get a weighting of their own.
    crop_ids = encoder.encode(sentence_crops(splits.validation.texts, cfg.seed))
    crops = crop_ids, probs_of(crop_ids, splits.validation.labels)
    balanced = "balanced" if cfg.classes.weight == "balanced" else None
    return fit_ngram_branch(run_dir, splits, encoded, val_probs, test_probs, log, balanced, crops)


def fit_ngram_branch(
    run_dir: Path,
    splits: Splits,
    encoded: dict,
    val_probs,
    test_probs,
    log: Log,
    class_weight: str | None = None,
    crops: tuple[list[np.ndarray], np.ndarray] | None = None,
):
    """Fit the n-gram model on train and the stack on validation (and `crops` of it: their
    ids and the network's probabilities, labelled as their reviews), then refit the n-gram
    model on train + validation; returns the hybrid's validation probabilities (from the
    train-only n-gram model: out of sample, for the decision threshold), its test
    probabilities and each component's own test metrics."""
    from ..model.linear import NBLogistic
    from ..model.stack import Stack, probabilities

    started = time.perf_counter()
    classes = splits.classes
    options = {"n_classes": len(classes), "class_weight": class_weight}
    linear = NBLogistic.fit(encoded["train"], splits.train.labels, **options)
    val_logits = linear.logits(encoded["validation"])
    if crops is None:
        stack = Stack.fit(val_probs, val_logits, splits.validation.labels)
    else:
        crop_ids, crop_probs = crops
        stack = Stack.fit(
            np.concatenate([val_probs, crop_probs]),
            np.concatenate([val_logits, linear.logits(crop_ids)]),
            np.concatenate([splits.validation.labels, splits.validation.labels]),
        )
    # Nothing is left to choose on validation: its reviews join the n-gram model's
    # training data, which the GRU cannot do without losing early stopping.
    linear = NBLogistic.fit(
        encoded["train"] + encoded["validation"],
        np.concatenate([splits.train.labels, splits.validation.labels]),
        **options,
    )
    test_logits = linear.logits(encoded["test"])
    linear.save(run_dir)
    stack.save(run_dir)
    log(f"n-gram branch fitted in {time.perf_counter() - started:.0f} s; stack {stack}")

    test = splits.test.labels
    components = {
        "recurrent": metrics.test_metrics(test, test_probs, 0.5, classes)
        | {"validation_accuracy": validation_accuracy(splits, val_probs)},
        "ngram": metrics.test_metrics(test, probabilities(test_logits), 0.5, classes)
        # the train-only n-gram model's
        | {"validation_accuracy": validation_accuracy(splits, probabilities(val_logits))},
        "ngram_seconds": round(time.perf_counter() - started, 1),
    }
    return stack.combine(val_probs, val_logits), stack.combine(test_probs, test_logits), components
