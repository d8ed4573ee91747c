"""Every knob of a run in one dataclass, and the named presets built from it.

The resolved config is saved in each run folder (`config.json`), so prediction and
serving rebuild preprocessing and model from the folder, never from flags.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Config:
    preset: str = "tutorial"
    # --- text -> ids
    vocab_size: int = 10_000  # ids 0..vocab_size-1, the 4 reserved ids included
    max_len: int = 200  # tokens kept per review
    padding: str = "post"  # "post": padding at the end (right-padded masks, cuDNN-friendly)
    truncating: str = "post"  # "post" keeps the beginning, "pre" the end, "head+tail" both
    # --- model
    # "stacked": the tutorial's BiRNN -> RNN -> Dense; "conv_gru": Conv1D in front of it;
    # "pooled": masked BiRNN, then max + mean pooling over time
    arch: str = "stacked"
    cell: str = "gru"  # "gru" or "lstm"
    embed_dim: int = 128
    units: int = 64  # first (bidirectional) recurrent layer, per direction
    units2: int = 32  # second recurrent layer (stacked arch)
    dropout: float = 0.2  # input dropout inside the recurrent layers (keeps the fast kernel)
    dense_units: int = 32
    dense_dropout: float = 0.3
    mask: bool = False  # mask padding (id 0); the tutorial does not
    embed_dropout: float = 0.0  # spatial dropout on embeddings: drops whole channels
    pooling: str = "max+mean"  # pooled arch: "max", "mean" or "max+mean" over time
    conv_filters: int = 64  # conv_gru arch
    conv_kernel: int = 5
    vectors: str | None = None  # GloVe / fastText text file initialising the embedding
    freeze_embeddings: bool = False
    # Initialise the embedding with word2vec trained on train + unlabeled reviews (IMDB's
    # 50,000 train/unsup ones; a CSV corpus has none, so only its train texts).
    pretrain_word2vec: bool = False
    word2vec_epochs: int = 3
    # Hybrid: add an n-gram branch (NB-weighted logistic regression on hashed 1..3-grams of
    # the token ids of whole reviews) and combine both models' log-odds with weights
    # fitted on validation.
    ngram_branch: bool = False
    # --- training
    batch_size: int = 128
    epochs: int = 8
    learning_rate: float = 1e-3
    val_fraction: float = 0.2  # carved from train, stratified, seeded
    patience: int = 2  # early stopping, best weights restored
    monitor: str = "val_loss"  # what early stopping watches: "val_loss" or "val_accuracy"
    lr_factor: float = 0.5  # ReduceLROnPlateau on val_loss
    lr_patience: int = 1
    min_lr: float = 1e-5
    bucket: bool = False  # length-bucketed batches instead of one global length
    seed: int = 42

    def validate(self) -> Config:
        """Raise ValueError with a one-line reason when a field is out of range."""
        choices = {
            "padding": ("post", "pre"),
            "truncating": ("post", "pre", "head+tail"),
            "arch": ARCHS,
            "cell": ("gru", "lstm"),
            "pooling": ("max", "mean", "max+mean"),
            "monitor": MONITORS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}")
        positive = (
            "vocab_size",
            "max_len",
            "embed_dim",
            "units",
            "units2",
            "dense_units",
            "batch_size",
            "epochs",
            "learning_rate",
            "patience",
            "lr_patience",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.vocab_size <= 4:
            raise ValueError("vocab_size must exceed the 4 reserved ids")
        for name in ("dropout", "dense_dropout", "embed_dropout", "val_fraction"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.padding == "pre" and self.mask:
            raise ValueError("mask=true needs padding=post (left-padded masks break cuDNN GRUs)")
        return self

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Config:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


ARCHS = ("stacked", "conv_gru", "pooled")
MONITORS = ("val_loss", "val_accuracy")

PRESETS: dict[str, Config] = {
    # Exactly the notebook: Embedding(10000,128) -> BiGRU(64) -> GRU(32) -> Dense(32) -> 1.
    "tutorial": Config(),
    # Pure recurrent: masked BiGRU over (nearly) whole reviews, max + mean pooling, its
    # embedding initialised by word2vec on the train + 50,000 unlabeled reviews.
    "recurrent": Config(
        preset="recurrent",
        vocab_size=30_000,
        max_len=400,
        truncating="head+tail",
        arch="pooled",
        units=64,
        embed_dim=128,
        dropout=0.0,
        embed_dropout=0.25,
        dense_units=64,
        dense_dropout=0.3,
        mask=True,
        bucket=True,
        batch_size=64,
        pretrain_word2vec=True,
        # val_loss of the word2vec-initialised model is noisy around epoch 3: patience 1
        # stopped seeds 1 and 2 at epoch 2 (recurrent branch 88.3%), patience 2 reached
        # epoch 4 (89.2%) for seed 42. Stopping on val_accuracy (monitor, 8 epochs) was
        # tried and not adopted: it keeps later epochs, whose validation gains partly come
        # from movies that validation shares with train (README, ablation).
        epochs=6,
        patience=2,
        lr_patience=1,
    ),
}
# The default: the recurrent preset plus an n-gram branch, stacked on validation.
PRESETS["hybrid"] = PRESETS["recurrent"].replace(preset="hybrid", ngram_branch=True)
DEFAULT_PRESET = "hybrid"


def preset(name: str) -> Config:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r} (choose from: {', '.join(PRESETS)})")
    return PRESETS[name]


def parse_overrides(config: Config, assignments: list[str]) -> Config:
    """Apply `field=value` strings, converting each value to the field's type."""
    types = {f.name: f.type for f in fields(Config)}
    changes = {}
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in types:
            raise ValueError(
                f"--set expects FIELD=VALUE with FIELD one of: {', '.join(types)}; "
                f"got {assignment!r}"
            )
        kind = types[name]
        try:
            if kind == "bool":
                if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                value = raw.lower() in ("true", "1", "yes")
            elif kind == "int":
                value = int(raw)
            elif kind == "float":
                value = float(raw)
            elif kind == "str | None":
                value = raw or None
            else:
                value = raw
        except ValueError:
            raise ValueError(f"{name} expects a {kind}, got {raw!r}") from None
        changes[name] = value
    return config.replace(**changes).validate()
