"""Backends and devices: the compiled forward pass agrees with the model on any backend;
data-parallel batches pad to a multiple of the device count with rows that weigh nothing;
and `train` on JAX with two (virtual CPU) devices trains data-parallel by itself."""

import csv
import importlib.util
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import POOLED, TINY, make_jsonl

from gru_sentiment.config import Config, Network, Text
from gru_sentiment.errors import ConfigError
from gru_sentiment.inference.forward import Forward
from gru_sentiment.io import runs
from gru_sentiment.model import batching, language_model
from gru_sentiment.model.batching import PaddedBatches
from gru_sentiment.model.networks import build_model
from gru_sentiment.runtime import data_replicas, distribute

TINY_POOLED = Config(
    text=Text(vocab_size=30, max_len=12),
    network=Network(embed_dim=4, units=3, dense_units=4, arch="pooled", mask=True),
)


@pytest.mark.backend
def test_one_device_sets_no_distribution():
    # This process sees one device (TensorFlow, or JAX without forced host devices).
    assert distribute() == 1 and data_replicas() == 1
    assert keras.distribution.distribution() is None


@pytest.mark.backend
def test_the_compiled_forward_pass_matches_the_model_at_every_padded_shape():
    keras.utils.set_random_seed(0)
    model = build_model(TINY_POOLED)
    forward = Forward(model, widen_to=TINY_POOLED.text.max_len)
    rng = np.random.default_rng(0)
    for rows, width in ((1, 5), (3, 12), (40, 7)):  # one review, a few, more than FULL_ROWS
        ids = rng.integers(1, 30, (rows, width)).astype(np.int32)
        ids[:, width // 2 :] = 0  # right padding, masked
        expected = keras.ops.convert_to_numpy(model(ids, training=False)).reshape(-1)
        np.testing.assert_allclose(forward(ids), expected, atol=1e-6)


def test_data_parallel_batches_pad_rows_that_weigh_nothing(monkeypatch):
    monkeypatch.setattr(batching, "data_replicas", lambda: 4)
    seqs = [np.arange(1, n + 2, dtype=np.int32) for n in range(10)]
    labels = np.ones(10, np.float32)
    batches = PaddedBatches(seqs, labels, batch_size=3, max_len=16, bucket=True, shuffle=True)
    for ids, y, weights in (batches[i] for i in range(len(batches))):
        assert len(ids) == len(y) == len(weights) == 4  # 3 reviews (or 1) + filler
        real = weights == 1
        assert real.sum() in (3, 1) and not weights[~real].any() and not y[~real].any()
        assert (ids[~real, 0] > 0).all()  # filler rows are never only padding
    scored = PaddedBatches(seqs, None, batch_size=3, max_len=16, bucket=True)
    lengths = np.concatenate([(scored[i][0] > 0).sum(1) for i in range(len(scored))])
    assert scored.in_input_order(lengths).tolist() == [len(s) for s in seqs]


def test_language_model_batches_refuse_a_size_the_devices_do_not_divide(monkeypatch):
    monkeypatch.setattr(language_model, "data_replicas", lambda: 3)
    windows = np.ones((40, 10), np.int32)
    proposal = np.full(5, 0.2)
    with pytest.raises(ConfigError, match="init.lm.batch_size=8 .* multiple of 3"):
        language_model.LMBatches(windows, 8, proposal, samples=2)
    assert len(language_model.LMBatches(windows, 9, proposal, samples=2)) == 4


# `train` through the CLI, then what a user would check: the model's variables and a
# prediction of every test review, in the same process (the distribution is global).
DATA_PARALLEL = """
import csv, json, sys
import keras
from gru_sentiment import SentimentModel
from gru_sentiment.cli import app

run_dir, corpus = sys.argv[1:3]
app(sys.argv[3:], prog_name="gru-sentiment", standalone_mode=False)
model = SentimentModel.load(run_dir)
with open(f"{run_dir}/predictions.csv") as f:
    test = [row for row in csv.DictReader(f) if row["split"] == "test"]
texts = {row["id"]: row["text"] for row in map(json.loads, open(corpus))}
probs, _ = model.score([texts[row["id"]] for row in test], model.cfg.text.keep)
stored = [float(row["probability"]) for row in test]
print(json.dumps({
    "distribution": type(keras.distribution.distribution()).__name__,
    "variable_devices": sorted({len(v.value.sharding.device_set) for v in model.model.weights}),
    "prediction_error": max(abs(float(p) - s) for p, s in zip(probs, stored)),
}))
"""


@pytest.mark.skipif(
    importlib.util.find_spec("jax") is None,
    reason="jax is not installed: pip install 'gru-sentiment[jax]' to test data-parallel JAX",
)
def test_train_on_two_jax_devices_is_data_parallel(tmp_path):
    # 72 train, 18 validation (val_fraction 0.2), 27 test reviews: whole batches of 9.
    corpus = make_jsonl(tmp_path / "corpus.jsonl", n_train=90, n_test=27)
    run_dir = tmp_path / "run"
    args = ["train", "--preset", "tutorial", "--data", str(corpus), "--out", str(run_dir)]
    # An odd batch size that divides every split: on 2 devices every batch (train,
    # validation, test) has a filler row, and no ragged last batch adds shapes to compile
    # (each new (rows, width) is an XLA compilation of its step).
    args += [*TINY, *POOLED, "--set", "fit.bucket=true", "--set", "fit.batch_size=9"]
    # Every batch one width (max_len is one LENGTH_STEP): one compilation per step.
    args += ["--set", "text.max_len=32"]
    env = os.environ | {
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
    }
    done = subprocess.run(
        [sys.executable, "-c", DATA_PARALLEL, str(run_dir), str(corpus), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["distribution"] == "DataParallel"
    assert found["variable_devices"] == [2]  # every weight replicated on both devices
    assert found["prediction_error"] < 1e-4  # SentimentModel reproduces the run's test scores
    record = json.loads((run_dir / runs.CONFIG).read_text())
    assert (record["backend"], record["data_replicas"]) == ("jax", 2)
    sizes = [record["sizes"][split] for split in ("train", "validation", "test")]
    assert sizes == [72, 18, 27]  # whole batches of 9
    assert runs.is_complete(run_dir)
    runs.verify(run_dir)
    losses = [float(row["loss"]) for row in csv.DictReader((run_dir / runs.HISTORY).open())]
    assert len(losses) == 2 and losses[1] < losses[0]
