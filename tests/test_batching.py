import numpy as np
import pytest

from gru_sentiment.data.text import pad
from gru_sentiment.model.batching import LENGTH_STEP, PaddedBatches, predict_proba


@pytest.fixture
def seqs():
    rng = np.random.default_rng(0)
    return [rng.integers(4, 50, size=n).astype(np.int32) for n in rng.integers(1, 120, 203)]


def gather(batches):
    """Every review's padded row and label, keyed by its index in the input."""
    rows, labels = {}, {}
    for index, (ids, y) in zip(
        batches.batches, (batches[i] for i in range(len(batches))), strict=True
    ):
        for r, i in enumerate(index):
            rows[int(i)], labels[int(i)] = ids[r], y[r]
    return rows, labels


@pytest.mark.parametrize("shuffle", [False, True])
def test_bucketing_keeps_each_label_with_its_review(seqs, shuffle):
    labels = np.arange(len(seqs)) % 2
    batches = PaddedBatches(seqs, labels, 16, 100, bucket=True, shuffle=shuffle, seed=3)
    rows, got = gather(batches)
    assert sorted(rows) == list(range(len(seqs)))
    for i, seq in enumerate(seqs):
        kept = seq[:100]
        assert got[i] == labels[i]
        assert rows[i][: len(kept)].tolist() == kept.tolist()  # right-padded
        assert not rows[i][len(kept) :].any()  # only padding after the review


def test_bucketed_batches_are_narrower_and_rounded(seqs):
    batches = PaddedBatches(seqs, None, 16, 100, bucket=True)
    widths = [batches[i][0].shape[1] for i in range(len(batches))]
    assert all(w % LENGTH_STEP == 0 or w == 100 for w in widths)
    assert min(widths) < 100 and widths[0] == max(widths) and widths[1] == min(widths)
    unbucketed = PaddedBatches(seqs, None, 16, 100)
    assert {unbucketed[i][0].shape[1] for i in range(len(unbucketed))} == {100}
    assert np.array_equal(unbucketed[0][0], pad(seqs[:16], 100))


def test_shuffling_changes_order_between_epochs(seqs):
    batches = PaddedBatches(seqs, np.zeros(len(seqs)), 16, 100, bucket=True, shuffle=True)
    first = np.concatenate(batches.batches)
    batches.on_epoch_end()
    second = np.concatenate(batches.batches)
    assert sorted(second) == sorted(first) and not np.array_equal(second, first)


def test_bucketed_prediction_matches_unbucketed_with_masks(seqs):
    """Masks must hide exactly the padding: per-review outputs equal the fixed-length ones."""
    from gru_sentiment.config import preset
    from gru_sentiment.model.networks import build_model

    cfg = preset("tutorial").set(
        {
            "network.arch": "pooled",
            "network.mask": True,
            "text.vocab_size": 60,
            "network.embed_dim": 8,
            "network.units": 4,
            "network.dense_units": 4,
            "text.max_len": 100,
        }
    )
    model = build_model(cfg)
    bucketed = predict_proba(model, PaddedBatches(seqs, None, 16, 100, bucket=True))
    fixed = predict_proba(model, PaddedBatches(seqs, None, 16, 100))
    np.testing.assert_allclose(bucketed, fixed, atol=1e-5)
