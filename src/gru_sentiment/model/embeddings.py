"""Starting points for the embedding layer: a user's word-vector file (GloVe, fastText,
word2vec), or word2vec trained on the unlabeled reviews (gensim).

The 50,000 unlabeled IMDB reviews carry much of what a small labeled set cannot teach
about word meaning; the embedding starts from these vectors instead of noise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..data.text import TextEncoder
from ..errors import DataError


def read_vectors(path: str | Path, limit: int | None = None):
    """gensim KeyedVectors of a word-vector file: word2vec / fastText text (a "count dim"
    header), GloVe (no header) or binary word2vec (`.bin`); `limit`: the first words only."""
    from gensim.models import KeyedVectors

    path = Path(path)
    if not path.is_file():
        raise DataError(f"vectors file does not exist: {path}")
    binary = path.suffix.lower() == ".bin"
    header = False
    if not binary:
        header = _check_text_vectors(path, limit)
    try:
        return KeyedVectors.load_word2vec_format(
            path, binary=binary, no_header=not header, limit=limit, unicode_errors="replace"
        )
    except (ValueError, EOFError, UnicodeDecodeError) as err:
        raise DataError(
            f"{path} is not a word-vector file ('word v1 v2 ...' lines): {err}"
        ) from err


def _check_text_vectors(path: Path, limit: int | None) -> bool:
    """Whether a text vector file starts with a "count dim" header; raises DataError on a
    line whose number of values differs from the first (gensim would pad it silently)."""
    dim, header = None, False
    with path.open(encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            parts = line.rstrip().split(" ")
            if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                header = True
                continue
            dim = dim or len(parts) - 1
            if len(parts) - 1 != dim:
                raise DataError(f"{path}:{number}: {len(parts) - 1} values, expected {dim}")
            if limit is not None and number > limit:
                break
    if not dim:
        raise DataError(f"{path} holds no vectors (expected 'word v1 v2 ...' lines)")
    return header


def vector_dim(path: str | Path) -> int:
    """Dimension of the vectors in a word-vector file (reads its first vector only)."""
    return read_vectors(path, limit=1).vector_size


def embedding_matrix(
    path: str | Path, encoder: TextEncoder, vocab_size: int, seed: int = 0
) -> tuple[np.ndarray, float]:
    """(vocab_size, dim) float32 matrix for the encoder's vocabulary (the model's
    `vocab_size` rows may exceed the words a small corpus has), and the share of the
    vocabulary found in the file. Words missing from the file keep a small random vector;
    the padding row is zero."""
    vectors = read_vectors(path)
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0, 0.05, (vocab_size, vectors.vector_size)).astype(np.float32)
    found = 0
    for word, index in encoder.tokenizer.get_vocab().items():
        if word in vectors.key_to_index and index < vocab_size:
            matrix[index] = vectors[word]
            found += 1
    matrix[0] = 0.0
    return matrix, found / max(1, encoder.vocab_size - 4)


def word2vec_matrix(
    seqs: Sequence[np.ndarray],
    vocab_size: int,
    dim: int,
    epochs: int = 3,
    seed: int = 0,
    log: Callable[[str], object] = print,
) -> np.ndarray:
    """(vocab_size, dim) float32 embedding from word2vec (CBOW) trained on `seqs`, the
    already-encoded texts. Ids stand in for words, so no second tokenisation is needed;
    reserved ids and words word2vec never saw keep a small random vector (padding: 0).
    `log` gets one line per epoch (words/s), so a long training shows progress."""
    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec

    class Progress(CallbackAny2Vec):
        def on_epoch_begin(self, model):
            self.started = time.perf_counter()

        def on_epoch_end(self, model):
            self.epoch = getattr(self, "epoch", 0) + 1
            seconds = time.perf_counter() - self.started
            words = model.corpus_total_words
            log(f"word2vec epoch {self.epoch}/{epochs}: {words / seconds:,.0f} words/s")

    sentences = [[str(i) for i in seq[1:]] for seq in seqs]  # skip the start token
    model = Word2Vec(
        sentences,
        vector_size=dim,
        window=5,
        min_count=1,
        workers=2,
        epochs=epochs,
        seed=seed,
        callbacks=[Progress()],
    )
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0, 0.05, (vocab_size, dim)).astype(np.float32)
    for word, index in model.wv.key_to_index.items():
        matrix[int(word)] = model.wv.vectors[index]
    matrix[0] = 0.0
    return matrix
