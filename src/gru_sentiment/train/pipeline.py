"""The training flow as named steps: `train_run` writes a complete run folder,
`evaluate_run` reloads one and scores its test set again.

    load data -> claim the folder -> (start tracking) -> encode -> build -> initialise
    (word2vec or a pretrained language model) -> fit -> score -> write -> (finish tracking)

Each step is a function of this module; the run folder is touched only once the data has
loaded (bad input loses nothing).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import numpy as np

from ..config import PRESETS, Config, preset
from ..data.prepared import prepare_ids
from ..data.splits import DataSpec, Splits, load_splits
from ..data.text import TextEncoder
from ..errors import ConfigError, RunError
from ..evaluation import metrics
from ..inference.run_folder import RunFolder
from ..io import runs
from ..io.files import (
    home_dir,
    locked,
    remove_temporaries,
    write_atomic,
    write_json,
    write_text,
)
from ..io.terminal import Log
from ..model.names import EMBEDDING, ENCODER
from .examples import Crops, crop_examples, training_data
from .outputs import history_csv, write_evaluation, write_record
from .scoring import batches, score
from .tracking import Tracker, Tracking, track

ENCODER_LAYERS = (EMBEDDING, ENCODER)


def train_run(
    cfg: Config,
    run_dir: Path,
    spec: DataSpec,
    force: bool = False,
    log: Log = print,
    lm: Path | None = None,
    tracking: Tracking | None = None,
) -> dict:
    """Train `cfg` on `spec`, evaluate on test and write the complete run folder.

    An unfinished run of the same config in `run_dir` is resumed; a complete one is
    kept unless `force`. `lm`: a language-model folder (from `pretrain`) to start from
    instead of the cached one `cfg.init.lm` trains or reuses. `tracking`: where to
    log the run besides its folder (TensorBoard, MLflow); no part of the run's identity.
    """
    import keras

    from ..runtime import distribute

    distribute()  # several JAX devices: data-parallel, before any model is built or loaded
    run_dir = Path(run_dir)
    cfg = run_config(cfg, lm)
    runs.check_destination(run_dir)
    check_vectors(cfg)
    check_backend(cfg)
    splits = load_data(spec, cfg, log)
    teacher = teacher_folder(cfg, spec, splits, log)  # before the seed: it trains a model
    record = {"config": cfg.to_dict(), "data": spec.__dict__}
    with (
        runs.claim(run_dir, record, force) as resumed,
        track(tracking, cfg, run_dir, splits.source, resumed, log) as tracker,
    ):
        write_record(run_dir, record, splits, device=True)
        keras.utils.set_random_seed(cfg.seed)
        encoder, encoded = prepare_ids(splits, cfg.text.vocab_size, log, cfg.text.strip_accents)
        encoder.save(run_dir / runs.TOKENIZER)
        model = build(cfg, len(splits.classes))
        initialise(model, cfg, encoder, encoded, run_dir, log, lm)
        crops = crop_examples(cfg, splits, encoder)
        if crops is not None:
            log(f"{len(crops.seqs):,} sentence crops of train reviews join the training data")
        model, state = fit(
            model, cfg, splits, encoded, run_dir, log, teacher, tracker.callbacks(), crops
        )
        val_probs, test_probs, components = score(
            model, cfg, splits, encoder, encoded, run_dir, log
        )
        found = write_outputs(
            run_dir,
            cfg,
            splits,
            encoded,
            model,
            state,
            val_probs,
            test_probs,
            components,
            log,
            tracker,
        )
        tracker.finish()  # the run folder is complete: its files become artifacts
        return found


def train_or_reuse(
    cfg: Config,
    run_dir: Path,
    spec: DataSpec,
    force: bool = False,
    log: Log = print,
    lm: Path | None = None,
    tracking: Tracking | None = None,
) -> dict:
    """The test metrics of `cfg` trained on `spec` in `run_dir`: a complete run of the same
    config and data there is reused, one of another refused (RunError naming what differs)
    unless `force` replaces it; an unfinished one of the same is resumed (`train_run`)."""
    run_dir = Path(run_dir)
    if not runs.is_complete(run_dir) or force:
        return train_run(cfg, run_dir, spec, force=force, log=log, lm=lm, tracking=tracking)
    changed = runs.differences(
        run_dir, {"config": run_config(cfg, lm).to_dict(), "data": spec.__dict__}
    )
    if changed:
        raise RunError(
            f"{run_dir} holds a complete run of another configuration ({', '.join(changed)} "
            "differ); pass --force to replace it, or choose another folder"
        )
    runs.tidy(run_dir)
    log(f"{run_dir} already holds a complete run (pass --force to retrain it)")
    return RunFolder(run_dir).metrics


def check_vectors(cfg: Config) -> None:
    """Refuse a vector file the embedding cannot take before the run folder is claimed
    (a bad input loses nothing, not even an unfinished run)."""
    if cfg.init.vectors and cfg.init.lm is None:
        from ..model.embeddings import vector_dim

        dim = vector_dim(cfg.init.vectors)
        if dim != cfg.network.embed_dim:
            raise ConfigError(
                f"{cfg.init.vectors} has {dim}-dimensional vectors; "
                f"pass --set network.embed_dim={dim}"
            )


def check_backend(cfg: Config) -> None:
    """Refuse, before the run folder is claimed, an option this Keras backend cannot train."""
    import keras

    if cfg.fit.adversarial and keras.backend.backend() not in ("tensorflow", "jax"):
        raise ConfigError(
            f"adversarial training runs on the TensorFlow and JAX backends, not "
            f"{keras.backend.backend()}: set KERAS_BACKEND=tensorflow or jax"
        )


def run_config(cfg: Config, lm: Path | None) -> Config:
    """The config a run records: starting from a given language model `lm` replaces
    word2vec with the LM start."""
    if lm is None:
        return cfg
    return cfg.set({"init.lm": True, "init.word2vec": False}).validate()


def teacher_folder(cfg: Config, spec: DataSpec, splits: Splits, log: Log) -> Path | None:
    """The run folder whose model labels the distilled reviews: None for the n-gram
    model (or when there is nothing to distil), the folder `cfg.distill.teacher` names, or, when
    it names a preset, that preset trained with this seed on the same data, in the cache
    (reused when there: one teacher serves every student of that seed)."""
    name = cfg.distill.teacher if cfg.distill else None
    if not name:
        return None
    if name not in PRESETS and not runs.is_complete(Path(name)):
        raise ConfigError(
            f"teacher {name!r} is neither a preset ({', '.join(PRESETS)}) nor a complete run folder"
        )
    if not splits.unlabeled:
        return None
    if name not in PRESETS:
        return Path(name)
    teacher = preset(name).replace(preset=name, seed=cfg.seed)
    teacher = teacher.set({"fit.val_fraction": cfg.fit.val_fraction})
    if teacher.distill and teacher.distill.teacher in PRESETS:
        raise ConfigError(f"the teacher preset {name} has a teacher preset itself")
    folder = home_dir() / "teachers" / runs.key(teacher.to_dict(), spec.__dict__, 20)
    log(f"the teacher: preset {name}, seed {cfg.seed}, in {folder}")
    train_or_reuse(teacher, folder, spec, log=log)
    return folder


def pretrain_lm(
    cfg: Config,
    spec: DataSpec,
    out: Path | None = None,
    epochs: float | None = None,
    log: Log = print,
    force: bool = False,
) -> Path:
    """The language model `train` would start from for `cfg` on `spec`, pretrained now
    (or found in the cache); its folder. A complete LM of other settings in `out` is
    replaced only with `force`."""
    from ..runtime import distribute
    from .pretrain import pretrain

    distribute()  # several JAX devices: data-parallel
    if out is not None:
        runs.check_destination(out)
    splits = load_data(spec, cfg.set({"init.lm": True}), log)
    encoder, encoded = prepare_ids(splits, cfg.text.vocab_size, log, cfg.text.strip_accents)
    return pretrain(cfg, encoder, encoded, out, log, epochs, force)


def load_data(spec: DataSpec, cfg: Config, log: Log) -> Splits:
    log("loading data ...")
    unlabeled = cfg.init.word2vec or cfg.init.lm is not None or cfg.distill is not None
    splits = load_splits(spec, cfg.seed, cfg.fit.val_fraction, unlabeled=unlabeled)
    sizes = ", ".join(f"{name} {n:,}" for name, n in splits.sizes().items())
    log(f"{sizes} reviews from {splits.source}")
    if len(splits.classes) > 2:
        log(f"{len(splits.classes)} classes: {', '.join(splits.classes)}")
    for warning in splits.warnings:
        log(warning)
    return splits


def build(cfg: Config, n_classes: int = 2):
    from ..model.networks import build_model

    return build_model(cfg, n_classes)


def initialise(
    model,
    cfg: Config,
    encoder: TextEncoder,
    encoded: dict,
    run_dir: Path,
    log: Log,
    lm: Path | None = None,
) -> None:
    """Start the embedding and encoder from a language model (pretrained, or cached), or
    the embedding alone from a vector file or word2vec on train + unlabeled reviews."""
    if cfg.init.lm is not None:
        import keras

        from ..model.language_model import transfer
        from .pretrain import lm_summary, load_lm, pretrain

        folder = lm or pretrain(cfg, encoder, encoded, log=log)
        transfer(load_lm(folder, cfg, encoder), model)
        keras.utils.set_random_seed(cfg.seed)  # training draws the same with a cached LM
        write_json(run_dir / runs.LANGUAGE_MODEL, lm_summary(folder))
        log(f"embedding and encoder initialised from the language model {folder}")
    elif cfg.init.vectors:
        from ..model.embeddings import embedding_matrix

        matrix, coverage = embedding_matrix(
            cfg.init.vectors, encoder, cfg.text.vocab_size, cfg.seed
        )
        model.get_layer(EMBEDDING).set_weights([matrix])
        log(
            f"embedding initialised from {cfg.init.vectors}: {coverage:.1%} of the vocabulary found"
        )
    elif cfg.init.word2vec:
        model.get_layer(EMBEDDING).set_weights([word2vec(encoder, encoded, cfg, log)])


def word2vec(encoder: TextEncoder, encoded: dict, cfg: Config, log: Log) -> np.ndarray:
    """word2vec on train + unlabeled reviews (never validation or test), cached by the
    ids it reads and its settings."""
    from ..model.embeddings import word2vec_matrix

    seqs = encoded["train"] + encoded["unlabeled"]
    key = hashlib.sha256(encoder.tokenizer.to_str().encode())
    for seq in seqs:
        key.update(seq.tobytes())
    settings = f"{cfg.network.embed_dim}-{cfg.init.word2vec_epochs}-{cfg.seed}"
    name = f"word2vec-{key.hexdigest()[:16]}-{settings}"
    cached = home_dir() / "prepared" / f"{name}.npy"
    cached.parent.mkdir(parents=True, exist_ok=True)
    with locked(cached.with_name(f".{name}.lock")):  # a second process waits for the first
        if cached.exists():
            log(f"using cached word2vec vectors {cached}")
            return np.load(cached, allow_pickle=False)
        started = time.perf_counter()
        log(f"word2vec on {len(seqs):,} reviews ...")
        matrix = word2vec_matrix(
            seqs,
            cfg.text.vocab_size,
            cfg.network.embed_dim,
            cfg.init.word2vec_epochs,
            cfg.seed,
            log,
        )
        log(f"word2vec done in {time.perf_counter() - started:.0f} s")
        remove_temporaries(cached)  # of a process killed while writing it
        write_atomic(cached, lambda tmp: np.save(tmp, matrix))
        return matrix


def fit(
    model,
    cfg: Config,
    splits: Splits,
    encoded: dict,
    run_dir: Path,
    log: Log,
    teacher=None,
    callbacks: list | None = None,
    crops: Crops | None = None,
):
    """Train with early stopping, resumable from the run's checkpoints; (best model, state).
    `teacher`: the run folder that labels the distilled reviews (None: the n-gram model);
    `callbacks`: more Keras callbacks (tracking); `crops`: short texts cut from train
    reviews, trained on too."""
    from ..model import training
    from ..model.targets import targets

    seqs, target, weights = training_data(cfg, splits, encoded, log, teacher, crops)
    started = time.perf_counter()
    model, state = training.fit(
        model,
        cfg,
        batches(seqs, target, cfg, training=True, weights=weights),
        batches(encoded["validation"], targets(splits.validation.labels, splits.classes), cfg),
        run_dir / runs.CHECKPOINTS,
        log,
        callbacks,
    )
    log(
        f"trained {len(state['history'])} epochs in {time.perf_counter() - started:.0f} s; "
        f"best epoch {state['best_epoch']}"
    )
    return model, state


def write_outputs(
    run_dir: Path,
    cfg: Config,
    splits: Splits,
    encoded: dict,
    model,
    state: dict,
    val_probs: np.ndarray,
    test_probs: np.ndarray,
    components: dict,
    log: Log,
    tracker: Tracker | None = None,
) -> dict:
    """Model, history, figures, predictions, metrics, report, then the manifest (the run
    is complete), and only then the checkpoints go: at every instant the folder is either
    resumable or complete. `tracker` logs the metrics before the manifest (its TensorBoard
    files may be in the run folder)."""
    from ..report import plots
    from ..report.html import write_report

    model.save(run_dir / runs.MODEL)
    history = state["history"]
    write_text(run_dir / runs.HISTORY, history_csv(history))
    plots.learning_curves(
        {k: [row[k] for row in history] for k in history[0]},
        run_dir / runs.PLOTS / "learning_curves.png",
    )
    lengths = {name: [len(seq) for seq in encoded[name]] for name in ("validation", "test")}
    found = write_evaluation(
        run_dir, splits, val_probs, test_probs, lengths, cfg.text.max_len, cfg.seed
    )
    train_seconds = sum(row["seconds"] for row in history)
    found.update(
        train_seconds=round(train_seconds, 1),
        seconds_per_epoch=round(train_seconds / len(history), 1),
        epochs_run=len(history),
        best_epoch=state["best_epoch"],
        params=model.count_params(),
        # the part a language model pretrains: embedding + bidirectional encoder
        encoder_params=sum(model.get_layer(name).count_params() for name in ENCODER_LAYERS),
        **components,
    )
    write_json(run_dir / runs.METRICS, found)
    write_report(run_dir, splits=splits)  # RUN_DIR/report.html
    if tracker is not None:
        tracker.log_test(found)
    runs.write_manifest(run_dir)
    shutil.rmtree(run_dir / runs.CHECKPOINTS, ignore_errors=True)
    log(metrics.classification_report(splits.test.labels, test_probs, 0.5, splits.classes))
    return found


def evaluate_run(run_dir: Path, data_path: str | None = None, log: Log = print) -> dict:
    """Reload a complete run (GRU or baseline) and score its test set again."""
    from ..inference.baseline import load_run

    model = load_run(run_dir)
    spec = DataSpec.of_run(model.folder.record)
    spec.path = data_path or spec.path
    test = load_splits(spec, model.cfg.seed, model.cfg.fit.val_fraction, unlabeled=False).test
    probs, _ = model.score(test.texts, model.cfg.text.keep)
    # at 0.5, as train reports its test metrics (the tutorial's cut; the chosen
    # threshold's metrics sit beside them in metrics.json)
    found = metrics.test_metrics(test.labels, probs, 0.5, model.classes)
    log(metrics.classification_report(test.labels, probs, 0.5, model.classes))
    return found
