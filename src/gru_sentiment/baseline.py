"""The linear baseline as a run: TF-IDF (1-2-grams) + logistic regression on the same
train / validation / test splits as the recurrent runs, recorded in the same run-folder
files (config, metrics, predictions, plots, examples, manifest) so reports compare them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from . import runs
from .config import Config
from .files import write_json
from .linear import TOKEN_PATTERN, clean, tfidf_logistic
from .pipeline import DataSpec, load_splits, versions, write_evaluation

BASELINE_C = 8.0  # inverse regularisation, chosen on the validation split


def run_baseline(run_dir: Path, spec: DataSpec, seed: int = 42, log: Callable = print) -> dict:
    """Fit on train, choose the threshold on validation, evaluate on test; write the run."""
    run_dir = Path(run_dir)
    runs.clear(run_dir)
    run_dir.mkdir(parents=True)
    cfg = Config(preset="baseline", seed=seed)
    splits = load_splits(spec, cfg)
    log(
        f"train {len(splits.train):,}, validation {len(splits.validation):,}, "
        f"test {len(splits.test):,} reviews from {splits.source}"
    )
    started = time.perf_counter()
    model = tfidf_logistic(splits.train.texts, splits.train.labels, c=BASELINE_C)
    train_seconds = time.perf_counter() - started
    val_probs = model.predict_proba(splits.validation.texts)[:, 1]
    test_probs = model.predict_proba(splits.test.texts)[:, 1]
    token = re.compile(TOKEN_PATTERN)
    lengths = {
        name: [len(token.findall(clean(t))) for t in getattr(splits, name).texts]
        for name in ("validation", "test")
    }
    write_json(
        run_dir / runs.CONFIG,
        {
            "config": {
                "preset": "baseline",
                "seed": seed,
                "val_fraction": cfg.val_fraction,
                "model": f"TF-IDF 1-2-grams (sublinear tf, min_df 2) + LogisticRegression "
                f"(C={BASELINE_C})",
            },
            "data": spec.__dict__,
            "seed": seed,
            "source": splits.source,
            "sizes": {s: len(getattr(splits, s)) for s in ("train", "validation", "test")},
            "skipped": splits.skipped,
            "versions": versions(),
        },
    )
    metrics = write_evaluation(run_dir, splits, val_probs, test_probs, lengths, None, seed)
    metrics.update(train_seconds=round(train_seconds, 1), features=len(model[0].vocabulary_))
    write_json(run_dir / runs.METRICS, metrics)
    from .report import write_report

    write_report(run_dir, splits=splits)
    runs.write_manifest(run_dir)
    return metrics
