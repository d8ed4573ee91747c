"""Exploratory data analysis: the tutorial's checks plus what truncation and the
vocabulary size throw away. Numbers go to `eda.json`, figures to PNGs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from ..data.corpus import Corpus
from ..data.text import UNK_ID, TextEncoder
from ..io.files import write_json
from . import plots

MAX_CLASSES_SHOWN = 8  # classes listed by format_table


def describe(corpus: Corpus, out: Path, max_len: int = 200, vocab_size: int = 10_000) -> dict:
    """Compute the EDA of `corpus` (vocabulary fitted on train only), write it to `out`."""
    train = corpus["train"]
    encoder = TextEncoder.fit(train.texts, vocab_size)
    ids = encoder.encode(train.texts)
    lengths = np.array([len(seq) - 1 for seq in ids])  # (n,) words, start token excluded
    unknown = sum(int((seq == UNK_ID).sum()) for seq in ids)

    classes = corpus.classes  # the corpus's own (IMDB: negative, positive)
    labeled = {name: s for name, s in corpus.splits.items() if name != "unsup"}
    class_counts = {
        name: [int((s.labels == label).sum()) for label in range(len(classes))]
        for name, s in labeled.items()
    }
    ratings = {
        classes[label]: {
            int(r): int(c) for r, c in sorted(Counter(train.ratings[train.labels == label]).items())
        }
        for label in range(len(classes))
    }
    example = 0
    summary = {
        "source": corpus.source,
        "split_counts": {name: len(s) for name, s in corpus.splits.items()},
        "classes": list(classes),
        "class_counts": {n: dict(zip(classes, c, strict=True)) for n, c in class_counts.items()},
        "skipped": dict(corpus.skipped),
        "max_len": max_len,
        "vocab_size": vocab_size,
        "length_tokens": {
            "mean": round(float(lengths.mean()), 2),
            "median": float(np.median(lengths)),
            "p90": float(np.percentile(lengths, 90)),
            "max": int(lengths.max()),
        },
        "share_longer_than_max_len": round(float((lengths + 1 > max_len).mean()), 4),
        "share_tokens_dropped_by_truncation": round(
            float(np.maximum(lengths + 1 - max_len, 0).sum() / (lengths + 1).sum()), 4
        ),
        "share_unknown_tokens": round(unknown / float((lengths + 1).sum()), 4),
        "ratings_by_label": ratings,
        "example": {
            "id": train.ids[example],
            "label": classes[int(train.labels[example])],
            "decoded": encoder.decode(ids[example][:80]),
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    plots.class_balance(class_counts, out / "class_balance.png", classes)
    plots.length_histogram(lengths, max_len, out / "lengths.png")
    plots.rating_bars(ratings, out / "ratings.png")
    write_json(out / "eda.json", summary)
    return summary


def format_table(summary: dict) -> str:
    """A short plain-text table of the headline numbers."""
    lengths = summary["length_tokens"]
    rows = [
        *(f"{name:<10} {n:>8,} reviews" for name, n in summary["split_counts"].items()),
        _classes_row(summary["class_counts"].get("train", {})),
        f"{'length':<10} mean {lengths['mean']:.0f}, median {lengths['median']:.0f}, "
        f"p90 {lengths['p90']:.0f}, max {lengths['max']}",
        f"{'> max_len':<10} {summary['share_longer_than_max_len']:.1%} of reviews "
        f"(max_len={summary['max_len']}), "
        f"{summary['share_tokens_dropped_by_truncation']:.1%} of tokens dropped",
        f"{'unknown':<10} {summary['share_unknown_tokens']:.1%} of tokens "
        f"(vocab_size={summary['vocab_size']:,})",
        f"{'example':<10} [{summary['example']['label']}] {summary['example']['decoded'][:150]}",
    ]
    return "\n".join(rows)


def _classes_row(counts: dict[str, int], shown: int = MAX_CLASSES_SHOWN) -> str:
    """Reviews per class in train, the first `shown` classes (a corpus may have hundreds)."""
    listed = ", ".join(f"{name} {n:,}" for name, n in list(counts.items())[:shown])
    more = f", ... ({len(counts)} classes)" if len(counts) > shown else ""
    return f"{'classes':<10} {listed}{more} (train)"
