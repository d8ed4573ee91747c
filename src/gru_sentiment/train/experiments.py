"""The tutorial's "ideas to explore" as experiments: variations of one base config, each
trained over several seeds, summarised as mean ± std in a table and a plot.

Every run is an ordinary run folder `RUNS/<config hash>/seed-<n>/`, named by its
configuration and data, so an interrupted experiment resumes (complete runs are reused, an
unfinished one resumes its epochs) and a configuration several experiments share (the
base) trains once.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import Config, preset
from ..data.splits import TABLE_SUFFIXES, DataSpec, load_corpus
from ..errors import ConfigError, RunError
from ..evaluation import thresholds
from ..evaluation.predictions import read_predictions
from ..io import runs
from ..io.files import read_json, write_json, write_text
from ..model.embeddings import vector_dim
from ..report import plots
from .pipeline import train_run

NAMES = ("maxlen", "cell", "units", "conv-gru", "threshold", "embeddings")
# Defaults: a subset that finishes in minutes on 2 CPU cores; --full uses all the data.
TRAIN_LIMIT = 4000
TEST_LIMIT = 4000
EPOCHS = 3
SEEDS = 2
BASE_PRESET = "tutorial"  # the experiments vary the tutorial's model
# The tutorial's model without a mask stays near 50% for its first epochs (padding read
# as input); on a 4,000-review subset it never leaves that plateau in 3 epochs, so the
# experiments mask the padding unless told otherwise (--set mask=false).
BASE_OVERRIDES = ("mask=true",)
RUNS_DIR = Path("runs") / "experiments"  # beside the other run folders (git-ignored)
THRESHOLD_ROWS = (0.3, 0.4, 0.5, 0.6, 0.7)


@dataclass(frozen=True)
class Job:
    """One run to train: what the log calls it, its config, its run folder."""

    label: str
    cfg: Config
    run_dir: Path


# Trains a list of jobs: `train_each` here, or a runner that spreads them over machines.
TrainAll = Callable[[list[Job], DataSpec, Callable], None]


def train_each(jobs: list[Job], spec: DataSpec, log: Callable) -> None:
    """Train (or reuse) the jobs' run folders one after another, in this process."""
    for job in jobs:
        log(f"--- {job.label}: {job.run_dir}")
        train_or_reuse(job.cfg, job.run_dir, spec, log)


@dataclass(frozen=True)
class Variant:
    label: str  # the row's name in tables and plots
    changes: dict = field(default_factory=dict)  # Config fields changed from the base


VARIANTS: dict[str, tuple[Variant, ...]] = {
    "maxlen": tuple(Variant(f"max_len={n}", {"max_len": n}) for n in (100, 200, 300, 500)),
    "cell": (Variant("GRU", {"cell": "gru"}), Variant("LSTM", {"cell": "lstm"})),
    "units": (
        Variant("units 32/16", {"units": 32, "units2": 16}),
        Variant("units 64/32 (tutorial)"),
        Variant("units 128/64", {"units": 128, "units2": 64}),
        Variant("dropout 0.0", {"dropout": 0.0}),
        Variant("dropout 0.5", {"dropout": 0.5}),
    ),
    "conv-gru": (Variant("GRU (stacked)"), Variant("Conv1D + GRU", {"arch": "conv_gru"})),
    "threshold": (Variant("base"),),
}
DESCRIPTIONS = {
    "maxlen": "Maximum review length: accuracy against seconds per epoch.",
    "cell": "GRU versus LSTM cells in the same architecture: parameters, time, accuracy.",
    "units": "Recurrent units (first/second layer) and input dropout of the recurrent layers.",
    "conv-gru": "A Conv1D + max-pooling front (local n-grams, half the steps) before the GRUs "
    "versus the plain stacked GRUs (the conv arch runs unmasked).",
    "threshold": "Decision threshold: chosen on validation (best accuracy), reported on test.",
    "embeddings": "Embedding initialised from pretrained word vectors (a GloVe / fastText "
    "file, or word2vec trained on the train + unlabeled reviews) versus learned from scratch "
    "(same dimension).",
}
COLUMNS = {  # per-run measure -> table heading
    "params": "parameters",
    "seconds_per_epoch": "s/epoch",
    "accuracy": "accuracy",
    "f1": "F1",
    "roc_auc": "ROC-AUC",
    "best_epoch": "best epoch",
}


def run_experiment(
    name: str,
    base: Config,
    spec: DataSpec,
    out: Path,
    seeds: int = SEEDS,
    log: Callable = print,
    runs_dir: Path | None = None,
    run_dirs: list[Path] | None = None,
    vectors: Path | None = None,
    train_all: TrainAll = train_each,
) -> dict:
    """Run experiment `name` (one of NAMES) and write results.json, results.md and a PNG
    into `out`. Runs go to `runs_dir`, shared between experiments. `run_dirs`: trained
    runs for `threshold` (otherwise it trains the base); `vectors`: a GloVe / fastText
    text file for `embeddings` (otherwise word2vec); `train_all`: how the runs train."""
    if name not in NAMES:
        raise ValueError(f"unknown experiment {name!r} (choose from: {', '.join(NAMES)})")
    if spec.target != "label" or Path(spec.path or "").suffix.lower() in TABLE_SUFFIXES:
        classes = load_corpus(spec.path, spec.text_column, spec.label_column).classes
        if spec.target != "label" or len(classes) > 2:
            raise ConfigError(
                "experiments answer the tutorial's questions on a two-class task; "
                "this data has more classes: train them with `gru-sentiment train`"
            )
    out = Path(out)
    runs_dir = Path(runs_dir or RUNS_DIR)
    seed_list = [base.seed + i for i in range(seeds)]
    tutorial = preset(BASE_PRESET).to_dict()
    settings = {
        # relative to where the command ran: committed results hold no machine's paths
        "data": os.path.relpath(spec.path) if spec.path else None,
        "train_limit": spec.train_limit,
        "test_limit": spec.test_limit,
        "epochs": base.epochs,
        "seeds": seed_list,
        "base": {k: v for k, v in base.to_dict().items() if tutorial.get(k) != v},
    }
    if name == "threshold":
        if not run_dirs:
            variants = VARIANTS["threshold"]
            run_dirs = _train_variants(variants, base, spec, runs_dir, seed_list, log, train_all)[0]
        results = _threshold(run_dirs)
        settings.update(runs=[str(d) for d in run_dirs])
    else:
        if name == "embeddings":
            variants = embedding_variants(Path(vectors) if vectors else None)
            settings.update(vectors=str(vectors) if vectors else "word2vec (train + unlabeled)")
        else:
            variants = VARIANTS[name]
        folders = _train_variants(variants, base, spec, runs_dir, seed_list, log, train_all)
        results = {"rows": [_summarise(v, dirs) for v, dirs in zip(variants, folders, strict=True)]}
    results = {"experiment": name, "description": DESCRIPTIONS[name], **settings, **results}
    write_json(out / "results.json", results)
    write_text(out / "results.md", to_markdown(results))
    _plot(results, out / f"{name}.png")
    log(f"wrote {out / 'results.md'}, results.json and {name}.png")
    return results


def _train_variants(
    variants: tuple[Variant, ...],
    base: Config,
    spec: DataSpec,
    runs_dir: Path,
    seeds: list[int],
    log: Callable,
    train_all: TrainAll,
) -> list[list[Path]]:
    """Train (or reuse) every variant for every seed; run folders per variant."""
    jobs, folders = [], []
    for variant in variants:
        dirs = []
        for seed in seeds:
            cfg = base.replace(**variant.changes, seed=seed).validate()
            run_dir = runs_dir / config_key(cfg, spec) / f"seed-{seed}"
            jobs.append(Job(f"{variant.label}, seed {seed}", cfg, run_dir))
            dirs.append(run_dir)
        folders.append(dirs)
    train_all(jobs, spec, log)
    return folders


def config_key(cfg: Config, spec: DataSpec) -> str:
    """Short hash of everything that defines a run but its seed."""
    defining = {"config": {**cfg.to_dict(), "seed": None}, "data": spec.__dict__}
    return hashlib.sha256(json.dumps(defining, sort_keys=True).encode()).hexdigest()[:12]


def train_or_reuse(cfg: Config, run_dir: Path, spec: DataSpec, log: Callable) -> None:
    """Train `cfg` into `run_dir`, resuming an unfinished run; a complete one of the same
    config and data is reused, one of another refused."""
    if runs.is_complete(run_dir):
        record = read_json(run_dir / runs.CONFIG)
        if record["config"] != cfg.to_dict() or record["data"] != spec.__dict__:
            raise RunError(
                f"{run_dir} holds a complete run of another configuration or data; remove it"
            )
        log("complete, reusing it")
        return
    train_run(cfg, run_dir, spec, log=log)


def steady_seconds_per_epoch(run_dir: Path) -> float:
    """Mean seconds of the epochs after the first (the first includes graph building)."""
    with (Path(run_dir) / runs.HISTORY).open(newline="") as f:
        seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
    return float(np.mean(seconds[1:] if len(seconds) > 1 else seconds))


def mean_std(values: list[float]) -> dict:
    """Mean and sample standard deviation (0 for a single value)."""
    array = np.asarray(values, float)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {"mean": float(array.mean()), "std": std}


def _summarise(variant: Variant, run_dirs: list[Path]) -> dict:
    per_run = []
    for run_dir in run_dirs:
        metrics = read_json(run_dir / runs.METRICS)
        measures = {k: metrics[k] for k in COLUMNS if k in metrics}
        measures["seconds_per_epoch"] = steady_seconds_per_epoch(run_dir)
        per_run.append({"run": str(run_dir), "seed": read_json(run_dir / runs.CONFIG)["seed"]})
        per_run[-1].update(measures)
    row = {"variant": variant.label, "changes": variant.changes, "runs": per_run}
    row.update({k: mean_std([r[k] for r in per_run]) for k in COLUMNS})
    return row


def _threshold(run_dirs: list[Path]) -> dict:
    """Sweep every run's validation and test predictions; the chosen threshold is the
    validation's best accuracy (thresholds.choose), as train stores it."""
    per_run = []
    for run_dir in run_dirs:
        predictions = read_predictions(run_dir)
        val, test = predictions["validation"], predictions["test"]
        per_run.append(
            {
                "run": str(run_dir),
                "chosen": thresholds.choose(val.labels, val.probs),
                "stored": read_json(run_dir / runs.METRICS).get("decision_threshold"),
                "validation": thresholds.sweep(val.labels, val.probs),
                "test": thresholds.sweep(test.labels, test.probs),
            }
        )
    rows = []
    for threshold in (*THRESHOLD_ROWS, None):
        picks = [thresholds.nearest(threshold or r["chosen"]) for r in per_run]
        row = {
            "variant": f"{threshold:.2f}" if threshold else "chosen on validation",
            "threshold": mean_std([thresholds.GRID[i] for i in picks]),
            "val_accuracy": mean_std(
                [r["validation"]["accuracy"][i] for r, i in zip(per_run, picks, strict=True)]
            ),
        }
        for metric in ("accuracy", "precision", "recall", "f1"):
            row[metric] = mean_std(
                [r["test"][metric][i] for r, i in zip(per_run, picks, strict=True)]
            )
        rows.append(row)
    curves = {
        split: {
            key: np.mean([r[split][key] for r in per_run], axis=0).tolist()
            for key in per_run[0][split]
        }
        for split in ("validation", "test")
    }
    chosen = [{k: r[k] for k in ("run", "chosen", "stored")} for r in per_run]
    return {"rows": rows, "chosen": chosen, "curves": curves}


THRESHOLD_COLUMNS = {
    "threshold": "threshold",
    "val_accuracy": "validation accuracy",
    "accuracy": "test accuracy",
    "precision": "test precision",
    "recall": "test recall",
    "f1": "test F1",
}


def to_markdown(results: dict) -> str:
    """The results table as markdown, each cell `mean ± std` over the seeds."""
    columns = THRESHOLD_COLUMNS if results["experiment"] == "threshold" else COLUMNS
    limits = (
        f"train limit {results['train_limit'] or 'none'} (validation carved from it), "
        f"test limit {results['test_limit'] or 'none'}"
    )
    lines = [f"# Experiment `{results['experiment']}`", "", results["description"], ""]
    if "runs" in results:  # given trained runs: their own data and config apply
        lines.append(f"Runs: {', '.join(f'`{r}`' for r in results['runs'])}.")
    else:
        lines.append(
            f"Data: `{results['data'] or 'IMDB (downloaded)'}`, {limits}; at most "
            f"{results['epochs']} epochs; seeds {', '.join(map(str, results['seeds']))}; "
            f"base: the `{BASE_PRESET}` preset with {_changes(results['base'])}."
        )
    if "vectors" in results:
        lines.append(f"Pretrained vectors: {results['vectors']}.")
    lines += [
        "",
        "| variant | " + " | ".join(columns.values()) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for row in results["rows"]:
        cells = [_cell(key, row[key]) for key in columns]
        lines.append(f"| {row['variant']} | " + " | ".join(cells) + " |")
    n = len(results.get("chosen") or results["rows"][0]["runs"])
    lines += ["", f"Each cell: mean ± standard deviation over {n} run(s)."]
    return "\n".join(lines) + "\n"


def _changes(changes: dict) -> str:
    return ", ".join(f"`{k}={v}`" for k, v in changes.items()) or "no changes"


def _cell(key: str, stat: dict) -> str:
    if key == "params":
        return f"{stat['mean']:,.0f}"
    if key in ("seconds_per_epoch", "best_epoch"):
        return f"{stat['mean']:.1f} ± {stat['std']:.1f}"
    if key == "threshold":
        return f"{stat['mean']:.2f} ± {stat['std']:.2f}"
    return f"{stat['mean']:.4f} ± {stat['std']:.4f}"


def _plot(results: dict, path: Path) -> None:
    if results["experiment"] == "threshold":
        n = len(results["chosen"])
        curves = {
            f"{split} (mean of {n} runs)": {m: np.asarray(v) for m, v in curve.items()}
            for split, curve in results["curves"].items()
        }
        chosen = results["rows"][-1]["threshold"]["mean"]
        plots.threshold_curves(curves, chosen, path)
        return
    metrics = {"accuracy": "test accuracy", "seconds_per_epoch": "seconds per epoch"}
    if results["experiment"] == "cell":
        metrics["params"] = "parameters"
    plots.experiment_bars(results["rows"], metrics, f"experiment {results['experiment']}", path)


# ---------------------------------------------------------------------------------------
# Embeddings: pretrained vectors from a file, or word2vec trained on the unlabeled reviews.
# ---------------------------------------------------------------------------------------


def embedding_variants(vectors: Path | None) -> tuple[Variant, ...]:
    """From scratch versus initialised from `vectors` (at their dimension), or, without a
    file, from word2vec trained by the pipeline on the train + unlabeled reviews."""
    if vectors is None:
        return (Variant("from scratch"), Variant("word2vec init", {"pretrain_word2vec": True}))
    dim = vector_dim(vectors)
    return (
        Variant(f"from scratch ({dim}d)", {"embed_dim": dim}),
        Variant(f"{vectors.name} init", {"embed_dim": dim, "vectors": str(vectors.resolve())}),
    )
