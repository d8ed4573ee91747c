"""The tutorial's "ideas to explore" as experiments: variations of one base config, each
trained over several seeds, summarised as mean ± std in a table and a plot.

Every run is an ordinary run folder `RUNS/<config hash>/seed-<n>/`, named by its
configuration and data, so an interrupted experiment resumes (complete runs are reused, an
unfinished one resumes its epochs) and a configuration several experiments share (the
base) trains once. What the tables need of a complete run goes into a small record beside
the results (`experiments/records/<config hash>-seed-<n>.json`), committed: the tables
regrow from the records, and a grid that takes longer than one machine's session resumes
on the next machine without the run folders.
"""

from __future__ import annotations

import csv
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

NAMES = ("maxlen", "cell", "units", "conv-gru", "threshold", "embeddings")
# Defaults: a subset that finishes in minutes on 2 CPU cores; --full uses all the data.
TRAIN_LIMIT = 4000
TEST_LIMIT = 4000
# A cap, not the stopping rule: early stopping (the preset's patience) ends each run, and
# a row whose best epoch reaches the cap is flagged as still learning.
EPOCHS = 12
SEEDS = 3
BASE_PRESET = "tutorial"  # the experiments vary the tutorial's model
# The tutorial's model without a mask stays near 50% for its first epochs (padding read
# as input), so the experiments mask the padding and batch reviews by length, as the
# presets do (--set mask=false undoes it).
BASE_OVERRIDES = ("mask=true", "bucket=true")
UNITS, DROPOUTS = (32, 64, 128), (0.0, 0.2, 0.5)  # the units experiment's grid
WHOLE = 100_000  # max_len that keeps every review whole (bucketed: no padding to it)
RUNS_DIR = Path("runs") / "experiments"  # beside the other run folders (git-ignored)
RECORDS = "records"  # the runs' records: a folder beside the experiments' results
THRESHOLD_ROWS = (0.3, 0.4, 0.5, 0.6, 0.7)


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
    for job in jobs:
        log(f"--- {job.label}: {job.run_dir}")
        train_or_reuse(job.cfg, job.run_dir, spec, log)
        save_record(job, spec)


@dataclass(frozen=True)
class Variant:
    label: str  # the row's name in tables and plots
    changes: dict = field(default_factory=dict)  # Config fields changed from the base


def variants(name: str, base: Config, vectors: Path | None = None) -> tuple[Variant, ...]:
    """The rows of experiment `name`; a row the base already is has no changes (it is
    the base's run, and the answer compares the others with it)."""
    rows = _rows(name, base, vectors)
    return tuple(
        Variant(row.label, {k: v for k, v in row.changes.items() if getattr(base, k) != v})
        for row in rows
    )


def _rows(name: str, base: Config, vectors: Path | None) -> tuple[Variant, ...]:
    if name == "maxlen":
        lengths = tuple(Variant(f"max_len={n}", {"max_len": n}) for n in (100, 200, 400, 800))
        return (*lengths, Variant("whole review", {"max_len": WHOLE}))
    if name == "cell":
        units, units2 = lstm_units_like_gru(base)
        return (
            Variant("GRU", {"cell": "gru"}),
            Variant("LSTM, same units", {"cell": "lstm"}),
            Variant(
                f"LSTM, GRU's parameters ({units}/{units2})",
                {"cell": "lstm", "units": units, "units2": units2},
            ),
        )
    if name == "units":
        return tuple(
            Variant(
                f"units {u}/{u // 2}, dropout {d}", {"units": u, "units2": u // 2, "dropout": d}
            )
            for u in UNITS
            for d in DROPOUTS
        )
    if name == "conv-gru":
        return (
            Variant("GRU (stacked)", {"arch": "stacked"}),
            Variant("Conv1D + GRU", {"arch": "conv_gru"}),
            Variant("Conv1D + GRU, no mask", {"arch": "conv_gru", "mask": False}),
            # pooling halves the steps: twice the tokens cost the GRUs what the base's do
            Variant(
                f"Conv1D + GRU, {2 * base.max_len} tokens",
                {"arch": "conv_gru", "max_len": 2 * base.max_len},
            ),
        )
    if name == "embeddings":
        return embedding_variants(vectors)
    return (Variant("base"),)  # threshold: sweeps the base's predictions


def lstm_units_like_gru(base: Config) -> tuple[int, int]:
    """LSTM units (first, second layer, in the base's ratio) whose network has the
    parameter count nearest the GRU base's: an LSTM cell has 4 weight sets to the GRU's
    3, so equal units give it a third more recurrent weights."""
    from ..model.networks import count_params

    target = count_params(base.replace(cell="gru"))
    ratio = base.units2 / base.units

    def params(units: int) -> int:
        return count_params(
            base.replace(cell="lstm", units=units, units2=max(1, round(units * ratio)))
        )

    low, high = 1, base.units  # params grow with units: bisect for the last one <= target
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if params(middle) <= target else (low, middle - 1)
    units = min((low, low + 1), key=lambda u: abs(params(u) - target))
    return units, max(1, round(units * ratio))


QUESTIONS = {
    "maxlen": "Does reading more of each review pay?",
    "cell": "Is a GRU faster or better than an LSTM?",
    "units": "How many units and how much dropout?",
    "conv-gru": "Does a Conv1D front help the GRU?",
    "threshold": "Which decision threshold?",
    "embeddings": "Do pretrained embeddings help?",
}
DESCRIPTIONS = {
    "maxlen": "Maximum review length (tokens kept per review, the head), batches bucketed by "
    "length: accuracy against seconds per epoch, and the share of test reviews truncated.",
    "cell": "GRU versus LSTM cells in the same architecture, at equal units and at equal "
    "parameters: parameters, time, accuracy.",
    "units": "Recurrent units (first/second layer) by input dropout of the recurrent layers.",
    "conv-gru": "A Conv1D + pairwise max-pooling front (local n-grams, half the steps) "
    "before the GRUs versus the plain stacked GRUs; the front with the mask kept "
    "(padding read as zeros, mask halved with the steps) and without it; and the front "
    "reading twice the tokens, which its pooling turns into the plain GRUs' number of steps.",
    "threshold": "Decision threshold: chosen on validation (best accuracy), reported on test.",
    "embeddings": "Embedding initialised from pretrained word vectors (a GloVe / fastText "
    "file, or word2vec trained on the train + unlabeled reviews) or with the recurrent "
    "layers from a GRU language model pretrained on them, versus learned from scratch.",
}
COLUMNS = {  # per-run measure -> table heading
    "params": "parameters",
    "seconds_per_epoch": "s/epoch",
    "validation_accuracy": "validation accuracy",
    "accuracy": "test accuracy",
    "f1": "F1",
    "roc_auc": "ROC-AUC",
    "best_epoch": "best epoch",
    "truncated": "test reviews truncated",
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
    from ..report import plots  # matplotlib: not for the CLI's help, which reads NAMES

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
    if name == "threshold":  # sweeps predictions: the run folders themselves
        if not run_dirs:
            jobs = _jobs(variants("threshold", base), base, spec, runs_dir, seed_list)[0]
            train_all(jobs, spec, log)
            run_dirs = [job.run_dir for job in jobs]
        results = _threshold(run_dirs)
        settings.update(runs=[_relative(d) for d in run_dirs])
        machines = [_machine(read_json(d / runs.CONFIG)) for d in run_dirs]
    else:
        rows = variants(name, base, Path(vectors) if vectors else None)
        if name == "embeddings":
            settings.update(vectors=str(vectors) if vectors else "word2vec (train + unlabeled)")
        grid = _jobs(rows, base, spec, runs_dir, seed_list, out.parent / RECORDS)
        jobs = [job for row in grid for job in row]
        missing = [job for job in jobs if not (job.record and job.record.is_file())]
        for job in jobs:
            if job not in missing:
                log(f"--- {job.label}: recorded in {_relative(job.record)}")
        if missing:
            train_all(missing, spec, log)
        records = [[_read_record(job.record, job.cfg, spec) for job in row] for row in grid]
        results = {"rows": [_summarise(v, r) for v, r in zip(rows, records, strict=True)]}
        curves = {v.label: _mean_curve(r) for v, r in zip(rows, records, strict=True)}
        title = f"experiment {name}: validation accuracy by epoch (mean over seeds)"
        plots.overlaid_curves(curves, title, out / f"{name}-curves.png")
        machines = [record["machine"] for row in records for record in row]
    settings["machine"] = "; ".join(sorted(set(machines)))
    results = {"experiment": name, "question": QUESTIONS[name], **settings, **results}
    results["description"] = DESCRIPTIONS[name]
    results["conclusion"] = conclusion(results)
    write_json(out / "results.json", results)
    write_text(out / "results.md", to_markdown(results))
    _plot(results, out / f"{name}.png")
    log(f"wrote {out / 'results.md'}, results.json and {name}.png")
    return results


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
            cfg = base.replace(**variant.changes, seed=seed).validate()
            key = config_key(cfg, spec)
            record = records / f"{key}-seed-{seed}.json" if records else None
            row.append(
                Job(f"{variant.label}, seed {seed}", cfg, runs_dir / key / f"seed-{seed}", record)
            )
        grid.append(row)
    return grid


def config_key(cfg: Config, spec: DataSpec) -> str:
    """Short hash of everything that defines a run but its seed, the data named as
    `portable` names it."""
    config = {k: v for k, v in cfg.to_dict().items() if k != "seed"}
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


def train_or_reuse(cfg: Config, run_dir: Path, spec: DataSpec, log: Callable) -> None:
    """Train `cfg` into `run_dir`, resuming an unfinished run; a complete one of the same
    config and data is reused, one of another refused."""
    if runs.is_complete(run_dir):
        if runs.differences(run_dir, {"config": cfg.to_dict(), "data": spec.__dict__}):
            raise RunError(
                f"{run_dir} holds a complete run of another configuration or data; remove it"
            )
        log("complete, reusing it")
        return
    from .pipeline import train_run

    train_run(cfg, run_dir, spec, log=log)


def save_record(job: Job, spec: DataSpec) -> None:
    """Write the record of `job`'s complete run (when it has a record path): what the
    tables need of it, about 1.5 KB."""
    if job.record is None:
        return
    metrics = read_json(job.run_dir / runs.METRICS)
    history = _history(job.run_dir)
    measures = {k: metrics[k] for k in COLUMNS if k in metrics}
    measures["seconds_per_epoch"] = steady_seconds_per_epoch(history)
    measures["truncated"] = float(read_predictions(job.run_dir)["test"].truncated.mean())
    record = {
        "config": job.cfg.to_dict(),
        "data": portable(spec),
        "machine": _machine(read_json(job.run_dir / runs.CONFIG)),
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
    return {**record, "path": _relative(path)}


def steady_seconds_per_epoch(history: list[dict]) -> float:
    """Mean seconds of the epochs after the first (the first includes graph building)."""
    seconds = [float(row["seconds"]) for row in history]
    return float(np.mean(seconds[1:] if len(seconds) > 1 else seconds))


def mean_std(values: list[float]) -> dict:
    """Mean and sample standard deviation (0 for a single value)."""
    array = np.asarray(values, float)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {"mean": float(array.mean()), "std": std}


def _summarise(variant: Variant, records: list[dict]) -> dict:
    per_run = [{"record": r["path"], "seed": r["config"]["seed"], **r["measures"]} for r in records]
    row = {"variant": variant.label, "changes": variant.changes, "runs": per_run}
    row.update({k: mean_std([r[k] for r in per_run]) for k in COLUMNS})
    return row


def _history(run_dir: Path) -> list[dict]:
    with (Path(run_dir) / runs.HISTORY).open(newline="") as f:
        return list(csv.DictReader(f))


def _mean_curve(records: list[dict]) -> list[float]:
    """Validation accuracy by epoch, the mean over the runs that reached that epoch
    (early stopping ends runs at different epochs)."""
    curves = [record["val_accuracy"] for record in records]
    return [
        float(np.mean([c[epoch] for c in curves if len(c) > epoch]))
        for epoch in range(max(map(len, curves)))
    ]


def _relative(path: Path) -> str:
    """A path relative to where the command ran: results hold no machine's paths."""
    return os.path.relpath(path)


def _machine(record: dict) -> str:
    """Where a run trained (its config.json): the CPU, and its GPUs when it had some."""
    cpu = record.get("cpu", "CPU not recorded")
    return f"{cpu}; GPUs: {', '.join(record['gpus'])}" if record.get("gpus") else cpu


def _threshold(run_dirs: list[Path]) -> dict:
    """Sweep every run's validation and test predictions; the chosen threshold is the
    validation's best accuracy (thresholds.choose), as train stores it."""
    per_run = []
    for run_dir in run_dirs:
        predictions = read_predictions(run_dir)
        val, test = predictions["validation"], predictions["test"]
        per_run.append(
            {
                "run": _relative(run_dir),
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


def conclusion(results: dict) -> list[str]:
    """Two lines that answer the experiment's question: the variant validation prefers
    against the base (or, when that is the base, against the runner-up), the test
    difference with its uncertainty and whether it exceeds the seed-to-seed spread; then
    the cost and whether every run stopped early."""
    rows = results["rows"]
    if results["experiment"] == "threshold":
        chosen, half = rows[-1], next(r for r in rows if r["variant"] == "0.50")
        return [
            f"The threshold chosen on validation, {chosen['threshold']['mean']:.2f} ± "
            f"{chosen['threshold']['std']:.2f}, gives {_versus(chosen, half, '0.50')}.",
            "It costs nothing: the same predictions, cut elsewhere.",
        ]
    by_validation = sorted(rows, key=lambda r: -r["validation_accuracy"]["mean"])
    best = by_validation[0]
    base = next((r for r in rows if not r["changes"]), rows[0])
    other = base if best is not base else by_validation[1]
    cost = [
        f"{best['seconds_per_epoch']['mean']:.1f} s/epoch against "
        f"{other['seconds_per_epoch']['mean']:.1f}",
        f"{best['params']['mean']:,.0f} parameters against {other['params']['mean']:,.0f}",
    ]
    if results["experiment"] == "maxlen":
        cost.append(f"{best['truncated']['mean']:.0%} of test reviews truncated")
    still = still_learning(results)
    stopped = (
        "every run stopped early (best epoch below the cap)"
        if not still
        else f"still learning at the cap: {', '.join(still)}"
    )
    return [
        f"Validation prefers {best['variant']}: {_versus(best, other, other['variant'])}.",
        f"Cost: {'; '.join(cost)}; {stopped}.",
    ]


def _versus(row: dict, other: dict, name: str) -> str:
    """`row`'s test accuracy against `other`'s: the difference in points with the spread of
    the two (their standard deviations combined), and whether it exceeds it."""
    a, b = row["accuracy"], other["accuracy"]
    diff, spread = 100 * (a["mean"] - b["mean"]), 100 * float(np.hypot(a["std"], b["std"]))
    verdict = "beyond" if abs(diff) > spread else "within"
    return (
        f"test accuracy {a['mean']:.2%} against {b['mean']:.2%} for {name}, "
        f"{diff:+.2f} ± {spread:.2f} points ({verdict} the seed-to-seed spread)"
    )


def still_learning(results: dict) -> list[str]:
    """The rows with a run whose best epoch reached the epoch cap."""
    cap = results["epochs"]
    return [
        row["variant"]
        for row in results.get("rows", [])
        if any(run.get("best_epoch", 0) >= cap for run in row.get("runs", []))
    ]


def to_markdown(results: dict) -> str:
    """The answer, then the results table, each cell `mean ± std` over the seeds."""
    if results["experiment"] == "threshold":
        columns = THRESHOLD_COLUMNS
    else:  # the share truncated differs only when max_len does
        shown = [k for k in COLUMNS if k != "truncated" or results["experiment"] == "maxlen"]
        columns = {k: COLUMNS[k] for k in shown}
    train, test = results["train_limit"], results["test_limit"]
    limits = (
        f"{f'a sample of {train:,}' if train else 'all the'} train reviews (validation carved "
        f"from them), {f'a sample of {test:,}' if test else 'all the'} test reviews"
    )
    lines = [f"# Experiment `{results['experiment']}`: {results['question']}", ""]
    lines += [f"> {line}" for line in results["conclusion"]]
    lines += ["", results["description"], ""]
    if "runs" in results:  # given trained runs: their own data and config apply
        lines.append(f"Runs: {', '.join(f'`{r}`' for r in results['runs'])}.")
    else:
        lines.append(
            f"Data: `{results['data'] or 'IMDB (downloaded)'}`, {limits}; early stopping, "
            f"at most {results['epochs']} epochs; seeds {', '.join(map(str, results['seeds']))}; "
            f"base: the `{BASE_PRESET}` preset with {_changes(results['base'])}."
        )
    if "vectors" in results:
        lines.append(f"Pretrained vectors: {results['vectors']}.")
    lines += [
        f"Trained on: {results['machine']}.",
        "",
        "| variant | " + " | ".join(columns.values()) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for row in results["rows"]:
        cells = [_cell(key, row[key]) for key in columns]
        lines.append(f"| {row['variant']} | " + " | ".join(cells) + " |")
    n = len(results.get("chosen") or results["rows"][0]["runs"])
    lines += ["", f"Each cell: mean ± standard deviation over {n} run(s)."]
    if results["experiment"] != "threshold":
        still = still_learning(results)
        lines.append(
            f"Still learning at the {results['epochs']}-epoch cap: {', '.join(still)}."
            if still
            else f"Every run's best epoch is below the {results['epochs']}-epoch cap."
        )
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
    if key == "truncated":
        return f"{stat['mean']:.1%}"
    return f"{stat['mean']:.4f} ± {stat['std']:.4f}"


def _plot(results: dict, path: Path) -> None:
    from ..report import plots

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


def write_overview(folder: Path, out: Path) -> Path:
    """`out` (markdown): each of the tutorial's questions with the two-line answer of its
    experiment's results under `folder` (experiments/<name>/results.json), or the command
    still to run when there is none from converged runs; one chart of test accuracy
    against seconds per epoch for every variant of every answered experiment
    (`overview.png` beside the results)."""
    from ..report import plots

    here = Path(out).parent
    lines = [
        "# The tutorial's questions, answered",
        "",
        "Written by `gru-sentiment experiment overview` from `experiments/*/results.json`; "
        "how the experiments are designed: [results.md](results.md#the-tutorials-experiments).",
        "",
    ]
    points = {}
    for name in NAMES:
        path = Path(folder) / name / "results.json"
        found = read_json(path) if path.is_file() else {}
        lines += [f"## {QUESTIONS[name]} (`{name}`)", ""]
        if "conclusion" not in found or still_learning(found):  # none, or not converged
            lines += [
                "Not answered yet: no converged runs. "
                f"`gru-sentiment experiment {name} --full` (or `bench/experiments.sh`).",
                "",
            ]
            continue
        lines += [*found["conclusion"], ""]
        where = os.path.relpath(path.with_name("results.md"), here)
        lines += [f"[The table]({where}); measured on {found['machine']}.", ""]
        if name != "threshold":
            points[name] = [
                (row["variant"], row["seconds_per_epoch"]["mean"], row["accuracy"]["mean"])
                for row in found["rows"]
            ]
    if points:
        chart = plots.accuracy_against_time(points, Path(folder) / "overview.png")
        lines.append(f"![accuracy against seconds per epoch]({os.path.relpath(chart, here)})")
    write_text(out, "\n".join(lines).rstrip() + "\n")
    return out


# ---------------------------------------------------------------------------------------
# Embeddings: pretrained vectors from a file, or word2vec trained on the unlabeled reviews.
# ---------------------------------------------------------------------------------------


def embedding_variants(vectors: Path | None) -> tuple[Variant, ...]:
    """From scratch versus initialised from `vectors` (at their dimension), or, without a
    file, from word2vec trained by the pipeline on the train + unlabeled reviews and from
    the GRU language model pretrained on them (embedding and recurrent layers)."""
    if vectors is None:
        return (
            Variant("from scratch"),
            Variant("word2vec init", {"pretrain_word2vec": True}),
            Variant("GRU language model init", {"pretrain_lm": True}),
        )
    dim = vector_dim(vectors)
    return (
        Variant(f"from scratch ({dim}d)", {"embed_dim": dim}),
        Variant(f"{vectors.name} init", {"embed_dim": dim, "vectors": str(vectors.resolve())}),
    )
