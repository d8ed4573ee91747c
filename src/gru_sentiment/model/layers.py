"""Custom layers, registered so that `.keras` files load with `safe_mode=True`
(no Lambda layers, which safe mode refuses for good reason)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="gru_sentiment")
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """Max over time of (batch, time, features) that ignores masked (padding) steps."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            # -1e9 instead of -inf keeps gradients finite for all-masked rows.
            inputs = ops.where(ops.expand_dims(mask, -1), inputs, -1e9)
        return ops.max(inputs, axis=1)  # (batch, features)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
