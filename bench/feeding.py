"""How batches reach `fit`: Keras' enqueuer threads (what `PaddedBatches` uses) against
tf.data's autotuned prefetch (Keras' path for a PyDataset with one worker). Trains the
tutorial's masked, bucketed network on synthetic reviews of IMDB-like lengths, one process
per feeding, one after the other, and records each epoch's seconds and how long its first
batch was waited for. Writes bench/results/<date>-feeding.json and a markdown table.

    .venv/bin/python bench/feeding.py [--epochs 8] [--reviews 3200]

Run it on an otherwise idle machine: the waits are what it measures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from accuracy import lscpu  # bench/ is the script's folder, so its modules import

REPO = Path(__file__).resolve().parents[1]
FEEDINGS = {"tf.data prefetch": 1, "enqueuer threads": 2}  # name: PyDataset workers


def train(workers: int, epochs: int, reviews: int) -> list[dict]:
    """Per epoch: {"seconds", "first_batch_wait"}, training with `workers` feeders."""
    import keras

    from gru_sentiment.config import PRESETS
    from gru_sentiment.model.batching import PaddedBatches
    from gru_sentiment.model.networks import build_model, compile_model

    cfg = PRESETS["tutorial"].set({"network.mask": True, "fit.bucket": True})
    rng = np.random.default_rng(0)
    # IMDB's review lengths are roughly log-normal around 230 tokens
    lengths = np.clip(rng.lognormal(np.log(230), 0.7, reviews).astype(int), 10, cfg.text.max_len)
    seqs = [rng.integers(1, cfg.text.vocab_size, n).astype(np.int32) for n in lengths]
    labels = rng.integers(0, 2, reviews).astype(np.float32)
    batches = PaddedBatches(
        seqs, labels, cfg.fit.batch_size, cfg.text.max_len, bucket=True, shuffle=True
    )
    batches.workers = workers
    model = build_model(cfg)
    compile_model(model, cfg, len(batches))

    class Clock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs: list[dict] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start, self.wait = time.perf_counter(), None

        def on_train_batch_begin(self, batch, logs=None):
            if self.wait is None:
                self.wait = time.perf_counter() - self.start

        def on_epoch_end(self, epoch, logs=None):
            seconds = round(time.perf_counter() - self.start, 2)
            self.epochs.append({"seconds": seconds, "first_batch_wait": round(self.wait, 2)})

    clock = Clock()
    model.fit(batches, epochs=epochs, verbose=0, shuffle=False, callbacks=[clock])
    return clock.epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--reviews", type=int, default=3200)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)  # one child process
    args = parser.parse_args()
    if args.workers:
        print(json.dumps(train(args.workers, args.epochs, args.reviews)))
        return
    result = {"command": " ".join(["python", "bench/feeding.py", *sys.argv[1:]])}
    result |= {"cpu": lscpu(), "epochs": args.epochs, "reviews": args.reviews, "feedings": {}}
    for name, workers in FEEDINGS.items():
        child = [sys.executable, __file__, *sys.argv[1:], "--workers", str(workers)]
        out = subprocess.run(child, capture_output=True, text=True, check=True).stdout
        result["feedings"][name] = json.loads(out.strip().splitlines()[-1])
    table = [
        f"`{result['command']}` on {result['cpu'].get('Model name', '?')}: the first epoch "
        "(tracing) left out.",
        "",
        "| feeding | seconds, epochs 2+ | first-batch wait, total | epochs that waited > 1 s |",
        "|---|---|---|---|",
    ]
    for name, epochs in result["feedings"].items():
        later = epochs[1:]
        seconds = sum(e["seconds"] for e in later)
        waits = [e["first_batch_wait"] for e in later]
        table.append(
            f"| {name} | {seconds:.1f} | {sum(waits):.1f} | "
            f"{sum(w > 1 for w in waits)} of {len(later)} |"
        )
    out = REPO / "bench" / "results" / f"{date.today()}-feeding"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
