"""Every knob of a run in one dataclass, and the named presets built from it.

The resolved config is saved in each run folder (`config.json`), so prediction and
serving rebuild preprocessing and model from the folder, never from flags.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, fields

from .errors import ConfigError


@dataclass(frozen=True)
class Config:
    preset: str = "tutorial"
    # --- text -> ids
    vocab_size: int = 10_000  # ids 0..vocab_size-1, the 4 reserved ids included
    max_len: int = 200  # tokens kept per review
    padding: str = "post"  # "post": padding at the end (right-padded masks, cuDNN-friendly)
    keep: str = "head"  # part of a longer review that is read: "head", "tail" or "head+tail"
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
    # Language-model pretraining (train/pretrain.py): the embedding and the first
    # (bidirectional GRU) layer start from a forward + backward GRU language model trained
    # on the train and unlabeled reviews (never validation or test).
    pretrain_lm: bool = False
    lm_tokens: int = 6_000_000  # tokens of the review stream the LM reads in all
    lm_seq_len: int = 64  # window length: backpropagation through time is cut there
    lm_batch_size: int = 128
    lm_samples: int = 512  # sampled-softmax negatives per step
    lm_learning_rate: float = 3e-3
    lm_dropout: float = 0.1  # on the LM's embedded input
    # Distillation: this many unlabeled reviews join the network's training data, labelled
    # with the soft probabilities of the n-gram model fitted on the train split.
    distill_unlabeled: int = 0
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
        """Raise ConfigError with a one-line reason when a field is out of range."""
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}")
        for name in POSITIVE:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        for name in FRACTIONS:
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.vocab_size <= 4:
            raise ConfigError("vocab_size must exceed the 4 reserved ids")
        if not 0 < self.lr_factor < 1:
            raise ConfigError(f"lr_factor must be in (0, 1), got {self.lr_factor}")
        if self.min_lr > self.learning_rate:
            raise ConfigError(
                f"min_lr ({self.min_lr}) exceeds learning_rate ({self.learning_rate})"
            )
        if self.pretrain_lm and (self.cell != "gru" or self.arch == "conv_gru"):
            raise ConfigError("pretrain_lm=true needs cell=gru and arch stacked or pooled")
        if self.padding == "pre" and self.mask:
            raise ConfigError("mask=true needs padding=post (left-padded masks break cuDNN GRUs)")
        return self

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Config:
        """A Config from a run's config.json; an unknown field is an error (a run from a
        newer version, or an edited file), never silently dropped."""
        values = dict(values)
        if "truncating" in values:  # run folders written before `keep` named it this way
            old = values.pop("truncating")
            values["keep"] = {"post": "head", "pre": "tail"}.get(old, old)
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)}")
        return cls(**values)


ARCHS = ("stacked", "conv_gru", "pooled")
MONITORS = ("val_loss", "val_accuracy")
CHOICES = {
    "padding": ("post", "pre"),
    "keep": ("head", "tail", "head+tail"),
    "arch": ARCHS,
    "cell": ("gru", "lstm"),
    "pooling": ("max", "mean", "max+mean"),
    "monitor": MONITORS,
}
POSITIVE = (
    "vocab_size",
    "max_len",
    "embed_dim",
    "units",
    "units2",
    "dense_units",
    "conv_filters",
    "conv_kernel",
    "word2vec_epochs",
    "batch_size",
    "epochs",
    "learning_rate",
    "patience",
    "lr_patience",
    "min_lr",
    "lm_tokens",
    "lm_seq_len",
    "lm_batch_size",
    "lm_samples",
    "lm_learning_rate",
)
FRACTIONS = ("dropout", "dense_dropout", "embed_dropout", "val_fraction", "lm_dropout")

PRESETS: dict[str, Config] = {
    # Exactly the notebook: Embedding(10000,128) -> BiGRU(64) -> GRU(32) -> Dense(32) -> 1.
    "tutorial": Config(),
    # Pure recurrent: masked BiGRU over (nearly) whole reviews, max + mean pooling, its
    # embedding initialised by word2vec on the train + 50,000 unlabeled reviews, trained on
    # the train split plus 30,000 unlabeled reviews labelled by the n-gram model
    # (distillation; a language-model start, pretrain_lm, did not beat word2vec on
    # validation: docs/decisions.md).
    "recurrent": Config(
        preset="recurrent",
        vocab_size=30_000,
        max_len=400,
        keep="head+tail",
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
        distill_unlabeled=30_000,
        # patience 2: validation loss is noisy around epoch 3; 4 epochs of 50,000 reviews
        # keep `make run` within 10 minutes (docs/decisions.md)
        epochs=4,
        patience=2,
        lr_patience=1,
    ),
}
# The default: the recurrent preset plus an n-gram branch, stacked on validation.
PRESETS["hybrid"] = PRESETS["recurrent"].replace(preset="hybrid", ngram_branch=True)
DEFAULT_PRESET = "hybrid"


def preset(name: str) -> Config:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r} (choose from: {', '.join(PRESETS)})")
    return PRESETS[name]


TRUE_WORDS, FALSE_WORDS = ("true", "1", "yes"), ("false", "0", "no")


def convert(name: str, raw: str) -> object:
    """`raw` as the type of Config field `name` (its real annotation, not its string)."""
    kind = typing.get_type_hints(Config)[name]
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    if type(None) in options and raw.lower() in ("", "none", "null"):
        return None
    base = next(t for t in options if t is not type(None))
    if base is bool:
        if raw.lower() not in TRUE_WORDS + FALSE_WORDS:
            raise ConfigError(f"{name} expects true or false, got {raw!r}")
        return raw.lower() in TRUE_WORDS
    try:
        return base(raw)
    except ValueError:
        raise ConfigError(f"{name} expects a {base.__name__}, got {raw!r}") from None


def parse_overrides(config: Config, assignments: list[str]) -> Config:
    """Apply `field=value` strings, converting each value to the field's type."""
    names = [f.name for f in fields(Config)]
    changes = {}
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in names:
            raise ConfigError(
                f"--set expects FIELD=VALUE with FIELD one of: {', '.join(names)}; "
                f"got {assignment!r}"
            )
        changes[name] = convert(name, raw.strip())
    return config.replace(**changes).validate()
