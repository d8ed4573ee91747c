"""The whole flow as two functions: `train_run` writes a run folder, `evaluate_run`
reloads one and scores the test set again."""

from __future__ import annotations

import csv
import hashlib
import io
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from . import evaluate, runs
from .config import Config
from .data import Split, home_dir, load_corpus, subsample, train_validation
from .files import read_json, write_atomic, write_json, write_text
from .text import TextEncoder


@dataclass
class DataSpec:
    """Where the reviews come from and how much of them to use."""

    path: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    train_limit: int | None = None
    test_limit: int | None = None


SPLIT_ORDER = ("train", "validation", "test")


@dataclass
class Splits:
    train: Split
    validation: Split
    test: Split
    source: str
    skipped: dict
    unlabeled: list[str]


def load_splits(spec: DataSpec, cfg: Config) -> Splits:
    """Train / validation (carved from train with the run's seed) / test."""
    names = ("train", "test", "unsup") if cfg.pretrain_word2vec else ("train", "test")
    corpus = load_corpus(spec.path, spec.text_column, spec.label_column, names)
    train, validation = train_validation(
        subsample(corpus["train"], spec.train_limit, cfg.seed), cfg.val_fraction, cfg.seed
    )
    test = subsample(corpus["test"], spec.test_limit, cfg.seed)
    unlabeled = corpus["unsup"].texts if "unsup" in corpus.splits else []
    return Splits(train, validation, test, corpus.source, dict(corpus.skipped), unlabeled)


def batches(seqs: list[np.ndarray], split: Split, cfg: Config, training: bool = False):
    """A PaddedBatches over the encoded `split`, shuffled only for training."""
    from .batching import PaddedBatches

    return PaddedBatches(
        seqs,
        split.labels,
        cfg.batch_size,
        cfg.max_len,
        truncating=cfg.truncating,
        padding=cfg.padding,
        bucket=cfg.bucket,
        shuffle=training,
        seed=cfg.seed,
    )


def versions() -> dict:
    names = ("gru-sentiment", "keras", "tensorflow", "jax", "numpy", "tokenizers", "scikit-learn")
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def train_run(
    cfg: Config,
    run_dir: Path,
    spec: DataSpec,
    force: bool = False,
    log: Callable = print,
) -> dict:
    """Train `cfg` on `spec`, evaluate on test and write the complete run folder.

    An unfinished run of the same config in `run_dir` is resumed; a complete one is
    kept unless `force`.
    """
    import keras

    from . import batching, models, training
    from .runtime import device_info

    run_dir = Path(run_dir)
    if runs.is_complete(run_dir) and not force:
        raise runs.RunError(f"{run_dir} already holds a complete run; pass --force to replace it")
    record = {"config": cfg.to_dict(), "data": spec.__dict__}
    if force or not (run_dir / runs.CONFIG).exists():
        runs.clear(run_dir)
    else:
        previous = read_json(run_dir / runs.CONFIG)
        if {k: previous.get(k) for k in record} != record:
            raise runs.RunError(
                f"{run_dir} holds an unfinished run with another configuration; "
                "pass --force to start over"
            )
    run_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(cfg.seed)

    log("loading data ...")
    splits = load_splits(spec, cfg)
    log(
        f"train {len(splits.train):,}, validation {len(splits.validation):,}, "
        f"test {len(splits.test):,} reviews from {splits.source}"
    )
    record.update(
        seed=cfg.seed,
        source=splits.source,
        sizes={s: len(getattr(splits, s)) for s in ("train", "validation", "test")},
        skipped=splits.skipped,
        versions=versions(),
        **device_info(),
    )
    write_json(run_dir / runs.CONFIG, record)

    encoder, encoded = prepare_ids(splits, cfg, log)
    encoder.save(run_dir / runs.TOKENIZER)
    train_batches = batches(encoded["train"], splits.train, cfg, training=True)
    val_batches = batches(encoded["validation"], splits.validation, cfg)

    model = models.build_model(cfg)
    if cfg.vectors:
        _init_embedding(model, cfg, encoder, log)
    elif cfg.pretrain_word2vec:
        model.get_layer("embedding").set_weights([_word2vec(splits, encoded, encoder, cfg, log)])
    started = time.perf_counter()
    model, state = training.fit(
        model,
        cfg,
        train_batches,
        val_batches,
        run_dir / runs.CHECKPOINTS,
        log,
    )
    train_seconds = sum(row["seconds"] for row in state["history"])
    log(
        f"trained {len(state['history'])} epochs in {time.perf_counter() - started:.0f} s; "
        f"best epoch {state['best_epoch']}"
    )
    model.save(run_dir / runs.MODEL)
    write_text(run_dir / runs.HISTORY, _history_csv(state["history"]))
    from . import plots

    plots.learning_curves(
        {k: [row[k] for row in state["history"]] for k in state["history"][0]},
        run_dir / runs.PLOTS / "learning_curves.png",
    )

    val_probs = batching.predict_proba(model, val_batches)
    probs = batching.predict_proba(model, batches(encoded["test"], splits.test, cfg))
    components = {}
    if cfg.ngram_branch:
        val_probs, probs, components = _fit_ngram_branch(
            run_dir, splits, encoded, val_probs, probs, log
        )
    lengths = {name: [len(seq) for seq in encoded[name]] for name in ("validation", "test")}
    metrics = write_evaluation(run_dir, splits, val_probs, probs, lengths, cfg.max_len, cfg.seed)
    metrics.update(
        train_seconds=round(train_seconds, 1),
        seconds_per_epoch=round(train_seconds / len(state["history"]), 1),
        epochs_run=len(state["history"]),
        best_epoch=state["best_epoch"],
        params=model.count_params(),
        **components,
    )
    write_json(run_dir / runs.METRICS, metrics)
    shutil.rmtree(run_dir / runs.CHECKPOINTS, ignore_errors=True)
    from .report import write_report

    write_report(run_dir, splits=splits)  # RUN_DIR/report.html
    runs.write_manifest(run_dir)
    log(evaluate.classification_report(splits.test.labels, probs))
    return metrics


def prepare_ids(splits: Splits, cfg: Config, log: Callable = print):
    """Tokenizer fitted on train and every split encoded, cached per (texts, tokenizer
    config) under $GRU_SENTIMENT_HOME/prepared, so a second run skips this work."""
    key = hashlib.sha256(f"v1:{cfg.vocab_size}".encode())
    for name in SPLIT_ORDER:
        for text in getattr(splits, name).texts:
            key.update(text.encode())
        key.update(b"\0split")
    folder = home_dir() / "prepared" / key.hexdigest()[:20]
    if (folder / "done").exists():
        log(f"using cached token ids from {folder}")
        ids = np.load(folder / "ids.npy", allow_pickle=False)
        ends = np.load(folder / "ends.npy", allow_pickle=False)
        seqs = np.split(ids, ends[:-1])
        encoded, start = {}, 0
        for name in SPLIT_ORDER:
            n = len(getattr(splits, name))
            encoded[name] = seqs[start : start + n]
            start += n
        return TextEncoder.load(folder / "tokenizer.json"), encoded
    started = time.perf_counter()
    encoder = TextEncoder.fit(splits.train.texts, cfg.vocab_size)
    encoded = {name: encoder.encode(getattr(splits, name).texts) for name in SPLIT_ORDER}
    log(f"tokenized and encoded in {time.perf_counter() - started:.1f} s")
    folder.mkdir(parents=True, exist_ok=True)
    every = [seq for name in SPLIT_ORDER for seq in encoded[name]]
    ends = np.cumsum([len(seq) for seq in every])
    write_atomic(folder / "ids.npy", lambda tmp: np.save(tmp, np.concatenate(every)))
    write_atomic(folder / "ends.npy", lambda tmp: np.save(tmp, ends))
    encoder.save(folder / "tokenizer.json")
    write_text(folder / "done", "")  # last: marks the cache entry complete
    return encoder, encoded


def _fit_ngram_branch(
    run_dir: Path, splits: Splits, encoded: dict, val_probs, test_probs, log: Callable
):
    """Fit the n-gram model on train and the stack on validation, then refit the n-gram
    model on train + validation; returns the hybrid's validation probabilities (from the
    train-only n-gram model: out of sample, for the decision threshold), its test
    probabilities and each component's own test metrics."""
    from .hybrid import Stack
    from .linear import NBLogistic

    started = time.perf_counter()
    linear = NBLogistic.fit(encoded["train"], splits.train.labels)
    val_logits = linear.logits(encoded["validation"])
    stack = Stack.fit(val_probs, val_logits, splits.validation.labels)
    # Nothing is left to choose on validation: its reviews join the n-gram model's
    # training data (validation accuracy rose 0.4-0.6 points from 16,000 to 20,000
    # training reviews, seeds 1 and 2), as the GRU cannot without losing early stopping.
    linear = NBLogistic.fit(
        encoded["train"] + encoded["validation"],
        np.concatenate([splits.train.labels, splits.validation.labels]),
    )
    test_logits = linear.logits(encoded["test"])
    linear.save(run_dir)
    stack.save(run_dir)
    log(f"n-gram branch fitted in {time.perf_counter() - started:.0f} s; stack {stack}")
    components = {
        "recurrent": evaluate.test_metrics(splits.test.labels, test_probs),
        "ngram": evaluate.test_metrics(splits.test.labels, 1 / (1 + np.exp(-test_logits))),
        "ngram_seconds": round(time.perf_counter() - started, 1),
    }
    return stack.combine(val_probs, val_logits), stack.combine(test_probs, test_logits), components


def _word2vec(splits: Splits, encoded: dict, encoder: TextEncoder, cfg: Config, log: Callable):
    """word2vec on train + unlabeled reviews (never validation or test), cached beside the
    prepared ids."""
    from .pretrain import word2vec_matrix

    texts_key = hashlib.sha256(encoder.tokenizer.to_str().encode())
    for text in splits.train.texts + splits.unlabeled:
        texts_key.update(text.encode())
    name = f"word2vec-{texts_key.hexdigest()[:16]}-{cfg.embed_dim}-{cfg.word2vec_epochs}-{cfg.seed}"
    cached = home_dir() / "prepared" / f"{name}.npy"
    if cached.exists():
        log(f"using cached word2vec vectors {cached}")
        return np.load(cached, allow_pickle=False)
    started = time.perf_counter()
    seqs = encoded["train"] + encoder.encode(splits.unlabeled)
    matrix = word2vec_matrix(seqs, cfg.vocab_size, cfg.embed_dim, cfg.word2vec_epochs, cfg.seed)
    log(f"word2vec on {len(seqs):,} reviews in {time.perf_counter() - started:.0f} s")
    write_atomic(cached, lambda tmp: np.save(tmp, matrix))
    return matrix


def _init_embedding(model, cfg: Config, encoder: TextEncoder, log: Callable) -> None:
    from .vectors import embedding_matrix

    matrix, coverage = embedding_matrix(cfg.vectors, encoder, cfg.vocab_size, cfg.seed)
    if matrix.shape[1] != cfg.embed_dim:
        raise runs.RunError(
            f"{cfg.vectors} has {matrix.shape[1]}-dimensional vectors; "
            f"pass --set embed_dim={matrix.shape[1]}"
        )
    model.get_layer("embedding").set_weights([matrix])
    log(f"embedding initialised from {cfg.vectors}: {coverage:.1%} of the vocabulary found")


def write_evaluation(
    run_dir: Path,
    splits: Splits,
    val_probs: np.ndarray,
    test_probs: np.ndarray,
    lengths: dict[str, list[int]],
    max_len: int | None,
    seed: int,
) -> dict:
    """Everything a run records about its predictions: predictions.csv, test metrics at
    0.5 and at the threshold chosen on validation, the plots and the examples."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["split", "id", "label", "probability", "rating", "tokens", "truncated"])
    for name, probs in (("validation", val_probs), ("test", test_probs)):
        split = getattr(splits, name)
        for i, n_tokens in enumerate(lengths[name]):
            truncated = int(max_len is not None and n_tokens > max_len)
            row = [name, split.ids[i], int(split.labels[i]), f"{probs[i]:.6f}"]
            writer.writerow([*row, int(split.ratings[i]), n_tokens, truncated])
    write_text(run_dir / runs.PREDICTIONS, out.getvalue())

    test = splits.test
    metrics = evaluate.test_metrics(test.labels, test_probs, threshold=0.5)
    evaluate.write_plots(test.labels, test_probs, metrics, run_dir / runs.PLOTS)
    write_json(run_dir / runs.EXAMPLES, evaluate.examples(test, test_probs, 0.5, seed))
    # The decision threshold predict uses: chosen on validation, reported on test.
    decision = evaluate.choose_threshold(splits.validation.labels, val_probs)
    metrics.update(
        decision_threshold=decision,
        at_decision_threshold=evaluate.test_metrics(test.labels, test_probs, decision),
    )
    return metrics


def _history_csv(rows: list[dict]) -> str:
    columns = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"]
    columns += [k for k in rows[0] if k not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def evaluate_run(run_dir: Path, data_path: str | None = None, log: Callable = print) -> dict:
    """Reload a complete run (tokenizer, model, config) and score its test set again."""
    import keras

    from . import batching, models  # noqa: F401  (models registers the custom layers)

    run_dir = Path(run_dir)
    runs.verify(run_dir)
    record = read_json(run_dir / runs.CONFIG)
    cfg = Config.from_dict(record["config"])
    spec = DataSpec(**{**record["data"], "path": data_path or record["data"]["path"]})
    test = load_splits(spec, cfg).test
    encoder = TextEncoder.load(run_dir / runs.TOKENIZER)
    model = keras.models.load_model(run_dir / runs.MODEL, safe_mode=True)
    stored = read_json(run_dir / runs.METRICS)
    seqs = encoder.encode(test.texts)
    probs = batching.predict_proba(model, batches(seqs, test, cfg))
    if cfg.ngram_branch:
        from .hybrid import Stack
        from .linear import NBLogistic

        probs = Stack.load(run_dir).combine(probs, NBLogistic.load(run_dir).logits(seqs))
    metrics = evaluate.test_metrics(test.labels, probs, stored["threshold"])
    log(evaluate.classification_report(test.labels, probs, stored["threshold"]))
    return metrics
