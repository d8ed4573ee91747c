"""Pretrained word vectors (GloVe / fastText / word2vec text format) for the embedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import DataError
from .text import TextEncoder


def embedding_matrix(
    path: str | Path, encoder: TextEncoder, vocab_size: int, seed: int = 0
) -> tuple[np.ndarray, float]:
    """(vocab_size, dim) float32 matrix for the encoder's vocabulary (the model's
    `vocab_size` rows may exceed the words a small corpus has), and the share of the
    vocabulary found in the file. Words missing from the file keep a small random vector;
    the padding row is zero."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"vectors file does not exist: {path}")
    vocab = encoder.tokenizer.get_vocab()  # word -> id
    found: dict[int, np.ndarray] = {}
    dim = None
    with path.open(encoding="utf-8", errors="replace") as f:
        for line_no, line in enumerate(f):
            parts = line.rstrip().split(" ")
            if line_no == 0 and len(parts) == 2 and all(p.isdigit() for p in parts):
                continue  # fastText / word2vec header: "<count> <dim>"
            if len(parts) < 2:
                continue
            if dim is None:
                dim = len(parts) - 1
            if len(parts) - 1 != dim:
                raise DataError(f"{path}:{line_no + 1}: {len(parts) - 1} values, expected {dim}")
            index = vocab.get(parts[0])
            if index is not None and index not in found:
                found[index] = np.asarray(parts[1:], np.float32)
    if dim is None:
        raise DataError(f"{path} holds no vectors (expected 'word v1 v2 ...' lines)")
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0, 0.05, (vocab_size, dim)).astype(np.float32)
    matrix[0] = 0.0
    for index, vector in found.items():
        matrix[index] = vector
    return matrix, len(found) / max(1, encoder.vocab_size - 4)
