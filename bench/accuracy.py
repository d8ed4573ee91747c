"""Accuracy and speed benchmark: presets against the linear baselines, same machine, same run.

    .venv/bin/python bench/accuracy.py --seeds 3 --data ../shared/data/aclImdb.tar.gz

Each (model, seed) trains as its own `gru-sentiment train` process, timed wall-clock with
data preparation included, in a fresh $GRU_SENTIMENT_HOME: the first run of a preset pays
for tokenization and any pretraining (what `make run` costs on a fresh machine), later
seeds find them cached. The hybrid's runs also report their parts alone: the recurrent
branch (the `recurrent` preset is exactly that branch, so it is not trained twice) and the
n-gram branch (NB-weighted logistic regression). Prediction speed is the default model
scoring the test reviews through `SentimentModel.predict`.

A model is a preset name, or `label=preset+FIELD=VALUE+...` for an ablation row, e.g.
`--models scratch=recurrent+pretrain_lm=false`; `{seed}` in a value stands for the run's seed
(`teacher=runs/bench/hybrid-seed{seed}`). Writes bench/results/<date>-<name>.json
and a markdown table beside it, with the CPU's model and flags (machines differ).

`--target rating`: IMDB's 8 star ratings instead of negative/positive; the table then
shows accuracy, macro-F1, the mean absolute error in stars and the share within one star,
on test and (from each run's predictions.csv) on validation.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "gru_sentiment"]


def train(
    model: str, seed: int, run_dir: Path, extra: list[str], env: dict, reuse: bool = False
) -> dict:
    """Train one run of `model` (see the module doc) in its own process; its metrics plus
    the wall-clock seconds. `reuse`: a complete run of the same config already in
    `run_dir` is kept (its wall-clock seconds are then unknown: NaN)."""
    # "{seed}" in a value is the run's seed, e.g. teacher=runs/bench/hybrid-seed{seed}
    preset, *overrides = model.split("=", 1)[-1].replace("{seed}", str(seed)).split("+")
    extra = [*extra, *(arg for o in overrides for arg in ("--set", o))]
    command = [
        *CLI,
        "train",
        "--preset",
        preset,
        "--seed",
        str(seed),
        "--out",
        str(run_dir),
        *([] if reuse else ["--force"]),
        *extra,
    ]
    if preset == "baseline":
        command = [*CLI, "baseline", "--seed", str(seed), "--out", str(run_dir), "--force", *extra]
    reused = reuse and (run_dir / "manifest.json").exists()
    started = time.perf_counter()
    if not (reused and preset == "baseline"):  # train checks a reused run's config itself
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=REPO, env=env)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["wall_seconds"] = float("nan") if reused else round(time.perf_counter() - started, 1)
    if len(metrics.get("classes", [])) > 2:
        metrics |= validation_metrics(run_dir, metrics["classes"])
    return metrics


def validation_metrics(run_dir: Path, classes: list[str]) -> dict:
    """A multi-class run's macro-F1 and errors in stars on its validation split (what
    choices are made on), from its predictions.csv."""
    from gru_sentiment.evaluation.metrics import test_metrics
    from gru_sentiment.evaluation.predictions import read_predictions

    validation = read_predictions(run_dir)["validation"]
    found = test_metrics(validation.labels, validation.probs, 0.5, classes)
    return {f"validation_{k}": found[k] for k in ("macro_f1", "mae", "within_one") if k in found}


def reviews_per_second(run_dir: Path, texts: list[str]) -> float:
    """Throughput of the public prediction API on `texts`: one call on a freshly loaded
    model, as `gru-sentiment predict` does it (nothing compiled or cached beforehand)."""
    from gru_sentiment import SentimentModel

    model = SentimentModel.load(run_dir)
    started = time.perf_counter()
    model.predict(texts)
    return len(texts) / (time.perf_counter() - started)


def lscpu() -> dict:
    """The CPU's model name and flags (AVX-512 or not changes speed several-fold)."""
    found = {}
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("Model name", "Flags", "CPU(s)"):
            found[key.strip()] = value.strip()
    return found


# The table's columns: (metrics.json key, heading); test ones with mean ± std over seeds.
TEST_COLUMNS = {
    "label": [("accuracy", "test accuracy"), ("roc_auc", "ROC-AUC"), ("f1", "F1")],
    "rating": [
        ("accuracy", "test accuracy"),
        ("macro_f1", "test macro-F1"),
        ("mae", "test MAE (stars)"),
        ("within_one", "test within 1 star"),
    ],
}
VALIDATION_COLUMNS = {
    "label": [("validation_accuracy", "validation accuracy")],
    "rating": [
        ("validation_accuracy", "validation accuracy"),
        ("validation_macro_f1", "validation macro-F1"),
        ("validation_mae", "validation MAE"),
    ],
}


def summarize(rows: list[dict], target: str) -> dict:
    def stat(key: str) -> tuple[float, float]:
        values = np.array([r[key] for r in rows], float)
        return float(values.mean()), float(values.std())

    out = {"seeds": [r["seed"] for r in rows], "n_test": rows[0]["n_test"]}
    for key in [k for k, _ in TEST_COLUMNS[target]] + ["wall_seconds"]:
        out[key], out[f"{key}_std"] = stat(key)
    validation = [k for k, _ in VALIDATION_COLUMNS[target]]
    for key in [*validation, "train_seconds", "seconds_per_epoch", "params"]:
        if key in rows[0]:
            out[key] = stat(key)[0]
    return out


def _number(key: str, value: float) -> str:
    """Shares as percentages, errors in stars with two decimals, the rest as is."""
    if key.endswith(("accuracy", "within_one")):
        return f"{value:.2%}"
    return f"{value:.2f}" if key.endswith("mae") else f"{value:.4f}"


def markdown(summary: dict, target: str = "label") -> str:
    tests, validations = TEST_COLUMNS[target], VALIDATION_COLUMNS[target]
    headings = [f"{h} (mean ± std)" if k == "accuracy" else h for k, h in tests]
    headings += [h for _, h in validations]
    headings += ["wall s, first run", "wall s, mean", "s/epoch", "reviews/s", "parameters"]
    lines = ["| model | " + " | ".join(headings) + " |", "|---" * (len(headings) + 1) + "|"]
    for name, s in summary.items():
        cells = [f"{_number(k, s[k])} ± {_number(k, s[k + '_std'])}" for k, _ in tests[:1]]
        cells += [_number(k, s[k]) for k, _ in tests[1:]]
        cells += [_number(k, s[k]) if k in s else "–" for k, _ in validations]
        cells += [
            "–" if np.isnan(s["first_wall_seconds"]) else f"{s['first_wall_seconds']:.0f}",
            "–" if np.isnan(s["wall_seconds"]) else f"{s['wall_seconds']:.0f}",
            f"{s['seconds_per_epoch']:.0f}" if "seconds_per_epoch" in s else "–",
            f"{s['reviews_per_second']:,.0f}" if "reviews_per_second" in s else "–",
            f"{s['params']:,.0f}" if "params" in s else "–",
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", default=str(REPO.parent / "shared/data/aclImdb.tar.gz"))
    parser.add_argument("--models", default="tutorial,hybrid,baseline")
    parser.add_argument("--name", default="accuracy", help="results file: <date>-<name>")
    parser.add_argument("--train-limit", type=int)
    parser.add_argument("--test-limit", type=int)
    parser.add_argument("--target", choices=tuple(TEST_COLUMNS), default="label")
    parser.add_argument(
        "--reuse", action="store_true", help="keep complete runs of the same config (no --force)"
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()

    extra = ["--data", args.data, "--target", args.target]
    if args.train_limit:
        extra += ["--train-limit", str(args.train_limit)]
    if args.test_limit:
        extra += ["--test-limit", str(args.test_limit)]
    runs_root = REPO / "runs" / "bench"
    # A fresh home: the first run pays for extraction, tokenization and pretraining.
    home = runs_root / f"home-{args.name}"
    env = {**os.environ, "GRU_SENTIMENT_HOME": str(home)}
    results: dict[str, list[dict]] = {}
    for model in args.models.split(","):
        label = model.split("=", 1)[0]
        for seed in range(1, args.seeds + 1):
            run_dir = runs_root / f"{label}-seed{seed}"
            print(f"{label} seed {seed} ...", flush=True)
            metrics = train(model, seed, run_dir, extra, env, args.reuse)
            run = os.path.relpath(run_dir, REPO)  # results hold repo-relative paths
            results.setdefault(label, []).append({"seed": seed, "run": run, **metrics})
            for part, name in (("recurrent", "GRU branch"), ("ngram", "n-gram branch")):
                if part in metrics:  # a hybrid's parts on their own
                    row = {**metrics[part], "seed": seed, "wall_seconds": float("nan")}
                    results.setdefault(f"{label}'s {name} alone", []).append(row)
            print(
                f"  accuracy {metrics['accuracy']:.4f}, {metrics['wall_seconds']:.0f} s", flush=True
            )

            write_results(args, results, {})  # after every run: a killed benchmark keeps them

    from gru_sentiment.data.imdb import load_imdb

    test_texts = load_imdb(args.data, splits=("test",))["test"].texts[: args.test_limit]
    speeds = {
        name: reviews_per_second(REPO / rows[0]["run"], test_texts)
        for name, rows in results.items()
        if name in ("tutorial", "hybrid", "recurrent")
    }
    print(write_results(args, results, speeds))


def write_results(args, results: dict[str, list[dict]], speeds: dict[str, float]) -> str:
    """Write the JSON and markdown of the runs so far; the markdown table."""
    summary = {name: summarize(rows, args.target) for name, rows in results.items()}
    for name, rows in results.items():  # the first run of each model found nothing cached
        summary[name]["first_wall_seconds"] = rows[0]["wall_seconds"]
        if name in speeds:
            summary[name]["reviews_per_second"] = speeds[name]
    machine = {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "lscpu": lscpu(),
    }
    command = "python bench/accuracy.py " + " ".join(sys.argv[1:])
    report = {
        "date": date.today().isoformat(),
        "command": command,
        "machine": machine,
        "summary": summary,
        "runs": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{date.today().isoformat()}-{args.name}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(summary, args.target)
    stem.with_suffix(".md").write_text(
        f"`{command}` on {machine['cpus']} CPUs ({machine['lscpu'].get('Model name', '?')})\n\n"
        + table
    )
    return table


if __name__ == "__main__":
    main()
