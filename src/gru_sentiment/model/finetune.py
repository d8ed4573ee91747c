"""ULMFiT's fine-tuning (Howard & Ruder 2018) as an optimizer and a learning-rate schedule.

The classifier falls into three layer groups: the embedding (depth 2), the encoder
(depth 1) and everything above the encoder, the head (depth 0). `LayerwiseAdam` is Adam
whose step for a weight at depth k is scaled by 1 / discriminative**k (discriminative
learning rates), and by 0 before epoch k + 1 with gradual unfreezing: Adam with a step
size of 0 leaves a weight exactly as it is, so freezing needs no recompiling and the
whole state lives in optimizer variables, saved in every checkpoint. (Unlike a frozen
layer, a frozen group still gets gradients, and Adam's moments follow them: it unfreezes
with warm moments, and freezing saves no time.)
`SlantedTriangular` is the slanted triangular learning rate.

Registered as Keras serializables: checkpoints reload with their optimizer, and every
`.keras` file loads with `safe_mode=True`.
"""

from __future__ import annotations

import keras
from keras import ops

from ..config import Config
from .names import EMBEDDING, ENCODER


def layer_depths(model: keras.Model) -> list[int]:
    """The depth of each of `model.trainable_variables`, in order: 2 for the embedding's,
    1 for the encoder's, 0 for the head's. Found by layer, not by weight path: a reloaded
    Bidirectional layer's weights lose its name from their paths."""
    below = {
        id(weight): k
        for k, name in ((2, EMBEDDING), (1, ENCODER))
        for weight in model.get_layer(name).trainable_variables
    }
    return [below.get(id(weight), 0) for weight in model.trainable_variables]


@keras.saving.register_keras_serializable(package="gru_sentiment")
class LayerwiseAdam(keras.optimizers.Adam):
    """Adam with discriminative learning rates and, when `gradual`, gradual unfreezing;
    `depths`: `layer_depths` of the model it trains (saved in its config, so that a
    reloaded checkpoint keeps its groups)."""

    def __init__(
        self, depths: list[int], discriminative: float = 1.0, gradual: bool = False, **kwargs
    ):
        super().__init__(**kwargs)
        self.depths = list(depths)
        self.discriminative = discriminative
        self.gradual = gradual
        # The epoch under way, from 0: EpochClock sets it as each epoch begins, so a
        # resumed run unfreezes on time.
        self.epoch = self.add_variable((), dtype="int32", name="epoch")

    def build(self, var_list):
        if len(var_list) != len(self.depths):
            raise ValueError(
                f"LayerwiseAdam has depths for {len(self.depths)} weights, not {len(var_list)}"
            )
        super().build(var_list)

    def update_step(self, gradient, variable, learning_rate):
        # Called once per weight (on TensorFlow, `variable` is the weight's tf.Variable);
        # its index is its place in the list the optimizer was built on.
        k = self.depths[self._get_variable_index(variable)]
        scale = self.discriminative**-k
        if self.gradual:
            scale = ops.where(self.epoch >= k, scale, 0.0)  # frozen before epoch index k
        super().update_step(gradient, variable, learning_rate * scale)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "depths": self.depths,
            "discriminative": self.discriminative,
            "gradual": self.gradual,
        }


@keras.saving.register_keras_serializable(package="gru_sentiment")
class SlantedTriangular(keras.optimizers.schedules.LearningRateSchedule):
    """ULMFiT's learning rate at step t of `total_steps` (T): a linear rise from
    peak / ratio to `peak` over the first cut = floor(T * cut_frac) steps, then a linear
    fall back to peak / ratio at step T. The fall spans the T - cut steps after the peak
    (the paper's cut * (1 / cut_frac - 1) when T * cut_frac is whole; this one still
    ends at step T when it is not); each part lasts at least one step, for tiny runs."""

    def __init__(self, peak: float, total_steps: int, cut_frac: float = 0.1, ratio: float = 32):
        self.peak = peak
        self.total_steps = total_steps
        self.cut_frac = cut_frac
        self.ratio = ratio

    def __call__(self, step):
        t = ops.cast(step, "float32")
        cut = max(1, int(self.total_steps * self.cut_frac))
        fall = max(1, self.total_steps - cut)
        p = ops.where(t < cut, t / cut, 1 - (t - cut) / fall)  # 0 -> 1 -> 0
        return self.peak * (1 + p * (self.ratio - 1)) / self.ratio

    def get_config(self) -> dict:
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "cut_frac": self.cut_frac,
            "ratio": self.ratio,
        }


class EpochClock(keras.callbacks.Callback):
    """Tells a LayerwiseAdam which epoch (from 0) begins; other optimizers need not know."""

    def on_epoch_begin(self, epoch, logs=None):
        if isinstance(self.model.optimizer, LayerwiseAdam):
            self.model.optimizer.epoch.assign(epoch)


def optimizer(model: keras.Model, cfg: Config, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """The optimizer `cfg` asks for to train `model`: plain Adam unless discriminative
    rates or gradual unfreezing are on; a slanted schedule spans cfg.fit.epochs *
    steps_per_epoch steps."""
    learning_rate, tuning = cfg.fit.learning_rate, cfg.fit.tuning
    if tuning.schedule == "slanted":
        learning_rate = SlantedTriangular(cfg.fit.learning_rate, cfg.fit.epochs * steps_per_epoch)
    if tuning.discriminative == 1 and tuning.unfreeze == "none":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    gradual = tuning.unfreeze == "gradual"
    return LayerwiseAdam(
        layer_depths(model), tuning.discriminative, gradual, learning_rate=learning_rate
    )
