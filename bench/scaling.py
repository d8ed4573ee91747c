"""Scaling benchmark: the same reviews scored by local `predict` and by `predict --engine
ray` with 1 and 2 workers, in one run, on one machine. Writes
bench/results/<date>-scaling.json and a markdown table beside it.

    .venv/bin/python bench/scaling.py --run runs/hybrid --data ../shared/data/aclImdb.tar.gz

The input is the text of every review of the archive (train, test and unlabeled: 100,000
for IMDB) in one JSONL file; every command writes JSONL (local: a file, ray: a folder of
shards), so the engines differ, not the formats. Each command is its own process, timed
wall-clock from start to exit (Python, TensorFlow and Ray starting, the model loading
and the writing included); its memory is the peak, sampled every 0.5 s, of the summed
proportional set size (PSS: shared pages split between the processes that map them) of
the command and every process it started (Ray's, with its object store, included). The
ray runs start a local Ray of this machine's cores; their probabilities are checked
against local predict's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import psutil
from accuracy import lscpu  # bench/ is the script's folder, so its modules import

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "gru_sentiment"]
SAMPLE_SECONDS = 0.5


def write_reviews(data: str, path: Path, limit: int | None) -> int:
    """Every review's text (train, test, unlabeled) as JSONL; how many."""
    from gru_sentiment.data.imdb import load_imdb

    # Any counts (a partial copy shows in the number reported), so that a small archive
    # checks this script quickly.
    corpus = load_imdb(data, splits=("train", "test", "unsup"), expected_counts=None)
    texts = [text for split in corpus.splits.values() for text in split.texts][:limit]
    with path.open("w", encoding="utf-8") as f:
        for text in texts:
            f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    return len(texts)


def tree_pss(process: psutil.Process) -> int:
    """Bytes: the PSS of `process` and all its descendants now."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):  # ended meanwhile
            continue
    return total


def measure(command: list[str]) -> dict:
    """Run `command`; its wall-clock seconds and peak memory (see the module doc)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
    watched, peak, done = psutil.Process(process.pid), 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(SAMPLE_SECONDS):
            try:
                peak = max(peak, tree_pss(watched))
            except psutil.NoSuchProcess:
                return

    sampler = threading.Thread(target=sample)
    sampler.start()
    code = process.wait()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if code:
        raise SystemExit(f"{' '.join(command)} failed with status {code}")
    return {"seconds": round(seconds, 1), "peak_memory_mib": round(peak / 2**20)}


def probabilities(path: Path) -> list[float | None]:
    files = sorted(path.glob("part-*")) if path.is_dir() else [path]
    return [json.loads(line)["probability"] for f in files for line in f.open(encoding="utf-8")]


def markdown(rows: list[dict]) -> str:
    lines = [
        "| engine | workers | reviews/s | × local | seconds | peak memory, MiB |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['engine']} | {row['workers'] or '–'} | {row['reviews_per_second']:,.0f} "
            f"| {row['ratio_to_local']:.2f} | {row['seconds']:.0f} | {row['peak_memory_mib']:,} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=REPO / "runs" / "hybrid")
    parser.add_argument("--data", default=str(REPO.parent / "shared/data/aclImdb.tar.gz"))
    parser.add_argument("--limit", type=int, help="score only this many reviews")
    parser.add_argument("--workers", default="1,2", help="ray runs: workers, comma-separated")
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--name", default="scaling", help="results file: <date>-<name>")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    if not (args.run / "manifest.json").is_file():
        raise SystemExit(f"{args.run} is not a complete run: train it first (make run)")

    with tempfile.TemporaryDirectory(prefix="scaling-") as tmp:
        reviews = Path(tmp) / "reviews.jsonl"
        n = write_reviews(args.data, reviews, args.limit)
        print(f"{n:,} reviews", flush=True)
        predict = [*CLI, "predict", str(args.run), "--input", str(reviews)]
        predict += ["--batch", str(args.batch)]
        runs = [("local", None, [*predict, "--output", str(Path(tmp) / "local.jsonl")])]
        for workers in map(int, args.workers.split(",")):
            ray = ["--engine", "ray", "--workers", str(workers), "--format", "jsonl"]
            runs.append(("ray", workers, [*predict, *ray, "--output", f"{tmp}/ray-{workers}"]))
        rows = []
        for engine, workers, command in runs:
            print(f"{engine} {workers or ''} ...", flush=True)
            row = {"engine": engine, "workers": workers, **measure(command)}
            row["reviews_per_second"] = round(n / row["seconds"], 1)
            rows.append(row)
            print(f"  {row}", flush=True)
        expected = probabilities(Path(tmp) / "local.jsonl")
        for row in rows:
            row["ratio_to_local"] = round(
                row["reviews_per_second"] / rows[0]["reviews_per_second"], 2
            )
            if row["workers"]:  # the same numbers, whatever the engine
                found = probabilities(Path(tmp) / f"ray-{row['workers']}")
                assert len(found) == len(expected)
                row["max_probability_difference"] = max(
                    (abs(a - b) for a, b in zip(found, expected, strict=True) if a is not None),
                    default=0.0,
                )

    machine = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "lscpu": lscpu(),
    }
    command = "python bench/scaling.py " + " ".join(sys.argv[1:])
    report = {
        "date": date.today().isoformat(),
        "command": command,
        "machine": machine,
        "reviews": n,
        "run": os.path.relpath(args.run.resolve(), REPO),
        "batch": args.batch,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{date.today().isoformat()}-{args.name}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(rows)
    header = f"`{command}`: {n:,} reviews on {machine['cpus']} CPUs "
    header += f"({machine['lscpu'].get('Model name', '?')})\n\n"
    stem.with_suffix(".md").write_text(header + table)
    print(table)


if __name__ == "__main__":
    main()
