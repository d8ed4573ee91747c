"""Word vectors pretrained on unlabeled text (word2vec, gensim) for the embedding layer.

The 50,000 unlabeled IMDB reviews carry most of what a small labeled set cannot teach
about word meaning; the embedding starts from these vectors instead of noise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def word2vec_matrix(
    seqs: Sequence[np.ndarray], vocab_size: int, dim: int, epochs: int = 3, seed: int = 0
) -> np.ndarray:
    """(vocab_size, dim) float32 embedding from word2vec (CBOW) trained on `seqs`, the
    already-encoded texts. Ids stand in for words, so no second tokenisation is needed;
    reserved ids and words word2vec never saw keep a small random vector (padding: 0)."""
    from gensim.models import Word2Vec

    sentences = [[str(i) for i in seq[1:]] for seq in seqs]  # skip the start token
    model = Word2Vec(
        sentences, vector_size=dim, window=5, min_count=1, workers=2, epochs=epochs, seed=seed
    )
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0, 0.05, (vocab_size, dim)).astype(np.float32)
    for word, index in model.wv.key_to_index.items():
        matrix[int(word)] = model.wv.vectors[index]
    matrix[0] = 0.0
    return matrix
