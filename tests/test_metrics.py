"""Training metrics on soft (distilled) targets: a target counts as its likelier class."""

import keras
import numpy as np
import pytest

from gru_sentiment.config import preset
from gru_sentiment.model.metrics import binary_metrics
from gru_sentiment.model.networks import build_model, compile_model


def test_a_soft_target_counts_as_its_likelier_class():
    targets = np.array([0.87, 0.2, 1.0, 0.0, 0.6, 0.5], np.float32)  # 0.5: positive
    scores = np.array([0.9, 0.1, 0.7, 0.4, 0.3, 0.8], np.float32)
    values = {}
    for metric in binary_metrics():
        metric.update_state(targets, scores)
        values[metric.name] = float(metric.result())
    # positives: rows 0, 2, 4, 5; predicted positive: rows 0, 2, 5; row 4 is missed
    assert values["accuracy"] == pytest.approx(5 / 6)
    assert values["precision"] == pytest.approx(1.0)
    assert values["recall"] == pytest.approx(3 / 4)
    # 7 of the 8 positive-negative pairs ranked right: the 0.3 positive under the 0.4 negative
    assert values["auc"] == pytest.approx(7 / 8, abs=0.01)


def test_a_compiled_network_reports_the_accuracy_of_its_rounded_targets():
    cfg = preset("tutorial").set(
        {
            "text.vocab_size": 50,
            "network.embed_dim": 4,
            "network.units": 2,
            "network.units2": 2,
            "text.max_len": 8,
        }
    )
    model = build_model(cfg)
    compile_model(model, cfg, steps_per_epoch=1)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 50, (64, 8)).astype(np.int32)
    targets = rng.uniform(size=64).astype(np.float32)  # soft, as distillation gives them
    probs = keras.ops.convert_to_numpy(model(ids, training=False))[:, 0]
    logs = model.evaluate(ids, targets, batch_size=64, verbose=0, return_dict=True)
    assert logs["accuracy"] == pytest.approx(np.mean((probs > 0.5) == (targets >= 0.5)))
