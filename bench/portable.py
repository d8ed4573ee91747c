"""The portable scorer (ONNX bundle: numpy + onnxruntime + tokenizers) against the run's
SentimentModel (Keras on TensorFlow), in one process, one after the other, on the same
test reviews. Writes bench/results/<date>-portable.json and a markdown table beside it.

    .venv/bin/python bench/portable.py --run runs/hybrid --data ../shared/data/aclImdb.tar.gz

- one review at a time: `predict([text])` on `--single` test reviews, latency per call;
- batches of 256: `probabilities` of `--reviews` test reviews, reviews per second;
- agreement: the largest |P(portable) - P(run)| over those reviews;
- install size: the files of every installed distribution that each needs (the
  dependency closure of `gru-sentiment` without extras, and of the portable set), read
  from this virtual environment's package records (an editable install counts none of
  the package's own files: they are the source tree, ~1 MB).

One-review figures are per `predict([text])` call, the first call at each new padded
width (a compilation, for Keras) included: read p50 / p90.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from importlib import metadata
from pathlib import Path

import numpy as np
from accuracy import lscpu  # bench/ is the script's folder, so its modules import

REPO = Path(__file__).resolve().parents[1]
PORTABLE = ("numpy", "tokenizers", "onnxruntime")  # with gru-sentiment itself, --no-deps


def closure(names: list[str]) -> dict[str, int]:
    """Bytes on disk of each installed distribution `names` need, themselves included
    (requirements with extras markers or for other platforms are skipped)."""
    seen: dict[str, int] = {}
    todo = list(names)
    while todo:
        name = re.split(r"[ ;<>=!~\[(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional requirement that is not installed
        files = [f.locate() for f in dist.files or []]
        seen[name] = sum(Path(f).stat().st_size for f in files if Path(f).is_file())
        for req in dist.requires or []:
            if "extra ==" not in req and _applies(req):
                todo.append(req)
    return seen


def _applies(requirement: str) -> bool:
    from packaging.requirements import Requirement

    marker = Requirement(requirement).marker
    return marker is None or marker.evaluate()


def timed(call, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="A complete run folder.")
    parser.add_argument("--data", required=True, help="The IMDB archive (test reviews).")
    parser.add_argument("--reviews", type=int, default=5000, help="Reviews scored in batches.")
    parser.add_argument("--single", type=int, default=300, help="Reviews scored one by one.")
    parser.add_argument("--name", default="portable", help="Result file name after the date.")
    args = parser.parse_args()

    from gru_sentiment.data.imdb import load_imdb
    from gru_sentiment.export.bundle import export_run
    from gru_sentiment.inference.model import SentimentModel
    from gru_sentiment.portable import BATCH, PortableModel

    test = load_imdb(args.data, splits=("test",), expected_counts=None).splits["test"]
    rng = np.random.default_rng(0)
    texts = [test.texts[i] for i in rng.permutation(len(test.texts))[: args.reviews]]
    run = SentimentModel.load(args.run)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        export_run(Path(args.run), "onnx", Path(tmp) / "bundle")
        export_seconds = time.perf_counter() - start
        portable = PortableModel.load(Path(tmp) / "bundle")
        bundle_bytes = sum(p.stat().st_size for p in (Path(tmp) / "bundle").rglob("*"))
        run.predict(texts[:8]), portable.predict(texts[:8])  # warm both up

        def batches(score):
            return lambda: [score(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]

        keras_batch = timed(batches(lambda t: run.score(t, run.cfg.text.keep)[0]), 1)[0]
        onnx_batch = timed(batches(portable.probabilities), 1)[0]
        expected = run.score(texts, run.cfg.text.keep)[0]
        difference = float(np.abs(portable.probabilities(texts) - expected).max())
        singles = texts[: args.single]
        keras_one = [timed(lambda t=t: run.predict([t]), 1)[0] for t in singles]
        onnx_one = [timed(lambda t=t: portable.predict([t]), 1)[0] for t in singles]

    full = closure(["gru-sentiment"])
    # pip install --no-deps gru-sentiment, then numpy, tokenizers and onnxruntime
    slim = closure(list(PORTABLE)) | {"gru-sentiment": full["gru-sentiment"]}

    result = {
        "command": "python bench/portable.py " + " ".join(sys.argv[1:]),
        "run": str(Path(args.run)),
        "preset": run.cfg.preset,
        "reviews_batched": len(texts),
        "reviews_single": len(singles),
        "max_abs_difference": difference,
        "export_seconds": round(export_seconds, 1),
        "bundle_mb": round(bundle_bytes / 1e6, 1),
        "model_keras_mb": round((Path(args.run) / "model.keras").stat().st_size / 1e6, 1),
        "batch_256": {
            "keras_reviews_per_s": round(len(texts) / keras_batch, 1),
            "portable_reviews_per_s": round(len(texts) / onnx_batch, 1),
            "portable_over_keras": round(keras_batch / onnx_batch, 2),
        },
        "single": {"keras": latency(keras_one), "portable": latency(onnx_one)},
        "install_mb": {
            "full": round(sum(full.values()) / 1e6, 1),
            "portable": round(sum(slim.values()) / 1e6, 1),
            "portable_packages": {k: round(v / 1e6, 1) for k, v in sorted(slim.items())},
        },
        "machine": {"python": platform.python_version(), **lscpu()},
    }
    out = REPO / "bench" / "results" / f"{date.today()}-{args.name}"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown_table(result))
    print(json.dumps(result, indent=2))


def latency(seconds: list[float]) -> dict:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p90_ms": round(ms[int(0.9 * len(ms))], 2),
        "reviews_per_s": round(len(ms) / (sum(ms) / 1000), 1),
    }


def markdown_table(result: dict) -> str:
    b, s = result["batch_256"], result["single"]
    table = [
        "| | SentimentModel (Keras, TF) | portable (ONNX Runtime) |",
        "|---|---|---|",
        f"| batches of 256, reviews/s | {b['keras_reviews_per_s']} | "
        f"{b['portable_reviews_per_s']} |",
        f"| one review, p50 / p90 ms | {s['keras']['p50_ms']} / {s['keras']['p90_ms']} | "
        f"{s['portable']['p50_ms']} / {s['portable']['p90_ms']} |",
        f"| install, MB | {result['install_mb']['full']} | {result['install_mb']['portable']} |",
    ]
    return "\n".join(table) + "\n"


if __name__ == "__main__":
    sys.exit(main())
