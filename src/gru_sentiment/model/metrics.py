"""The training metrics of a one-sigmoid network, reading a soft target as its likelier class.

Distillation (train/pipeline.py) trains on probabilities: an unlabeled review's target is
its teacher's P(positive), 0.87 say. Keras' binary metrics take a target as it is:
accuracy counts a row right only when the target equals the rounded prediction (never, for
0.87), and precision, recall and AUC count every target above 0 as positive. A distilled
run's history read 32-37% training accuracy beside 89-92% on validation. Here a target of
0.5 or more counts as positive; 0/1 labels score exactly as with Keras' own metrics.
"""

from __future__ import annotations

import keras


class _LikelierClass:
    """Mixin: update the metric with (batch,) targets rounded to 0/1."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        hard = keras.ops.cast(keras.ops.greater_equal(y_true, 0.5), y_pred.dtype)
        return super().update_state(hard, y_pred, sample_weight)


def _likelier_class(metric: type) -> type:
    """`metric` with the mixin, registered under its own name so checkpoints reload."""
    subclass = type(metric.__name__, (_LikelierClass, metric), {})
    return keras.saving.register_keras_serializable(package="gru_sentiment")(subclass)


BinaryAccuracy, Precision, Recall, AUC = (
    _likelier_class(m)
    for m in (
        keras.metrics.BinaryAccuracy,
        keras.metrics.Precision,
        keras.metrics.Recall,
        keras.metrics.AUC,
    )
)


def binary_metrics() -> list[keras.metrics.Metric]:
    """The tutorial's training metrics: accuracy, precision, recall and ROC-AUC."""
    return [
        BinaryAccuracy(name="accuracy"),
        Precision(name="precision"),
        Recall(name="recall"),
        AUC(name="auc"),
    ]
