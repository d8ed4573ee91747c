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


@keras.saving.register_keras_serializable(package="gru_sentiment")
class MaskedConv1D(keras.layers.Conv1D):
    """Conv1D that reads padding steps as zeros and passes the mask on.

    Keras' Conv1D drops the mask, and a window at a review's end would read the padding's
    embedding, so its output would depend on how wide the batch is padded. Zeroing the
    masked steps first gives every real step the same output at any padded width ("same"
    padding reads zeros beyond the array too); stride 1 keeps the mask aligned."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:  # (batch, time) -> zeros at the padding steps
            inputs = ops.where(ops.expand_dims(mask, -1), inputs, 0.0)
        return super().call(inputs)  # (batch, time, filters)

    def compute_mask(self, inputs, mask=None):
        return mask


@keras.saving.register_keras_serializable(package="gru_sentiment")
class MaskedMaxPooling1D(keras.layers.Layer):
    """Max over non-overlapping pairs of steps, (batch, time, f) -> (batch, ceil(time/2), f),
    with the mask halved alike: pooled step j is real when step 2j is (right-padded masks).

    Padding steps count as 0, which is neutral after a relu (inputs >= 0): a pair of the
    last real step and a padding step gives the real step's values, so the output does
    not depend on the padded width either."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.pool = keras.layers.MaxPooling1D(2, padding="same")

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = ops.where(ops.expand_dims(mask, -1), inputs, 0.0)
        return self.pool(inputs)

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[:, ::2]  # (batch, ceil(time / 2))

    def compute_output_shape(self, input_shape):
        return self.pool.compute_output_shape(input_shape)
