"""Thresholds and the hybrid's stack, on hand-made probabilities."""

import numpy as np

from gru_sentiment.evaluation import thresholds
from gru_sentiment.model.stack import Stack


def test_threshold_ties_go_to_the_one_closest_to_a_half():
    labels = np.array([0, 0, 1, 1])
    probs = np.array([0.1, 0.2, 0.8, 0.9])  # every threshold in (0.2, 0.8] is perfect
    assert thresholds.choose(labels, probs) == 0.5
    shifted = np.array([0.1, 0.6, 0.8, 0.9])  # perfect only in (0.6, 0.8]
    assert thresholds.choose(labels, shifted) == 0.61


def test_sweep_matches_a_direct_count():
    rng = np.random.default_rng(0)
    labels, probs = rng.integers(0, 2, 200), rng.random(200)
    swept = thresholds.sweep(labels, probs)
    i = thresholds.nearest(0.37)
    assert swept["threshold"][i] == 0.37
    assert swept["accuracy"][i] == ((probs >= 0.37) == labels).mean()


def test_stack_learns_to_trust_the_informative_model(tmp_path):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 400)
    noise = rng.random(400)  # carries nothing
    informative = np.where(labels == 1, 3.0, -3.0) + rng.normal(0, 1, 400)
    stack = Stack.fit(noise, informative, labels)
    ((w_recurrent, w_linear),) = stack.coef
    assert abs(w_linear) > 5 * abs(w_recurrent)
    assert ((stack.combine(noise, informative) >= 0.5) == labels).mean() > 0.95
    stack.save(tmp_path)
    assert Stack.load(tmp_path) == stack
