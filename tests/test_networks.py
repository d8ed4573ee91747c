"""The Conv1D + GRU front with masks: the same answer at any padded width (unmasked it is
not), the same answer through ONNX, and a run that trains, reloads and predicts as it
scored its test set."""

import keras
import numpy as np
import pytest
from conftest import TINY, assert_predicts_as_scored, make_jsonl
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.config import ARCHS, preset
from gru_sentiment.model.networks import build_model

CONV = preset("tutorial").set(
    {
        "network.arch": "conv_gru",
        "text.vocab_size": 50,
        "network.embed_dim": 8,
        "network.units": 4,
        "network.units2": 4,
        "network.dense_units": 4,
        "text.max_len": 40,
    }
)
CONV = CONV.set({"network.conv_filters": 6, "network.conv_kernel": 3})


def padded(ids: np.ndarray, width: int) -> np.ndarray:
    """(1, width) int32: `ids` then padding (id 0)."""
    return np.pad(ids, (0, width - len(ids)))[None].astype(np.int32)


def probability(model: keras.Model, ids: np.ndarray) -> float:
    return float(keras.ops.convert_to_numpy(model(ids, training=False))[0, 0])


@pytest.mark.backend
def test_a_masked_conv_front_answers_the_same_at_any_padded_width():
    keras.utils.set_random_seed(0)
    masked, unmasked = build_model(CONV.set({"network.mask": True})), build_model(CONV)
    rng = np.random.default_rng(0)
    moved = []
    for length in (5, 6, 9):  # odd lengths pool their last step alone, even ones in a pair
        ids = rng.integers(1, 50, length)
        widths = (length, length + 1, length + 4, CONV.text.max_len)
        answers = [probability(masked, padded(ids, w)) for w in widths]
        assert answers == pytest.approx([answers[0]] * len(widths), abs=1e-6)
        plain = [probability(unmasked, padded(ids, w)) for w in widths]
        moved.append(max(plain) - min(plain))
    assert max(moved) > 1e-4  # without the mask, padding is read as input


def test_the_masked_conv_front_exports_to_onnx_with_the_same_answers():
    import onnxruntime

    from gru_sentiment.export.to_onnx import INPUT, to_onnx

    keras.utils.set_random_seed(1)
    model = build_model(CONV.set({"network.mask": True}))
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
    conv = [
        "network.arch=conv_gru",
        "network.mask=true",
        "fit.bucket=true",
        "network.conv_kernel=3",
    ]
    args = ["train", "--preset", "tutorial", "--data", str(corpus), "--out", str(tmp_path / "r")]
    args += ["--epochs", "1", *TINY, *(arg for value in conv for arg in ("--set", value))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output

    assert SentimentModel.load(tmp_path / "r").masked  # batched by length, as masked ones are
    assert_predicts_as_scored(tmp_path / "r", corpus)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_every_registered_architecture_builds_saves_loads_safely_and_exports(arch, cell, tmp_path):
    """Each name `--set network.arch` accepts has a builder; its model round-trips through
    a .keras file loaded in safe mode and through ONNX with the same answers."""
    import onnxruntime

    from gru_sentiment.export.to_onnx import INPUT, to_onnx
    from gru_sentiment.inference.model import load_network
    from gru_sentiment.model.names import EMBEDDING, ENCODER
    from gru_sentiment.model.networks import ARCHITECTURES

    assert set(ARCHITECTURES) == set(ARCHS)
    tiny = {"text.vocab_size": 50, "network.embed_dim": 8, "network.units": 4}
    cfg = preset("tutorial").set({**tiny, "network.arch": arch, "network.cell": cell})
    if arch != "pooled":  # fields the other architectures do not read stay at their defaults
        cfg = cfg.set({"network.units2": 4, "network.mask": arch == "conv_gru"})
    if arch == "conv_gru":
        cfg = cfg.set({"network.conv_filters": 6, "network.conv_kernel": 3})
    keras.utils.set_random_seed(2)
    for classes in (2, 3):
        model = build_model(cfg.validate(), classes)
        assert {EMBEDDING, ENCODER} <= {layer.name for layer in model.layers}
        model.save(tmp_path / "model.keras")
        loaded = load_network(tmp_path)
        ids = np.random.default_rng(2).integers(1, 50, (3, 10)).astype(np.int32)
        ids[1, 6:] = 0
        expected = keras.ops.convert_to_numpy(model(ids, training=False))
        assert expected.shape == (3, 1 if classes == 2 else classes)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(ids)), expected, atol=1e-6)
        session = onnxruntime.InferenceSession(to_onnx(loaded).SerializeToString())
        (exported,) = session.run(None, {INPUT: ids})
        np.testing.assert_allclose(exported, expected, atol=1e-5)
