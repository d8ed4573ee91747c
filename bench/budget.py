"""The time budget of the main job: `make run` on a fresh machine and with its caches, then
prediction speed of the run it made, on this machine.

    .venv/bin/python bench/budget.py --data ../shared/data/aclImdb.tar.gz

1. `make run` with an empty $GRU_SENTIMENT_HOME: extraction, tokenization, word2vec and
   the n-gram teacher all computed (what a fresh machine pays, the install aside).
2. `make run` again with that home and the run folder removed: the caches reused, the
   model trained again (the 10-minute target of the default preset).
3. `SentimentModel.predict` on the test reviews, each time on a freshly loaded model
   (bench/accuracy.py's `reviews_per_second`), `--predictions` times.

Writes bench/results/<date>-<name>.json and a markdown table beside it, with the CPU's
model and flags. Run it on an otherwise idle machine: two trainings sharing 2 cores
slow each other several-fold.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from accuracy import lscpu, reviews_per_second  # noqa: E402

RUN = REPO / "runs" / "hybrid"  # where `make run` writes the default preset's run


def make_run(data: str, home: Path) -> float:
    """Wall seconds of `make run` (training the default preset into RUN) with `home`."""
    shutil.rmtree(RUN, ignore_errors=True)
    env = {**os.environ, "GRU_SENTIMENT_HOME": str(home)}
    started = time.perf_counter()
    subprocess.run(["make", "run", f"DATA={data}"], cwd=REPO, env=env, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared/data/aclImdb.tar.gz"))
    parser.add_argument("--predictions", type=int, default=3, help="predict measurements")
    parser.add_argument("--name", default="budget", help="results file: <date>-<name>")
    args = parser.parse_args()
    data = os.path.relpath(Path(args.data).resolve(), REPO)  # as the Makefile's default

    with tempfile.TemporaryDirectory(prefix="gru-sentiment-home-") as home:
        fresh = make_run(data, Path(home))
        cached = make_run(data, Path(home))

    from gru_sentiment.data.imdb import load_imdb

    texts = load_imdb(args.data, splits=("test",))["test"].texts
    speeds = [reviews_per_second(RUN, texts) for _ in range(args.predictions)]
    metrics = json.loads((RUN / "metrics.json").read_text())
    report = {
        "command": "python bench/budget.py " + " ".join(sys.argv[1:]),
        "data": data,
        "make_run_fresh_seconds": round(fresh, 1),
        "make_run_cached_seconds": round(cached, 1),
        "predict_reviews_per_second": [round(s) for s in speeds],
        "test_reviews": len(texts),
        "accuracy": metrics["accuracy"],
        "cpus": os.cpu_count(),
        "lscpu": lscpu(),
    }
    out = REPO / "bench" / "results" / f"{date.today()}-{args.name}"
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    table = "\n".join(
        [
            "| measure | value | target |",
            "|---|---|---|",
            f"| `make run`, fresh caches | {fresh / 60:.1f} min | ≤ 25 min |",
            f"| `make run`, caches reused | {cached / 60:.1f} min | ≤ 10 min |",
            f"| predict, reviews/s ({len(texts):,} test reviews) | "
            f"{', '.join(f'{s:,.0f}' for s in speeds)} | ≥ 1,500 |",
            f"| test accuracy of the run | {metrics['accuracy']:.2%} | |",
            "",
            f"CPU: {report['lscpu'].get('Model name')}, {os.cpu_count()} cores.",
        ]
    )
    out.with_suffix(".md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
