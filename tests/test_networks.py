"""The Conv1D + GRU front with masks: the same answer at any padded width (unmasked it is
not), the same answer through ONNX, and a run that trains, reloads and predicts as it
scored its test set."""

import keras
import numpy as np
import pytest
from conftest import TINY, assert_predicts_as_scored, make_jsonl
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.config import preset
from gru_sentiment.model.networks import build_model

CONV = preset("tutorial").replace(
    arch="conv_gru", vocab_size=50, embed_dim=8, units=4, units2=4, dense_units=4, max_len=40
)
CONV = CONV.replace(conv_filters=6, conv_kernel=3)


def padded(ids: np.ndarray, width: int) -> np.ndarray:
    """(1, width) int32: `ids` then padding (id 0)."""
    return np.pad(ids, (0, width - len(ids)))[None].astype(np.int32)


def probability(model: keras.Model, ids: np.ndarray) -> float:
    return float(keras.ops.convert_to_numpy(model(ids, training=False))[0, 0])


@pytest.mark.backend
def test_a_masked_conv_front_answers_the_same_at_any_padded_width():
    keras.utils.set_random_seed(0)
    masked, unmasked = build_model(CONV.replace(mask=True)), build_model(CONV)
    rng = np.random.default_rng(0)
    moved = []
    for length in (5, 6, 9):  # odd lengths pool their last step alone, even ones in a pair
        ids = rng.integers(1, 50, length)
        widths = (length, length + 1, length + 4, CONV.max_len)
        answers = [probability(masked, padded(ids, w)) for w in widths]
        assert answers == pytest.approx([answers[0]] * len(widths), abs=1e-6)
        plain = [probability(unmasked, padded(ids, w)) for w in widths]
        moved.append(max(plain) - min(plain))
    assert max(moved) > 1e-4  # without the mask, padding is read as input


def test_the_masked_conv_front_exports_to_onnx_with_the_same_answers():
    import onnxruntime

    from gru_sentiment.export.to_onnx import INPUT, to_onnx

    keras.utils.set_random_seed(1)
    model = build_model(CONV.replace(mask=True))
    session = onnxruntime.InferenceSession(to_onnx(model).SerializeToString())
    rng = np.random.default_rng(1)
    for width in (11, 12):  # odd and even padded widths
        ids = rng.integers(1, 50, (4, width)).astype(np.int32)
        for row, length in enumerate((width, width - 1, 4, 1)):
            ids[row, length:] = 0
        expected = keras.ops.convert_to_numpy(model(ids, training=False))
        (ours,) = session.run(None, {INPUT: ids})
        np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_a_masked_conv_gru_run_reloads_and_predicts_its_test_set(tmp_path):
    from gru_sentiment import SentimentModel

    corpus = make_jsonl(tmp_path / "corpus.jsonl", n_train=80, n_test=40)
    conv = ["arch=conv_gru", "mask=true", "bucket=true", "conv_kernel=3"]
    args = ["train", "--preset", "tutorial", "--data", str(corpus), "--out", str(tmp_path / "r")]
    args += ["--epochs", "1", *TINY, *(arg for value in conv for arg in ("--set", value))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output

    assert SentimentModel.load(tmp_path / "r").masked  # batched by length, as masked ones are
    assert_predicts_as_scored(tmp_path / "r", corpus)
