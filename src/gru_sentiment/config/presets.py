"""The named presets: the tutorial as written, and the recurrent family built on it."""

from __future__ import annotations

from ..errors import ConfigError
from .root import Config
from .sections import Distill, Fit, Init, Network, Text

PRESETS: dict[str, Config] = {
    # Exactly the notebook: Embedding(10000,128) -> BiGRU(64) -> GRU(32) -> Dense(32) -> 1.
    "tutorial": Config(),
    # Pure recurrent: masked BiGRU over (nearly) whole reviews, max + mean pooling, its
    # embedding started by word2vec on the train + unlabeled reviews, trained on the train
    # split plus unlabeled reviews labelled by the n-gram model (distillation). Why these
    # and not a language-model start: docs/decisions.md.
    "recurrent": Config(
        preset="recurrent",
        text=Text(vocab_size=30_000, max_len=400, keep="head+tail"),
        network=Network(
            arch="pooled",
            units=64,
            embed_dim=128,
            dropout=0.0,
            embed_dropout=0.25,
            dense_units=64,
            dense_dropout=0.3,
            mask=True,
        ),
        init=Init(word2vec=True),
        distill=Distill(unlabeled=30_000),
        # patience 2: validation loss is noisy around epoch 3; 4 epochs keep `make run`
        # short on two cores (docs/results.md)
        fit=Fit(batch_size=64, epochs=4, patience=2, lr_patience=1, bucket=True),
    ),
}
# The default: the recurrent preset plus an n-gram branch, stacked on validation.
PRESETS["hybrid"] = PRESETS["recurrent"].set({"preset": "hybrid", "network.ngrams": True})
# Two trainings: a first hybrid labels the unlabeled reviews (a stronger teacher than the
# n-gram model), then the hybrid is trained again with its GRU learning from those labels.
PRESETS["student"] = PRESETS["hybrid"].set({"preset": "student", "distill.teacher": "hybrid"})
DEFAULT_PRESET = "hybrid"


def preset(name: str) -> Config:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r} (choose from: {', '.join(PRESETS)})")
    return PRESETS[name]
