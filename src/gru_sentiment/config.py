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

KEEP = ("head", "tail", "head+tail")  # the part of a review longer than max_len that is read


@dataclass(frozen=True)
class Config:
    preset: str = "tutorial"
    # --- text -> ids
    vocab_size: int = 10_000  # ids 0..vocab_size-1, the 4 reserved ids included
    max_len: int = 200  # tokens kept per review
    padding: str = "post"  # "post": padding at the end (right-padded masks, cuDNN-friendly)
    keep: str = "head"  # part of a longer review that is read: "head", "tail" or "head+tail"
    # "película" = "pelicula"; for Latin scripts (it folds every diacritic: Cyrillic й -> и)
    strip_accents: bool = False
    # --- model
    # "stacked": the tutorial's BiRNN -> RNN -> Dense; "conv_gru": Conv1D + pairwise max
    # pooling in front of it (masked with mask=true);
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
    # What labels them instead of the n-gram model: a run folder, or a preset name (that
    # preset is trained first, with this seed, and cached); None: the n-gram model.
    teacher: str | None = None
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
    # ULMFiT's fine-tuning (Howard & Ruder 2018; model/finetune.py), each off by default:
    discriminative: float = 1.0  # encoder at learning_rate / this, embedding / this² (ULMFiT 2.6)
    unfreeze: str = "none"  # "gradual": epoch 1 trains above the encoder, 2 adds it, 3 all
    schedule: str = "plateau"  # or "slanted": a per-step triangle peaking at learning_rate
    bucket: bool = False  # length-bucketed batches instead of one global length
    # Adversarial training (model/adversarial.py): each step also fits the batch with the
    # embedded reviews moved this fraction of their norm in the direction of most loss
    # (0: off).
    adversarial: float = 0.0
    # --- classes
    # "balanced": each class weighs n / (classes * its count) in the network's loss and the
    # linear models (rare classes count as much as common ones); "none": every review 1.
    class_weight: str = "none"
    # "ordinal": for classes that are numbers (star ratings), train on soft labels that
    # give neighbouring classes part of the target (SORD, Diaz & Marathe 2019), so that
    # predicting 9 for a 10 costs less than predicting 1; "crossentropy": one-hot targets.
    loss: str = "crossentropy"
    seed: int = 42

    def validate(self) -> Config:
        """Raise ConfigError with a one-line reason when a field has the wrong type or is
        out of range (NaN and infinities included)."""
        hints = typing.get_type_hints(Config)
        for f in fields(self):
            value = getattr(self, f.name)
            if not _has_type(value, hints[f.name]):
                raise ConfigError(f"{f.name} must be {_type_name(hints[f.name])}, got {value!r}")
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}")
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if not low <= value <= high:  # False for NaN
                raise ConfigError(f"{name} must be in [{low:g}, {high:g}], got {value}")
        for name in FRACTIONS:
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.pretrain_lm and self.lm_samples >= self.vocab_size:
            raise ConfigError(f"lm_samples must be below vocab_size ({self.vocab_size})")
        if self.arch == "conv_gru" and self.conv_kernel > self.max_len:
            raise ConfigError(f"conv_kernel must not exceed max_len ({self.max_len})")
        if not 0 < self.val_fraction < 1:  # early stopping and the threshold need validation
            raise ConfigError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if not 0 < self.lr_factor < 1:
            raise ConfigError(f"lr_factor must be in (0, 1), got {self.lr_factor}")
        if self.min_lr > self.learning_rate:
            raise ConfigError(
                f"min_lr ({self.min_lr}) exceeds learning_rate ({self.learning_rate})"
            )
        if self.pretrain_lm and (self.cell != "gru" or self.arch == "conv_gru"):
            raise ConfigError("pretrain_lm=true needs cell=gru and arch stacked or pooled")
        if self.teacher is not None and self.distill_unlabeled == 0:
            raise ConfigError(
                "a teacher labels the unlabeled reviews the network learns from: set "
                "distill_unlabeled (the number of them) too"
            )
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
    "keep": KEEP,
    "arch": ARCHS,
    "cell": ("gru", "lstm"),
    "pooling": ("max", "mean", "max+mean"),
    "monitor": MONITORS,
    "unfreeze": ("none", "gradual"),
    "schedule": ("plateau", "slanted"),
    "class_weight": ("none", "balanced"),
    "loss": ("crossentropy", "ordinal"),
}
# Inclusive bounds: wide enough for any real use, narrow enough that a typo (max_len=1e9,
# learning_rate=50) is an error rather than an out-of-memory crash or a NaN run.
RANGES: dict[str, tuple[float, float]] = {
    "vocab_size": (5, 2_000_000),  # above the 4 reserved ids
    "max_len": (1, 100_000),
    "embed_dim": (1, 4096),
    "units": (1, 4096),
    "units2": (1, 4096),
    "dense_units": (1, 4096),
    "conv_filters": (1, 4096),
    "conv_kernel": (1, 1000),
    "word2vec_epochs": (1, 1000),
    "lm_tokens": (1, 10**11),
    "lm_seq_len": (2, 10_000),
    "lm_batch_size": (1, 65_536),
    "lm_samples": (1, 1_000_000),
    "lm_learning_rate": (1e-8, 10),
    "distill_unlabeled": (0, 100_000_000),
    "batch_size": (1, 65_536),
    "epochs": (1, 10_000),
    "learning_rate": (1e-8, 10),
    "patience": (1, 10_000),
    "lr_patience": (1, 10_000),
    "min_lr": (1e-12, 10),
    "discriminative": (1, 100),  # lower layers never learn faster than the head
    "seed": (0, 2**32 - 1),  # numpy's seed range
}
FRACTIONS = ("dropout", "dense_dropout", "embed_dropout", "lm_dropout", "adversarial")

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
        # keep `make run` within 10 minutes (9.1 cached on a 2-core AMD EPYC: docs/results.md)
        epochs=4,
        patience=2,
        lr_patience=1,
    ),
}
# The default: the recurrent preset plus an n-gram branch, stacked on validation.
PRESETS["hybrid"] = PRESETS["recurrent"].replace(preset="hybrid", ngram_branch=True)
# Two trainings: a first hybrid labels the unlabeled reviews (a stronger teacher than the
# n-gram model), then the hybrid is trained again with its GRU learning from those labels.
PRESETS["student"] = PRESETS["hybrid"].replace(preset="student", teacher="hybrid")
DEFAULT_PRESET = "hybrid"


def _has_type(value: object, kind: object) -> bool:
    """Whether `value` fits the annotation `kind` (bool is no int here, an int is a float)."""
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    if value is None:
        return type(None) in options
    if isinstance(value, bool):
        return bool in options
    if isinstance(value, int) and float in options:
        return True
    return any(isinstance(value, t) for t in options if t is not type(None))


def _type_name(kind: object) -> str:
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    return " or ".join("null" if t is type(None) else f"a {t.__name__}" for t in options)


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
        if name == "preset":  # the name records what the run started from
            raise ConfigError("--set cannot rename the preset; choose one with --preset")
        changes[name] = convert(name, raw.strip())
    return config.replace(**changes).validate()
