"""Short texts made from long ones: a review cut to its first or last few sentences.

The hybrid's stack is fitted on validation reviews and such crops of them, so that the
weighting of its two views, and its probabilities, also hold for the one-line texts users
score (chosen on the cross-domain dev sets: bench/short_texts.py, docs/results.md)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MAX_SENTENCES = 3


def sentences(text: str) -> list[str]:
    """The sentences of a review (`<br />` is a space), split after . ! or ?."""
    return SENTENCE_END.split(text.replace("<br />", " ").strip())


def sentence_crops(texts: Sequence[str], seed: int) -> list[str]:
    """One crop per text: its first or last k sentences (k from 1 to MAX_SENTENCES,
    either end equally likely), drawn with `seed`."""
    rng = np.random.default_rng(seed)
    crops = []
    for text in texts:
        parts = sentences(text)
        k = int(rng.integers(1, MAX_SENTENCES + 1))
        crops.append(" ".join(parts[:k] if rng.random() < 0.5 else parts[-k:]))
    return crops
