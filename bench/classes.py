"""Cost of many classes: the default preset on a synthetic corpus of 100,000 reviews with
20 classes against the same reviews with 2 classes, same machine, same run.

    .venv/bin/python bench/classes.py --rows 100000 --classes 20

Each review is filler words plus cue words of its class (20 classes); the binary corpus
labels the same reviews by the half of the classes they belong to, so both runs read the
same texts. Each training is its own `gru-sentiment train` process in a fresh
$GRU_SENTIMENT_HOME; wall-clock seconds and the peak resident memory of that process
(its own ru_maxrss, read by a wrapper process) are recorded. Writes
bench/results/<date>-classes.json with the CPU's model and flags.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
from accuracy import lscpu

REPO = Path(__file__).resolve().parents[1]
FILLER = [f"w{i}" for i in range(2_000)]  # shared by every class
# Runs a command and prints its peak resident memory in KiB (ru_maxrss of its children:
# the command alone, as this wrapper process waits for nothing else).
PEAK = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t)"
)


def write_corpus(path: Path, rows: int, classes: int, binary: bool, seed: int) -> None:
    """`rows` reviews of 20-80 words, a quarter of them cues of the review's class (50
    cue words a class); labels the class, or its half of the classes when `binary`."""
    rng = np.random.default_rng(seed)
    cues = [[f"c{c}x{i}" for i in range(50)] for c in range(classes)]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(rows):
            label = i % classes
            n = int(rng.integers(20, 80))
            words = np.where(
                rng.random(n) < 0.25, rng.choice(cues[label], n), rng.choice(FILLER, n)
            )
            writer.writerow([" ".join(words), int(label >= classes // 2) if binary else label])


def train(corpus: Path, out: Path, home: Path, extra: list[str]) -> dict:
    """One training process: its wall seconds and peak resident memory, and the run's
    metrics."""
    command = [sys.executable, "-m", "gru_sentiment", "train", "--data", str(corpus)]
    command += ["--out", str(out), *extra]
    env = {**os.environ, "GRU_SENTIMENT_HOME": str(home)}
    wrapper = [sys.executable, "-c", PEAK, *command]
    result = subprocess.run(wrapper, check=True, capture_output=True, text=True, env=env, cwd=REPO)
    peak_kib, seconds = result.stdout.split()
    metrics = json.loads((out / "metrics.json").read_text())
    return {
        "wall_seconds": round(float(seconds), 1),
        "peak_rss_mib": round(int(peak_kib) / 1024),
        "train_seconds": metrics["train_seconds"],
        "ngram_seconds": metrics.get("ngram_seconds"),
        "accuracy": metrics["accuracy"],
        "classes": len(metrics["classes"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--preset", default="hybrid")
    parser.add_argument("--epochs", type=int, default=1, help="the same for both runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()

    extra = ["--preset", args.preset, "--epochs", str(args.epochs), "--seed", str(args.seed)]
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, binary in (("binary", True), (f"{args.classes} classes", False)):
            corpus = Path(tmp) / f"{'binary' if binary else 'classes'}.csv"
            write_corpus(corpus, args.rows, args.classes, binary, args.seed)
            print(f"{name}: training ...", flush=True)
            home = Path(tmp) / f"home-{corpus.stem}"  # fresh: nothing cached
            found[name] = train(corpus, Path(tmp) / corpus.stem, home, extra)
            print(f"  {found[name]}", flush=True)
    binary, many = found["binary"], found[f"{args.classes} classes"]
    ratios = {
        key: round(many[key] / binary[key], 2)
        for key in ("wall_seconds", "peak_rss_mib", "train_seconds", "ngram_seconds")
        if binary.get(key)
    }
    report = {
        "date": date.today().isoformat(),
        "command": "python bench/classes.py " + " ".join(sys.argv[1:]),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "lscpu": lscpu()},
        "rows": args.rows,
        "runs": found,
        "ratio_many_to_binary": ratios,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{date.today().isoformat()}-classes.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(ratios))


if __name__ == "__main__":
    main()
