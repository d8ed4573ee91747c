"""The network's forward pass for scoring: (batch, time) int32 ids -> (batch,) P(positive),
without `model.predict`'s per-call set-up."""

from __future__ import annotations

import numpy as np

from ..data.text import START_ID

# Batches of this many rows or more run uncompiled at their own shape (see Forward).
FULL_ROWS = 32


class Forward:
    """(batch, time) int32 ids -> (batch,) P(positive).

    `model.predict` sets up a data adapter and callbacks on every call, so the model is
    called through TensorFlow concrete functions, two of them. A small batch (a request,
    fewer than `FULL_ROWS` rows) runs XLA-compiled: graph mode steps the recurrent loop op
    by op, XLA compiles the loop into one program, an order of magnitude faster for one
    review. XLA compiles one program per shape, so small batches are padded to a power of
    two rows and, for masked models (`widen_to`), a power of two width. A large batch is
    compute-bound and runs in graph mode at its own shape, compiling nothing
    (measurements: docs/decisions.md).
    """

    def __init__(self, model, widen_to: int | None = None):
        import keras

        self.model = model
        self.widen_to = widen_to
        self.call = self._eager
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            def concrete(jit_compile: bool):
                # A concrete function skips tf.function's per-call dispatch (~0.2 ms).
                return tf.function(
                    lambda ids: model(ids, training=False),
                    input_signature=[tf.TensorSpec((None, None), tf.int32)],
                    jit_compile=jit_compile,
                ).get_concrete_function()

            # cuDNN recurrent kernels do not compile with XLA: GPUs keep TensorFlow's graph.
            small = concrete(jit_compile=not tf.config.list_logical_devices("GPU"))
            large = concrete(jit_compile=False)
            self.call = lambda ids: (large if len(ids) >= FULL_ROWS else small)(ids).numpy()

    def _eager(self, ids: np.ndarray) -> np.ndarray:
        import keras

        return keras.ops.convert_to_numpy(self.model(ids, training=False))

    def width(self, width: int) -> int:
        """The width a small batch padded to `width` is compiled for: with `widen_to`, the
        next power of two (32, 64, 128, ...) up to it; few widths, few programs."""
        if not self.widen_to:
            return width
        return min(self.widen_to, max(width, 1 << (width - 1).bit_length()))

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        n = len(ids)
        if n >= FULL_ROWS:
            return self.call(ids).reshape(-1)
        rows, width = 1 << (n - 1).bit_length(), self.width(ids.shape[1])
        if (rows, width) != ids.shape:
            # Filler rows hold a start token, never only padding (cuDNN rejects fully masked rows).
            padded = np.zeros((rows, width), np.int32)
            padded[n:, 0] = START_ID
            padded[:n, : ids.shape[1]] = ids
            ids = padded
        return self.call(ids).reshape(-1)[:n]
