"""An experiment's results from its runs: rows of mean ± std over the seeds, the answer
read off them as its catalogue entry says, the markdown table and the plots; and the
overview that gathers every experiment's answer."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...evaluation import thresholds
from ...evaluation.predictions import read_predictions
from ...inference.run_folder import RunFolder
from ...io.files import read_json, write_text
from .catalogue import (
    BASE_PRESET,
    EXPERIMENTS,
    MEASURES,
    THRESHOLD_MEASURES,
    THRESHOLD_SWEEP,
    Variant,
)

THRESHOLD_ROWS = (0.3, 0.4, 0.5, 0.6, 0.7)
BAR_LABELS = {
    "accuracy": "test accuracy",
    "seconds_per_epoch": "seconds per epoch",
    "params": "parameters",
}
RESULTS = Path("experiments")  # each experiment's results.json, in a folder of its name
OVERVIEW = Path("docs") / "experiments.md"


def relative(path: Path) -> str:
    """A path relative to where the command ran: results hold no machine's paths."""
    return os.path.relpath(path)


def mean_std(values: list[float]) -> dict:
    """Mean and sample standard deviation (0 for a single value)."""
    array = np.asarray(values, float)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {"mean": float(array.mean()), "std": std}


def summarise(variant: Variant, records: list[dict]) -> dict:
    """A variant's row: its runs' measures, and the mean ± std of each over them."""
    per_run = [{"record": r["path"], "seed": r["config"]["seed"], **r["measures"]} for r in records]
    row = {"variant": variant.label, "changes": variant.changes, "runs": per_run}
    row.update({k: mean_std([r[k] for r in per_run]) for k in MEASURES})
    return row


def mean_curve(records: list[dict]) -> list[float]:
    """Validation accuracy by epoch, the mean over the runs that reached that epoch
    (early stopping ends runs at different epochs)."""
    curves = [record["val_accuracy"] for record in records]
    return [
        float(np.mean([c[epoch] for c in curves if len(c) > epoch]))
        for epoch in range(max(map(len, curves)))
    ]


def sweep_thresholds(run_dirs: list[Path]) -> dict:
    """Sweep every run's validation and test predictions; the chosen threshold is the
    validation's best accuracy (thresholds.choose), as train stores it."""
    per_run = []
    for run_dir in run_dirs:
        predictions = read_predictions(run_dir)
        val, test = predictions["validation"], predictions["test"]
        per_run.append(
            {
                "run": relative(run_dir),
                "chosen": thresholds.choose(val.labels, val.probs),
                "stored": RunFolder(run_dir).metrics.get("decision_threshold"),
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


def conclusion(results: dict) -> list[str]:
    """Two lines that answer the experiment's question: the variant validation prefers
    against the base (or, when that is the base, against the runner-up), the test
    difference with its uncertainty and whether it exceeds the seed-to-seed spread; then
    the cost and whether every run stopped early."""
    experiment = EXPERIMENTS[results["experiment"]]
    rows = results["rows"]
    if experiment.answer == THRESHOLD_SWEEP:
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
    if "truncated" in experiment.columns:
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
    experiment = EXPERIMENTS[results["experiment"]]
    sweep = experiment.answer == THRESHOLD_SWEEP
    headings = THRESHOLD_MEASURES if sweep else MEASURES
    columns = {k: headings[k] for k in experiment.columns}
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
    if not sweep:
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


def plot(results: dict, path: Path) -> None:
    """The experiment's chart: the threshold sweep's curves, or bars of the measures its
    catalogue entry names, by variant."""
    from ...report import plots  # matplotlib: not for the CLI's help, which reads NAMES

    experiment = EXPERIMENTS[results["experiment"]]
    if experiment.answer == THRESHOLD_SWEEP:
        n = len(results["chosen"])
        curves = {
            f"{split} (mean of {n} runs)": {m: np.asarray(v) for m, v in curve.items()}
            for split, curve in results["curves"].items()
        }
        chosen = results["rows"][-1]["threshold"]["mean"]
        plots.threshold_curves(curves, chosen, path)
        return
    metrics = {key: BAR_LABELS[key] for key in experiment.bars}
    plots.experiment_bars(results["rows"], metrics, f"experiment {experiment.name}", path)


def write_overview(folder: Path = RESULTS, out: Path | None = None) -> Path:
    """`out` (markdown; default docs/experiments.md): each of the tutorial's questions
    with the two-line answer of its experiment's results under `folder`
    (experiments/<name>/results.json), or the command still to run when there is none
    from converged runs; one chart of test accuracy against seconds per epoch for every
    variant of every answered experiment (`overview.png` beside the results)."""
    from ...report import plots

    out = Path(out or OVERVIEW)
    here = out.parent
    lines = [
        "# The tutorial's questions, answered",
        "",
        "Written by `gru-sentiment experiment overview` from `experiments/*/results.json`; "
        "how the experiments are designed: [results.md](results.md#the-tutorials-experiments).",
        "",
    ]
    points = {}
    for name, experiment in EXPERIMENTS.items():
        path = Path(folder) / name / "results.json"
        found = read_json(path) if path.is_file() else {}
        lines += [f"## {experiment.question} (`{name}`)", ""]
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
        if experiment.answer != THRESHOLD_SWEEP:  # a sweep has no seconds per epoch
            points[name] = [
                (row["variant"], row["seconds_per_epoch"]["mean"], row["accuracy"]["mean"])
                for row in found["rows"]
            ]
    if points:
        chart = plots.accuracy_against_time(points, Path(folder) / "overview.png")
        lines.append(f"![accuracy against seconds per epoch]({os.path.relpath(chart, here)})")
    write_text(out, "\n".join(lines).rstrip() + "\n")
    return out
