"""The linear baseline as a run: TF-IDF (1-2-grams) + logistic regression on the same
train / validation / test splits as the recurrent runs, recorded in the same run-folder
files (config, metrics, predictions, plots, examples, manifest) so reports compare them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from ..config import Config
from ..data.splits import DataSpec, load_splits
from ..io import runs
from ..io.files import write_json
from ..model.linear import BASELINE_C, TOKEN_PATTERN, clean, tfidf_logistic
from ..report.html import write_report
from .outputs import versions, write_evaluation


def run_baseline(
    run_dir: Path, spec: DataSpec, seed: int = 42, force: bool = False, log: Callable = print
) -> dict:
    """Fit on train, choose the threshold on validation, evaluate on test; write the run.
    A complete run in `run_dir` is replaced only with `force`, as `train` does."""
    run_dir = Path(run_dir)
    runs.check_destination(run_dir)
    cfg = Config(preset="baseline", seed=seed)
    splits = load_splits(spec, seed, cfg.val_fraction, unlabeled=False)
    log(
        ", ".join(f"{name} {n:,}" for name, n in splits.sizes().items())
        + f" reviews from {splits.source}"
    )
    config = {"preset": "baseline", "seed": seed, "val_fraction": cfg.val_fraction}
    model_name = f"TF-IDF 1-2-grams (sublinear tf, min_df 2) + LogisticRegression (C={BASELINE_C})"
    record = {"config": config, "data": spec.__dict__}
    # Nothing to resume (the baseline fits in seconds): every file is written anew.
    with runs.claim(run_dir, record, force):
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
                **record,
                "model": model_name,
                "seed": seed,
                "source": splits.source,
                "sizes": splits.sizes(),
                "skipped": splits.skipped,
                "versions": versions(),
            },
        )
        metrics = write_evaluation(run_dir, splits, val_probs, test_probs, lengths, None, seed)
        metrics.update(train_seconds=round(train_seconds, 1), features=len(model[0].vocabulary_))
        write_json(run_dir / runs.METRICS, metrics)
        write_report(run_dir, splits=splits)
        runs.write_manifest(run_dir)
        return metrics
