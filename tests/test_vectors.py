import numpy as np
import pytest

from gru_sentiment.data.text import TextEncoder
from gru_sentiment.errors import DataError
from gru_sentiment.model.embeddings import embedding_matrix, word2vec_matrix

TEXTS = ["good film", "bad film", "good acting, bad plot"]


def test_text_vectors_fill_known_words(tmp_path):
    encoder = TextEncoder.fit(TEXTS, vocab_size=20)
    path = tmp_path / "v.vec"
    path.write_text("3 2\ngood 1 2\nbad -1 -2\nzebra 9 9\n")
    matrix, coverage = embedding_matrix(path, encoder, vocab_size=20)
    vocab = encoder.tokenizer.get_vocab()
    assert matrix.shape == (20, 2) and not matrix[0].any()
    assert matrix[vocab["good"]].tolist() == [1, 2] and matrix[vocab["bad"]].tolist() == [-1, -2]
    assert coverage == pytest.approx(2 / 6)  # 6 words besides the reserved ids


def test_ragged_vectors_file_is_an_error(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("good 1 2\nbad 1\n")
    encoder = TextEncoder.fit(TEXTS, vocab_size=20)
    with pytest.raises(DataError, match="expected 2"):
        embedding_matrix(path, encoder, vocab_size=20)


def test_word2vec_puts_similar_contexts_close():
    rng = np.random.default_rng(0)
    texts = [
        f"the {rng.choice(['good', 'great'])} movie was {rng.choice(['fine', 'nice'])}"
        for _ in range(300)
    ]
    encoder = TextEncoder.fit(texts, vocab_size=12)
    lines = []
    matrix = word2vec_matrix(encoder.encode(texts), 12, dim=8, epochs=5, log=lines.append)
    assert [line.split(":")[0] for line in lines] == [f"word2vec epoch {i}/5" for i in range(1, 6)]
    assert all(line.endswith("words/s") for line in lines)
    vocab = encoder.tokenizer.get_vocab()

    def cos(a, b):
        return a @ b / np.linalg.norm(a) / np.linalg.norm(b)

    good, great, the = (matrix[vocab[w]] for w in ("good", "great", "the"))
    assert matrix.shape == (12, 8) and not matrix[0].any()
    assert cos(good, great) > cos(good, the)
