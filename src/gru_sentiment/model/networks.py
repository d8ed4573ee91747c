"""Model builders: a Config in, a compiled keras.Model out. Never data, never paths.

Only `keras.layers` / `keras.ops` are used, so every backend (TensorFlow, JAX) runs them.
Recurrent layers keep the defaults the fused cuDNN kernels need (tanh / sigmoid,
recurrent_dropout=0, reset_after=True); only input `dropout` is set.
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from ..config import ARCHS, Config
from .adversarial import AdversarialClassifier, PerturbableEmbedding
from .finetune import optimizer
from .layers import MaskedConv1D, MaskedGlobalMaxPooling1D, MaskedMaxPooling1D
from .metrics import binary_metrics
from .names import EMBEDDING, ENCODER

RNN_CELLS = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}
Builder = Callable[[Config, int], keras.Model]  # (config, classes) -> uncompiled model
ARCHITECTURES: dict[str, Builder] = {}  # arch name -> builder, one per config.ARCHS


def architecture(*names: str) -> Callable[[Builder], Builder]:
    """Register the decorated builder for the architectures `names` (each one of
    config.ARCHS, where `--set network.arch` checks the name)."""

    def register(builder: Builder) -> Builder:
        for name in names:
            if name not in ARCHS or name in ARCHITECTURES:
                raise ValueError(f"architecture {name!r}: not in config.ARCHS, or registered twice")
            ARCHITECTURES[name] = builder
        return builder

    return register


def build_model(cfg: Config, n_classes: int = 2) -> keras.Model:
    """The network named by `cfg.network.arch` for `n_classes` classes, built for (batch, time)
    int32 ids and compiled (for one batch per epoch: training.fit recompiles for its own
    batches)."""
    model = ARCHITECTURES[cfg.network.arch](cfg, n_classes)
    if cfg.fit.adversarial:  # the same graph and layers, with the adversarial training step
        model = AdversarialClassifier(
            model.input, model.output, name=model.name, adversarial=cfg.fit.adversarial
        )
    compile_model(model, cfg, steps_per_epoch=1)
    return model


def _head(x, n_classes: int):
    """Two classes: the tutorial's one sigmoid unit, (batch, 1) P(second class); more: a
    softmax, (batch, n_classes) P(each class)."""
    if n_classes == 2:
        return keras.layers.Dense(1, activation="sigmoid", name="positive")(x)
    return keras.layers.Dense(n_classes, activation="softmax", name="classes")(x)


def compile_model(model: keras.Model, cfg: Config, steps_per_epoch: int) -> None:
    """Compile with the optimizer `cfg` asks for (a slanted schedule spans cfg.fit.epochs of
    `steps_per_epoch` batches), the cross-entropy of the output (binary for one sigmoid,
    categorical for a softmax) and the reported metrics.

    Loss and metrics honour sample weights: a data-parallel batch padded with filler rows
    of weight 0 (`PaddedBatches`) gives exactly the loss, gradients and metrics of its real
    rows. Without sample weights (one device) both are the plain means over the batch."""
    if model.output_shape[-1] == 1:
        loss = keras.losses.BinaryCrossentropy(reduction="mean_with_sample_weight")
        reported = binary_metrics()  # soft (distilled) targets count as their likelier class
    else:  # targets are distributions over the classes (model/targets.py)
        loss = keras.losses.CategoricalCrossentropy(reduction="mean_with_sample_weight")
        reported = [keras.metrics.CategoricalAccuracy(name="accuracy")]
    model.compile(
        optimizer=optimizer(model, cfg, steps_per_epoch), loss=loss, weighted_metrics=reported
    )


@architecture("stacked", "conv_gru")
def _stacked(cfg: Config, n_classes: int) -> keras.Model:
    """The tutorial: Embedding -> Bi-RNN(units, seq) -> RNN(units2) -> Dense -> Dropout -> 1."""
    rnn = RNN_CELLS[cfg.network.cell]
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")  # (batch, time)
    x = _embed(cfg, ids)
    if cfg.network.arch == "conv_gru":
        # Local n-gram detectors, then halve the sequence the GRUs read. Masked: padding
        # reads as zeros and the mask is halved with the steps, so the GRUs skip padding.
        conv = MaskedConv1D if cfg.network.mask else keras.layers.Conv1D
        x = conv(
            cfg.network.conv_filters, cfg.network.conv_kernel, padding="same", activation="relu"
        )(x)
        # (batch, time / 2, conv_filters); unmasked, an odd last step is dropped
        x = MaskedMaxPooling1D()(x) if cfg.network.mask else keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.Bidirectional(
        rnn(cfg.network.units, return_sequences=True, dropout=cfg.network.dropout), name=ENCODER
    )(x)  # (batch, time, 2 * units)
    x = rnn(cfg.network.units2, dropout=cfg.network.dropout)(x)  # (batch, units2): the last state
    x = keras.layers.Dense(cfg.network.dense_units, activation="relu")(x)
    x = keras.layers.Dropout(cfg.network.dense_dropout)(x)
    return keras.Model(ids, _head(x, n_classes), name=f"{cfg.network.arch}_{cfg.network.cell}")


def _embed(cfg: Config, ids):
    """(batch, time) ids -> (batch, time, embed_dim), with spatial dropout when set."""
    embedding = PerturbableEmbedding if cfg.fit.adversarial else keras.layers.Embedding
    x = embedding(
        cfg.text.vocab_size,
        cfg.network.embed_dim,
        mask_zero=cfg.network.mask,
        trainable=not cfg.init.freeze,
        name=EMBEDDING,
    )(ids)
    if cfg.network.embed_dropout:
        x = keras.layers.SpatialDropout1D(cfg.network.embed_dropout)(x)
    return x


@architecture("pooled")
def _pooled(cfg: Config, n_classes: int) -> keras.Model:
    """Masked Bi-RNN read over the whole (bucketed) review, pooled over time.

    Max pooling finds the strongest evidence anywhere in a long review; mean pooling
    its overall tone; both skip padding through the mask.
    """
    rnn = RNN_CELLS[cfg.network.cell]
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")  # (batch, time)
    x = _embed(cfg, ids)
    x = keras.layers.Bidirectional(
        rnn(cfg.network.units, return_sequences=True, dropout=cfg.network.dropout), name=ENCODER
    )(x)  # (batch, time, 2 * units)
    pooled = []
    if "max" in cfg.network.pooling:
        pooled.append(MaskedGlobalMaxPooling1D()(x))  # (batch, 2 * units)
    if "mean" in cfg.network.pooling:
        pooled.append(keras.layers.GlobalAveragePooling1D()(x))  # mask-aware mean
    x = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate()(pooled)
    x = keras.layers.Dropout(cfg.network.dense_dropout)(x)
    x = keras.layers.Dense(cfg.network.dense_units, activation="relu")(x)
    x = keras.layers.Dropout(cfg.network.dense_dropout)(x)
    return keras.Model(ids, _head(x, n_classes), name=f"{cfg.network.arch}_{cfg.network.cell}")


missing = set(ARCHS) - set(ARCHITECTURES)
if missing:  # a name --set accepts must build
    raise ImportError(f"no builder registered for architecture(s) {', '.join(sorted(missing))}")


def count_params(cfg: Config, n_classes: int = 2) -> int:
    return build_model(cfg, n_classes).count_params()


def params_table(cfg: Config) -> list[dict]:
    """Parameters of the same architecture with GRU and with LSTM cells; `saving` is the
    share of the LSTM's parameters that the cell saves."""
    gru = count_params(cfg.set({"network.cell": "gru"}))
    lstm = count_params(cfg.set({"network.cell": "lstm"}))
    return [
        {"cell": "gru", "params": gru, "saving": 1 - gru / lstm},
        {"cell": "lstm", "params": lstm, "saving": 0.0},
    ]
