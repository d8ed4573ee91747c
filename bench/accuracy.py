"""Accuracy and speed benchmark: presets against the linear baseline, same machine, same run.

    .venv/bin/python bench/accuracy.py --seeds 3 --data ../shared/data/aclImdb.tar.gz

Each (preset, seed) trains as its own `gru-sentiment train` process, timed wall-clock with
data preparation included. The hybrid's runs also report its recurrent branch alone (the
`recurrent` preset is exactly that branch, so it is not trained twice). Prediction speed is
the default model scoring the 25,000 test reviews through `SentimentModel.predict`.
Writes bench/results/<date>-accuracy.json and a markdown table beside it.
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


def train(preset: str, seed: int, run_dir: Path, extra: list[str]) -> dict:
    """Train one run in its own process; its metrics plus the wall-clock seconds."""
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
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=REPO)
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


def summarize(rows: list[dict]) -> dict:
    def stat(key: str) -> tuple[float, float]:
        values = np.array([r[key] for r in rows], float)
        return float(values.mean()), float(values.std())

    out = {"seeds": [r["seed"] for r in rows], "n_test": rows[0]["n_test"]}
    for key in ("accuracy", "roc_auc", "f1", "wall_seconds"):
        out[key], out[f"{key}_std"] = stat(key)
    for key in ("train_seconds", "seconds_per_epoch", "params"):
        if key in rows[0]:
            out[key] = stat(key)[0]
    return out


def markdown(summary: dict) -> str:
    lines = [
        "| model | test accuracy (mean ± std) | ROC-AUC | F1 | wall s (train+eval) "
        "| s/epoch | reviews/s | parameters |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, s in summary.items():
        wall = "–" if np.isnan(s["wall_seconds"]) else f"{s['wall_seconds']:.0f}"
        per_epoch = f"{s['seconds_per_epoch']:.0f}" if "seconds_per_epoch" in s else "–"
        speed = f"{s['reviews_per_second']:,.0f}" if "reviews_per_second" in s else "–"
        params = f"{s['params']:,.0f}" if "params" in s else "–"
        lines.append(
            f"| {name} | {s['accuracy']:.2%} ± {s['accuracy_std']:.2%} | {s['roc_auc']:.4f} "
            f"| {s['f1']:.4f} | {wall} | {per_epoch} | {speed} | {params} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", default=str(REPO.parent / "shared/data/aclImdb.tar.gz"))
    parser.add_argument("--presets", default="tutorial,hybrid,baseline")
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
    results: dict[str, list[dict]] = {}
    for preset in args.presets.split(","):
        for seed in range(1, args.seeds + 1):
            run_dir = runs_root / f"{preset}-seed{seed}"
            print(f"{preset} seed {seed} ...", flush=True)
            metrics = train(preset, seed, run_dir, extra)
            run = os.path.relpath(run_dir, REPO)  # results hold repo-relative paths
            results.setdefault(preset, []).append({"seed": seed, "run": run, **metrics})
            if "recurrent" in metrics:  # the hybrid's recurrent branch on its own
                branch = {**metrics["recurrent"], "seed": seed, "wall_seconds": float("nan")}
                results.setdefault("recurrent (hybrid's GRU branch)", []).append(branch)
            print(
                f"  accuracy {metrics['accuracy']:.4f}, {metrics['wall_seconds']:.0f} s", flush=True
            )

    summary = {name: summarize(rows) for name, rows in results.items()}
    from gru_sentiment.data.imdb import load_imdb

    test_texts = load_imdb(args.data, splits=("test",))["test"].texts[: args.test_limit]
    for name, rows in results.items():
        if name in ("tutorial", "hybrid"):
            summary[name]["reviews_per_second"] = reviews_per_second(
                Path(rows[0]["run"]), test_texts
            )
    machine = {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
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
    stem = args.out / f"{date.today().isoformat()}-accuracy"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    stem.with_suffix(".md").write_text(
        f"`{command}` on {machine['cpus']} CPUs\n\n" + markdown(summary)
    )
    print(markdown(summary))


if __name__ == "__main__":
    main()
