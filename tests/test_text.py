import numpy as np
import pytest

from gru_sentiment.data.text import PAD_ID, START_ID, UNK_ID, TextEncoder, fit_length, pad

TEXTS = ["Great movie, GREAT cast!", "A boring<br />movie.", "Don't watch it"]


def test_reserved_ids_and_top_words():
    enc = TextEncoder.fit(TEXTS, vocab_size=7)
    assert [enc.tokenizer.id_to_token(i) for i in range(4)] == [
        "<pad>",
        "<start>",
        "<unk>",
        "<unused>",
    ]
    assert enc.vocab_size == 7
    ids = enc.encode(["great movie zebra"])[0]
    assert ids[0] == START_ID
    assert enc.decode(ids) == "<start> great movie <unk>"  # 'great' and 'movie' are top words
    assert ids[-1] == UNK_ID


def test_normalisation_breaks_case_unicode_and_punctuation():
    enc = TextEncoder.fit(TEXTS, vocab_size=100)
    assert enc.tokens("ＧＲＥＡＴ<br /><br />Movie!") == ["great", "movie", "!"]
    assert enc.tokens("Don't") == ["don't"]


def test_save_and_load_round_trip(tmp_path):
    enc = TextEncoder.fit(TEXTS, vocab_size=100)
    enc.save(tmp_path / "tok.json")
    again = TextEncoder.load(tmp_path / "tok.json")
    assert [a.tolist() for a in again.encode(TEXTS)] == [a.tolist() for a in enc.encode(TEXTS)]


def test_padding_and_truncation_sides():
    seqs = [np.array([1, 5, 6, 7, 8]), np.array([1, 9])]
    assert pad(seqs, 4).tolist() == [[1, 5, 6, 7], [1, 9, PAD_ID, PAD_ID]]
    assert pad(seqs, 4, keep="tail").tolist()[0] == [5, 6, 7, 8]
    assert pad(seqs, 4, padding="pre").tolist()[1] == [0, 0, 1, 9]
    assert fit_length(seqs[0], 4, "head+tail").tolist() == [1, 5, 7, 8]
    with pytest.raises(ValueError, match="padding must be"):
        pad(seqs, 4, padding="middle")


def test_reserved_token_names_in_a_review_are_words_not_reserved_ids(tmp_path):
    enc = TextEncoder.fit(TEXTS, vocab_size=100)
    enc.save(tmp_path / "tok.json")
    for encoder in (enc, TextEncoder.load(tmp_path / "tok.json")):
        ids = encoder.encode(["great <pad> movie <start>"])[0]
        assert ids[0] == START_ID and PAD_ID not in ids and START_ID not in ids[1:]
