"""Adversarial training on the embeddings: the perturbation climbs the loss at the size
asked, a killed run resumes with it, and a run trained with it saves a plain network
that predicts as it scored (resuming on JAX too)."""

import keras
import numpy as np
import pytest
from conftest import TINY, assert_predicts_as_scored, tiny_network
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.model import training
from gru_sentiment.model.adversarial import AdversarialClassifier
from gru_sentiment.model.batching import PaddedBatches
from gru_sentiment.model.networks import build_model

# A tiny masked, pooled GRU without dropout: the same start gives the same steps.
CFG = tiny_network("pooled").set({"network.mask": True, "fit.adversarial": 0.05})


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 12) ids, row i padded after 12 - i % 6 tokens; the label: whether token 5 occurs."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, CFG.text.vocab_size, (n, CFG.text.max_len)).astype(np.int32)
    for i in range(n):
        ids[i, CFG.text.max_len - i % 6 :] = 0
    return ids, (ids == 5).any(axis=1).astype(np.float32)


def per_review_norm(x) -> np.ndarray:
    return np.linalg.norm(keras.ops.convert_to_numpy(x).reshape(len(x), -1), axis=1)


def test_the_perturbation_climbs_the_loss_at_the_size_asked():
    keras.utils.set_random_seed(0)
    model = build_model(CFG)
    assert isinstance(model, AdversarialClassifier)
    ids, labels = data(16)
    labels = labels[:, None]
    _, clean, _, perturbation = model.clean_pass(ids, labels)
    perturbation = keras.ops.convert_to_numpy(perturbation)  # (16, 12, 4)

    assert np.all(perturbation[ids == 0] == 0)  # padding is never moved
    table = model.get_layer("embedding").get_weights()[0]
    embedded = table[ids] * (ids != 0)[:, :, None]
    np.testing.assert_allclose(
        per_review_norm(perturbation), 0.05 * per_review_norm(embedded), rtol=1e-4
    )
    _, climbed = model.loss_at(perturbation, ids, labels)
    random = np.random.default_rng(1).normal(size=perturbation.shape) * (ids != 0)[:, :, None]
    random *= (per_review_norm(perturbation) / per_review_norm(random))[:, None, None]
    _, wandered = model.loss_at(random.astype(np.float32), ids, labels)
    assert float(climbed) > float(wandered) and float(climbed) > float(clean)
    # and the perturbation was the step's alone: the network is as before
    _, again = model.loss_at(np.zeros_like(perturbation), ids, labels)
    assert float(again) == pytest.approx(float(clean))


@pytest.mark.backend
def test_a_resumed_adversarial_run_ends_where_an_unbroken_one_does(tmp_path):
    ids, labels = data(48)

    def fit(cfg, folder, log=print):
        keras.utils.set_random_seed(0)  # the same initial weights
        train = PaddedBatches(list(ids[:32]), labels[:32], cfg.fit.batch_size, cfg.text.max_len)
        val = PaddedBatches(list(ids[32:]), labels[32:], cfg.fit.batch_size, cfg.text.max_len)
        return training.fit(build_model(cfg), cfg, train, val, tmp_path / folder, log)

    whole_model, whole = fit(CFG.set({"fit.epochs": 2}), "whole")
    fit(CFG.set({"fit.epochs": 1}), "resumed")  # stopped after epoch 1, its checkpoint kept
    checkpoint = keras.models.load_model(tmp_path / "resumed" / "last-1.keras")
    assert isinstance(checkpoint, AdversarialClassifier) and checkpoint.adversarial == 0.05
    lines = []
    resumed_model, resumed = fit(CFG.set({"fit.epochs": 2}), "resumed", lines.append)
    assert "resuming after epoch 1 of 2" in lines
    assert [r["loss"] for r in resumed["history"]] == pytest.approx(
        [r["loss"] for r in whole["history"]]
    )
    # fit hands back the plain network: no adversarial step, a plain embedding
    assert type(resumed_model) is not AdversarialClassifier
    assert type(resumed_model.get_layer("embedding")) is keras.layers.Embedding
    for a, b in zip(whole_model.get_weights(), resumed_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_a_run_trained_adversarially_predicts_as_it_scored(tmp_path, corpus_jsonl):
    run_dir = tmp_path / "run"
    args = ["train", "--preset", "tutorial", "--data", str(corpus_jsonl), "--out", str(run_dir)]
    args += ["--epochs", "1", *TINY, "--set", "fit.adversarial=0.02"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    saved = keras.models.load_model(run_dir / "model.keras", compile=False)
    assert type(saved.get_layer("embedding")) is keras.layers.Embedding
    assert_predicts_as_scored(run_dir, corpus_jsonl)
