"""Model builders: a Config in, a compiled keras.Model out. Never data, never paths.

Only `keras.layers` / `keras.ops` are used, so every backend (TensorFlow, JAX) runs them.
Recurrent layers keep the defaults the fused cuDNN kernels need (tanh / sigmoid,
recurrent_dropout=0, reset_after=True); only input `dropout` is set.
"""

from __future__ import annotations

import keras

from .config import Config

RNN_CELLS = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}


def build_model(cfg: Config) -> keras.Model:
    """The network named by `cfg.arch`, built for (batch, time) int32 ids and compiled."""
    builders = {"stacked": _stacked}
    model = builders[cfg.arch](cfg)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate),
        loss="binary_crossentropy",
        metrics=[
            "accuracy",
            keras.metrics.Precision(name="precision"),
            keras.metrics.Recall(name="recall"),
            keras.metrics.AUC(name="auc"),
        ],
    )
    return model


def _stacked(cfg: Config) -> keras.Model:
    """The tutorial: Embedding -> Bi-RNN(units, seq) -> RNN(units2) -> Dense -> Dropout -> 1."""
    rnn = RNN_CELLS[cfg.cell]
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")  # (batch, time)
    x = keras.layers.Embedding(cfg.vocab_size, cfg.embed_dim, mask_zero=cfg.mask)(ids)
    x = keras.layers.Bidirectional(rnn(cfg.units, return_sequences=True, dropout=cfg.dropout))(
        x
    )  # (batch, time, 2 * units)
    x = rnn(cfg.units2, dropout=cfg.dropout)(x)  # (batch, units2): the last state
    x = keras.layers.Dense(cfg.dense_units, activation="relu")(x)
    x = keras.layers.Dropout(cfg.dense_dropout)(x)
    prob = keras.layers.Dense(1, activation="sigmoid", name="positive")(x)  # (batch, 1)
    return keras.Model(ids, prob, name=f"{cfg.arch}_{cfg.cell}")


def count_params(cfg: Config) -> int:
    return build_model(cfg).count_params()


def params_table(cfg: Config) -> list[dict]:
    """Parameters of the same architecture with GRU and with LSTM cells; `saving` is the
    share of the LSTM's parameters that the cell saves."""
    gru = count_params(cfg.replace(cell="gru"))
    lstm = count_params(cfg.replace(cell="lstm"))
    return [
        {"cell": "gru", "params": gru, "saving": 1 - gru / lstm},
        {"cell": "lstm", "params": lstm, "saving": 0.0},
    ]
