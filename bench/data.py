"""Data-layer speed: loading all 100,000 IMDB reviews (after the one-time extraction) and
fitting the tokenizer + encoding the 50,000 labeled reviews.

    .venv/bin/python bench/data.py --data ../shared/data/aclImdb.tar.gz

Writes bench/results/<date>-data.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import date
from pathlib import Path

from gru_sentiment.data.imdb import load_imdb, resolve_imdb_root
from gru_sentiment.data.text import TextEncoder

REPO = Path(__file__).resolve().parents[1]


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, round(time.perf_counter() - started, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared/data/aclImdb.tar.gz"))
    parser.add_argument("--vocab-size", type=int, default=10_000)
    args = parser.parse_args()

    _, extract_seconds = timed(resolve_imdb_root, args.data)  # ~0 once cached
    corpus, load_seconds = timed(load_imdb, args.data)
    train, test = corpus["train"], corpus["test"]
    encoder, fit_seconds = timed(TextEncoder.fit, train.texts, args.vocab_size)
    _, encode_seconds = timed(encoder.encode, train.texts + test.texts)
    result = {
        "date": date.today().isoformat(),
        "cpus": os.cpu_count(),
        "reviews_loaded": sum(len(s) for s in corpus.splits.values()),
        "extract_or_cache_seconds": extract_seconds,
        "load_seconds": load_seconds,
        "tokenizer_fit_seconds": fit_seconds,
        "encode_50k_seconds": encode_seconds,
    }
    out = REPO / "bench" / "results" / f"{result['date']}-data.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
