"""The hybrid's n-gram branch: hashed n-grams of token ids and the NB logistic model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gru_sentiment.errors import RunError
from gru_sentiment.model.linear import NBLogistic, ngram_features


def distinct_ngrams(seq: list[int], ngram_max: int) -> int:
    return len(
        {tuple(seq[i : i + n]) for n in range(1, ngram_max + 1) for i in range(len(seq) - n + 1)}
    )


def test_ngram_features_are_binary_and_count_each_distinct_ngram_once():
    seqs = [np.array(s, np.int32) for s in ([1, 7, 7, 7, 7], [1, 5, 6, 5, 6, 5], [1], [1, 9])]
    x = ngram_features(seqs, 3, 2**20)
    assert x.shape == (4, 2**20)
    assert set(x.data) == {1.0}
    assert [x[i].nnz for i in range(4)] == [distinct_ngrams(s.tolist(), 3) for s in seqs]


def test_ngram_features_never_mix_neighbouring_sequences():
    rng = np.random.default_rng(0)
    seqs = [np.r_[1, rng.integers(4, 50, rng.integers(0, 12))].astype(np.int32) for _ in range(30)]
    together = ngram_features(seqs, 3, 2**16).toarray()
    alone = np.vstack([ngram_features([s], 3, 2**16).toarray() for s in seqs])
    np.testing.assert_array_equal(together, alone)


def test_ngram_features_see_word_order():
    forward, backward = ngram_features([np.array([1, 5, 6]), np.array([1, 6, 5])], 2, 2**20)
    assert (forward != backward).nnz > 0  # same unigrams, different bigrams
    unigrams = ngram_features([np.array([1, 5, 6]), np.array([1, 6, 5])], 1, 2**20)
    assert (unigrams[0] != unigrams[1]).nnz == 0


def test_n_features_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        ngram_features([np.array([1, 2])], 3, 1000)


def test_nb_logistic_learns_a_cue_and_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    labels = np.arange(200) % 2
    # id 10 in positive sequences, 11 in negative ones, among random filler words
    seqs = [np.r_[1, rng.integers(20, 200, 30), 10 if y else 11].astype(np.int32) for y in labels]
    model = NBLogistic.fit(seqs, labels, n_features=2**16)
    assert ((model.logits(seqs) > 0) == labels).mean() == 1.0
    model.save(tmp_path)
    again = NBLogistic.load(tmp_path)
    np.testing.assert_array_equal(again.logits(seqs), model.logits(seqs))


def test_weights_of_another_format_are_refused(tmp_path):
    NBLogistic(np.zeros(16, np.float32), 0.0, 3, 16).save(tmp_path)
    spec = json.loads((tmp_path / "linear.json").read_text())
    del spec["features"]  # what runs of the text-hashing version wrote
    (tmp_path / "linear.json").write_text(json.dumps(spec))
    with pytest.raises(RunError, match="train the run again"):
        NBLogistic.load(tmp_path)


def test_ngrams_longer_than_the_whole_batch_are_simply_absent():
    x = ngram_features([np.array([1, 5], np.int32)], 4, 2**16)
    assert x.nnz == distinct_ngrams([1, 5], 4)
