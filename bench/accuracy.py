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


def train(model: str, seed: int, run_dir: Path, extra: list[str], env: dict) -> dict:
    """Train one run of `model` (see the module doc) in its own process; its metrics plus
    the wall-clock seconds."""
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
        "--force",
        *extra,
    ]
    if preset == "baseline":
        command = [*CLI, "baseline", "--seed", str(seed), "--out", str(run_dir), *extra]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=REPO, env=env)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["wall_seconds"] = round(time.perf_counter() - started, 1)
    return metrics


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


def summarize(rows: list[dict]) -> dict:
    def stat(key: str) -> tuple[float, float]:
        values = np.array([r[key] for r in rows], float)
        return float(values.mean()), float(values.std())

    out = {"seeds": [r["seed"] for r in rows], "n_test": rows[0]["n_test"]}
    for key in ("accuracy", "roc_auc", "f1", "wall_seconds"):
        out[key], out[f"{key}_std"] = stat(key)
    for key in ("validation_accuracy", "train_seconds", "seconds_per_epoch", "params"):
        if key in rows[0]:
            out[key] = stat(key)[0]
    return out


def markdown(summary: dict) -> str:
    lines = [
        "| model | test accuracy (mean ± std) | validation accuracy | ROC-AUC | F1 "
        "| wall s, first run | wall s, mean | s/epoch | reviews/s | parameters |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in summary.items():
        wall = "–" if np.isnan(s["wall_seconds"]) else f"{s['wall_seconds']:.0f}"
        first = "–" if np.isnan(s["first_wall_seconds"]) else f"{s['first_wall_seconds']:.0f}"
        val = f"{s['validation_accuracy']:.2%}" if "validation_accuracy" in s else "–"
        per_epoch = f"{s['seconds_per_epoch']:.0f}" if "seconds_per_epoch" in s else "–"
        speed = f"{s['reviews_per_second']:,.0f}" if "reviews_per_second" in s else "–"
        params = f"{s['params']:,.0f}" if "params" in s else "–"
        lines.append(
            f"| {name} | {s['accuracy']:.2%} ± {s['accuracy_std']:.2%} | {val} "
            f"| {s['roc_auc']:.4f} | {s['f1']:.4f} | {first} | {wall} | {per_epoch} | {speed} "
            f"| {params} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", default=str(REPO.parent / "shared/data/aclImdb.tar.gz"))
    parser.add_argument("--models", default="tutorial,hybrid,baseline")
    parser.add_argument("--name", default="accuracy", help="results file: <date>-<name>")
    parser.add_argument("--train-limit", type=int)
    parser.add_argument("--test-limit", type=int)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()

    extra = ["--data", args.data]
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
            metrics = train(model, seed, run_dir, extra, env)
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
    summary = {name: summarize(rows) for name, rows in results.items()}
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
    table = markdown(summary)
    stem.with_suffix(".md").write_text(
        f"`{command}` on {machine['cpus']} CPUs ({machine['lscpu'].get('Model name', '?')})\n\n"
        + table
    )
    return table


if __name__ == "__main__":
    main()
