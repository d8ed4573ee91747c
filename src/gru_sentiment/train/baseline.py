"""The linear baseline as a run: TF-IDF (1-2-grams) + logistic regression on the same
train / validation / test splits as the recurrent runs, recorded in the same run-folder
files (config, metrics, predictions, plots, examples, manifest) so reports compare them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..config import Config
from ..data.splits import DataSpec, load_splits
from ..io import runs
from ..io.files import write_json
from ..model.linear import BASELINE_C, TOKEN_PATTERN, TfidfScorer, clean, tfidf_logistic
from ..report.html import write_report
from .outputs import write_evaluation, write_record


def run_baseline(
    run_dir: Path,
    spec: DataSpec,
    seed: int = 42,
    force: bool = False,
    log: Callable = print,
    class_weight: str = "none",
) -> dict:
    """Fit on train, choose the threshold on validation (two classes), evaluate on test;
    write the run (its weights as arrays: it predicts, explains and serves as a GRU run
    does). A complete run in `run_dir` is replaced only with `force`, as `train`
    does. `class_weight="balanced"`: each class weighs n / (classes * its count)."""
    run_dir = Path(run_dir)
    runs.check_destination(run_dir)
    cfg = Config(preset="baseline", seed=seed).set({"classes.weight": class_weight}).validate()
    splits = load_splits(spec, seed, cfg.fit.val_fraction, unlabeled=False)
    log(
        ", ".join(f"{name} {n:,}" for name, n in splits.sizes().items())
        + f" reviews from {splits.source}"
    )
    for warning in splits.warnings:
        log(warning)
    config = {"preset": "baseline", "seed": seed, "val_fraction": cfg.fit.val_fraction}
    if class_weight != "none":
        config["class_weight"] = class_weight
    model_name = f"TF-IDF 1-2-grams (sublinear tf, min_df 2) + LogisticRegression (C={BASELINE_C})"
    record = {"config": config, "data": spec.__dict__}
    # Nothing to resume (the baseline fits in seconds): every file is written anew.
    with runs.claim(run_dir, record, force):
        started = time.perf_counter()
        balanced = "balanced" if class_weight == "balanced" else None
        model = tfidf_logistic(splits.train.texts, splits.train.labels, BASELINE_C, balanced)
        train_seconds = time.perf_counter() - started
        TfidfScorer.from_pipeline(model).save(run_dir)  # predict / serve load it, no pickle
        val_probs, test_probs = (
            _class_probabilities(model, getattr(splits, name).texts, len(splits.classes))
            for name in ("validation", "test")
        )
        token = re.compile(TOKEN_PATTERN)
        lengths = {
            name: [len(token.findall(clean(t))) for t in getattr(splits, name).texts]
            for name in ("validation", "test")
        }
        write_record(run_dir, {**record, "model": model_name}, splits)
        metrics = write_evaluation(run_dir, splits, val_probs, test_probs, lengths, None, seed)
        metrics.update(train_seconds=round(train_seconds, 1), features=len(model[0].vocabulary_))
        write_json(run_dir / runs.METRICS, metrics)
        write_report(run_dir, splits=splits)
        runs.write_manifest(run_dir)
        return metrics


def _class_probabilities(model, texts: list[str], n_classes: int) -> np.ndarray:
    """(n,) P(second class) for two classes, else (n, classes) in the run's class order
    (a class absent from train has probability 0)."""
    found = model.predict_proba(texts)  # (n, classes seen in train)
    if n_classes == 2:
        return found[:, 1]
    probs = np.zeros((len(texts), n_classes))
    probs[:, model.classes_] = found
    return probs
