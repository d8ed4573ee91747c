"""Running an experiment: its runs trained (or reused), each complete run's record
written, and the results written from the records; and the `experiment` command's
defaults and engine choice."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, parse_overrides, preset
from ...data.splits import TABLE_SUFFIXES, DataSpec, load_corpus
from ...errors import ConfigError, RunError
from ...evaluation.predictions import read_predictions
from ...inference.run_folder import RunFolder
from ...io import runs
from ...io.files import read_json, write_json, write_text
from .catalogue import BASE_OVERRIDES, BASE_PRESET, EXPERIMENTS, MEASURES, THRESHOLD_SWEEP, Variant
from .summary import (
    RESULTS,
    conclusion,
    mean_curve,
    plot,
    relative,
    summarise,
    sweep_thresholds,
    to_markdown,
)

# Defaults: a subset that finishes in minutes on 2 CPU cores; --full uses all the data.
TRAIN_LIMIT = 4000
TEST_LIMIT = 4000
# A cap, not the stopping rule: early stopping (the preset's patience) ends each run, and
# a row whose best epoch reaches the cap is flagged as still learning.
EPOCHS = 12
SEEDS = 3
LOCAL = "local"  # the engine that trains the runs one after another in this process
RUNS_DIR = Path("runs") / "experiments"  # beside the other run folders (git-ignored)
RECORDS = "records"  # the runs' records: a folder beside the experiments' results


@dataclass(frozen=True)
class Job:
    """One run to train: what the log calls it, its config, its run folder, and the file
    its record goes to (None: not recorded, as the threshold sweep's runs)."""

    label: str
    cfg: Config
    run_dir: Path
    record: Path | None = None


# Trains a list of jobs: `train_each` here, or a runner that spreads them over machines.
TrainAll = Callable[[list[Job], DataSpec, Callable], None]


def train_each(jobs: list[Job], spec: DataSpec, log: Callable) -> None:
    """Train (or reuse) the jobs' run folders one after another, in this process."""
    from ..pipeline import train_or_reuse  # TensorFlow and the rest: only when training

    for job in jobs:
        log(f"--- {job.label}: {job.run_dir}")
        train_or_reuse(job.cfg, job.run_dir, spec, log=log)
        save_record(job, spec)


def run_command(
    name: str,
    data: str | None = None,
    out: Path | None = None,
    *,
    full: bool = False,
    train_limit: int | None = None,
    test_limit: int | None = None,
    epochs: int | None = None,
    seeds: int | None = None,
    overrides: Sequence[str] = (),
    text_column: str = "text",
    label_column: str = "label",
    engine: str = LOCAL,
    remote: Callable[[], TrainAll] | None = None,
    cpu: bool = False,
    log: Callable = print,
    runs_dir: Path | None = None,
    run_dirs: list[Path] | None = None,
    vectors: Path | None = None,
) -> dict:
    """The `experiment` command: experiment `name` on a subset (TRAIN_LIMIT / TEST_LIMIT
    reviews) unless `full`, over SEEDS seeds within EPOCHS epochs unless given, its base
    the tutorial's model with BASE_OVERRIDES, then `overrides` (FIELD=VALUE), applied;
    results into `out` (default experiments/<name>). `engine` LOCAL trains the runs here;
    any other trains them through the runner `remote()` makes (Ray's lives in the cluster
    layer, above this one, so the caller passes it). The rest: as run_experiment's."""
    if engine != LOCAL and remote is None:
        raise ValueError(f"engine {engine!r} needs the runner that trains its jobs")
    train_all = train_each if engine == LOCAL else remote()
    if not full:
        train_limit = train_limit or TRAIN_LIMIT
        test_limit = test_limit or TEST_LIMIT
    base = preset(BASE_PRESET).set({"preset": BASE_PRESET, "fit.epochs": epochs or EPOCHS})
    base = parse_overrides(base, [*BASE_OVERRIDES, *overrides])
    from ...runtime import prepare

    prepare(cpu)
    data_path = str(Path(data).expanduser().resolve()) if data else None
    spec = DataSpec(data_path, text_column, label_column, train_limit, test_limit)
    return run_experiment(
        name,
        base,
        spec,
        out or RESULTS / name,
        seeds=seeds or SEEDS,
        log=log,
        runs_dir=runs_dir,
        run_dirs=run_dirs,
        vectors=vectors,
        train_all=train_all,
    )


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
    from ...report import plots  # matplotlib: not for the CLI's help, which reads NAMES

    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r} (choose from: {', '.join(EXPERIMENTS)})")
    experiment = EXPERIMENTS[name]
    _check_two_classes(spec)
    out = Path(out)
    runs_dir = Path(runs_dir or RUNS_DIR)
    seed_list = [base.seed + i for i in range(seeds)]
    settings = _settings(base, spec, seed_list)
    if experiment.answer == THRESHOLD_SWEEP:  # sweeps predictions: the run folders themselves
        if not run_dirs:
            jobs = _jobs(experiment.rows(base), base, spec, runs_dir, seed_list)[0]
            train_all(jobs, spec, log)
            run_dirs = [job.run_dir for job in jobs]
        results = sweep_thresholds(run_dirs)
        settings.update(runs=[relative(d) for d in run_dirs])
        machines = [_machine(RunFolder(d).record) for d in run_dirs]
    else:
        rows = experiment.rows(base, Path(vectors) if vectors else None)
        if experiment.vectors:
            settings.update(vectors=str(vectors) if vectors else "word2vec (train + unlabeled)")
        grid = _jobs(rows, base, spec, runs_dir, seed_list, out.parent / RECORDS)
        records = _recorded(grid, spec, log, train_all)
        results = {"rows": [summarise(v, r) for v, r in zip(rows, records, strict=True)]}
        curves = {v.label: mean_curve(r) for v, r in zip(rows, records, strict=True)}
        title = f"experiment {name}: validation accuracy by epoch (mean over seeds)"
        plots.overlaid_curves(curves, title, out / f"{name}-curves.png")
        machines = [record["machine"] for row in records for record in row]
    settings["machine"] = "; ".join(sorted(set(machines)))
    results = {"experiment": name, "question": experiment.question, **settings, **results}
    results["description"] = experiment.description
    results["conclusion"] = conclusion(results)
    write_json(out / "results.json", results)
    write_text(out / "results.md", to_markdown(results))
    plot(results, out / f"{name}.png")
    log(f"wrote {out / 'results.md'}, results.json and {name}.png")
    return results


def _check_two_classes(spec: DataSpec) -> None:
    """ConfigError unless the data is a two-class task (a table file is read to count its
    classes; IMDB has two)."""
    if spec.target != "label" or Path(spec.path or "").suffix.lower() in TABLE_SUFFIXES:
        classes = load_corpus(spec.path, spec.text_column, spec.label_column).classes
        if spec.target != "label" or len(classes) > 2:
            raise ConfigError(
                "experiments answer the tutorial's questions on a two-class task; "
                "this data has more classes: train them with `gru-sentiment train`"
            )


def _settings(base: Config, spec: DataSpec, seeds: list[int]) -> dict:
    """What the results say the runs shared: data, limits, cap, seeds, the base's changes
    to the tutorial preset."""
    tutorial = preset(BASE_PRESET).paths()
    return {
        # relative to where the command ran: committed results hold no machine's paths
        "data": os.path.relpath(spec.path) if spec.path else None,
        "train_limit": spec.train_limit,
        "test_limit": spec.test_limit,
        "epochs": base.fit.epochs,
        "seeds": seeds,
        "base": {k: v for k, v in base.paths().items() if tutorial.get(k) != v},
    }


def _jobs(
    variants: tuple[Variant, ...],
    base: Config,
    spec: DataSpec,
    runs_dir: Path,
    seeds: list[int],
    records: Path | None = None,
) -> list[list[Job]]:
    """The jobs of every variant for every seed, by variant; with their records in
    `records` when given."""
    grid = []
    for variant in variants:
        row = []
        for seed in seeds:
            cfg = base.set({**variant.changes, "seed": seed}).validate()
            key = config_key(cfg, spec)
            record = records / f"{key}-seed-{seed}.json" if records else None
            row.append(
                Job(f"{variant.label}, seed {seed}", cfg, runs_dir / key / f"seed-{seed}", record)
            )
        grid.append(row)
    return grid


def _recorded(
    grid: list[list[Job]], spec: DataSpec, log: Callable, train_all: TrainAll
) -> list[list[dict]]:
    """The records of the grid's jobs, by variant: the jobs not yet recorded trained
    first, the others only read."""
    jobs = [job for row in grid for job in row]
    missing = [job for job in jobs if not (job.record and job.record.is_file())]
    for job in jobs:
        if job not in missing:
            log(f"--- {job.label}: recorded in {relative(job.record)}")
    if missing:
        train_all(missing, spec, log)
    return [[_read_record(job.record, job.cfg, spec) for job in row] for row in grid]


def config_key(cfg: Config, spec: DataSpec) -> str:
    """Short hash of everything that defines a run but its seed, the data named as
    `portable` names it."""
    config = {k: v for k, v in cfg.identity().items() if k != "seed"}
    return runs.key(config, portable(spec))


def portable(spec: DataSpec) -> dict:
    """The data spec with its file (or folder) by name and size instead of where it lies:
    another machine with a copy of the data elsewhere finds the same keys and records,
    whatever folder a command runs in."""
    if not spec.path:
        return spec.__dict__
    path = Path(spec.path)
    size = path.stat().st_size if path.is_file() else None
    return {**spec.__dict__, "path": path.name, "bytes": size}


def save_record(job: Job, spec: DataSpec) -> None:
    """Write the record of `job`'s complete run (when it has a record path): what the
    tables need of it, about 1.5 KB."""
    if job.record is None:
        return
    metrics = RunFolder(job.run_dir).metrics
    history = _history(job.run_dir)
    measures = {k: metrics[k] for k in MEASURES if k in metrics}
    measures["seconds_per_epoch"] = steady_seconds_per_epoch(history)
    measures["truncated"] = float(read_predictions(job.run_dir)["test"].truncated.mean())
    record = {
        "config": job.cfg.to_dict(),
        "data": portable(spec),
        "machine": _machine(RunFolder(job.run_dir).record),
        "measures": measures,
        "val_accuracy": [float(row["val_accuracy"]) for row in history],  # by epoch
    }
    write_json(job.record, record)


def _read_record(path: Path, cfg: Config, spec: DataSpec) -> dict:
    """The record at `path` of a run of `cfg` on `spec`, with its path relative to where
    the command runs; RunError when it records another configuration or data."""
    record = read_json(path)
    expected = {"config": cfg.to_dict(), "data": portable(spec)}
    if any(runs.settled(k, record[k]) != runs.settled(k, v) for k, v in expected.items()):
        raise RunError(f"{path} records another configuration or data; remove it")
    return {**record, "path": relative(path)}


def steady_seconds_per_epoch(history: list[dict]) -> float:
    """Mean seconds of the epochs after the first (the first includes graph building)."""
    seconds = [float(row["seconds"]) for row in history]
    return float(np.mean(seconds[1:] if len(seconds) > 1 else seconds))


def _history(run_dir: Path) -> list[dict]:
    with (Path(run_dir) / runs.HISTORY).open(newline="") as f:
        return list(csv.DictReader(f))


def _machine(record: dict) -> str:
    """Where a run trained (its config.json): the CPU, and its GPUs when it had some."""
    cpu = record.get("cpu", "CPU not recorded")
    return f"{cpu}; GPUs: {', '.join(record['gpus'])}" if record.get("gpus") else cpu
