"""The network's forward pass for scoring: (batch, time) int32 ids -> (batch,) P(second
class) of a one-sigmoid network, (batch, classes) of a softmax one, without
`model.predict`'s per-call set-up."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..data.text import START_ID

# On TensorFlow, batches of this many rows or more run uncompiled at their own shape (see
# Forward); on JAX every batch is compiled.
FULL_ROWS = 32


class Forward:
    """(batch, time) int32 ids -> (batch,) P(second class), or (batch, classes).

    `model.predict` sets up a data adapter and callbacks on every call, so the model is
    called through compiled functions instead.

    TensorFlow: two concrete functions. A small batch (a request, fewer than `FULL_ROWS`
    rows) runs XLA-compiled: graph mode steps the recurrent loop op by op, XLA compiles the
    loop into one program, far faster for one review. A large batch is compute-bound and
    runs in graph mode at its own shape, compiling nothing (why: docs/decisions.md#speed).

    JAX: one `jax.jit` of the model's stateless call. Eager JAX dispatches every op and
    re-traces the recurrent `lax.scan` on each call; there is no uncompiled graph mode, so
    every batch, large ones too, runs compiled (docs/decisions.md#leaving-the-tool).

    XLA compiles one program per shape, so compiled batches are padded to a power of two
    rows and, for masked models (`widen_to`), a power of two width. Other backends (torch)
    run eagerly.
    """

    def __init__(self, model, widen_to: int | None = None):
        import keras

        self.model = model
        self.widen_to = widen_to
        self.call = self._eager
        self.full_rows: float = FULL_ROWS  # batches this large run at their own shape
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            def concrete(jit_compile: bool):
                # A concrete function skips tf.function's per-call dispatch.
                return tf.function(
                    lambda ids: model(ids, training=False),
                    input_signature=[tf.TensorSpec((None, None), tf.int32)],
                    jit_compile=jit_compile,
                ).get_concrete_function()

            # cuDNN recurrent kernels do not compile with XLA: GPUs keep TensorFlow's graph.
            small = concrete(jit_compile=not tf.config.list_logical_devices("GPU"))
            large = concrete(jit_compile=False)
            self.call = lambda ids: (large if len(ids) >= FULL_ROWS else small)(ids).numpy()
        elif backend == "jax":
            self.call = _jax_call(model)
            self.full_rows = math.inf  # every shape compiles: every batch is padded

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
        if n >= self.full_rows:
            return _squeezed(self.call(ids))
        rows, width = 1 << (n - 1).bit_length(), self.width(ids.shape[1])
        if (rows, width) != ids.shape:
            # Filler rows hold a start token, never only padding (cuDNN rejects fully masked rows).
            padded = np.zeros((rows, width), np.int32)
            padded[n:, 0] = START_ID
            padded[:n, : ids.shape[1]] = ids
            ids = padded
        return _squeezed(self.call(ids))[:n]


def _squeezed(probs: np.ndarray) -> np.ndarray:
    """(batch, 1) -> (batch,); (batch, classes) as it is."""
    return probs.reshape(-1) if probs.shape[-1] == 1 else probs


def _jax_call(model) -> Callable[[np.ndarray], np.ndarray]:
    """(batch, time) ids -> (batch, 1) P(second class), or (batch, classes), through one
    `jax.jit` of `model.stateless_call(..., training=False)`, compiled once per input shape.

    The weights are arguments of the compiled program, not constants folded into it: a
    program stays small and compiles fast whatever the vocabulary, and under a
    `keras.distribution` it follows the variables' placement (replicated on each device).
    They are read at each call, so the program never runs on stale weights. Why compiled
    rather than eager: docs/decisions.md#leaving-the-tool.
    """
    import jax

    @jax.jit
    def forward(trainable, non_trainable, ids):
        probs, _ = model.stateless_call(trainable, non_trainable, ids, training=False)
        return probs  # (batch, 1) or (batch, classes)

    def call(ids: np.ndarray) -> np.ndarray:
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        return np.asarray(forward(trainable, non_trainable, ids))

    return call
