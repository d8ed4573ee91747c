"""Every knob of a run, in sections: how text becomes ids, the network, how its weights
start, distillation, the fit, and the classes.

Optional parts (`init.lm`, `distill`, `fit.finetune`) are None unless used. The resolved
config is saved in each run folder (`config.json`, in sections), so prediction and serving
rebuild preprocessing and model from the folder, never from flags.
"""

from __future__ import annotations

from dataclasses import dataclass

from .knobs import FRACTION, INSIDE, knob, section

KEEP = ("head", "tail", "head+tail")  # the part of a review longer than max_len that is read
ARCHS = ("stacked", "conv_gru", "pooled")  # model/networks.py registers one builder each
MONITORS = ("val_loss", "val_accuracy")
WIDTH = (1, 4096)  # units of any layer


@dataclass(frozen=True)
class Text:
    vocab_size: int = knob(
        10_000,
        "ids 0..vocab_size-1, the 4 reserved ids included",
        bounds=(5, 2_000_000),
        old="vocab_size",
    )
    max_len: int = knob(200, "tokens kept per review", bounds=(1, 100_000), old="max_len")
    padding: str = knob(
        "post",
        "where padding goes; post keeps masks right-padded (cuDNN-friendly)",
        choices=("post", "pre"),
        old="padding",
    )
    keep: str = knob("head", "part of a longer review that is read", choices=KEEP, old="keep")
    strip_accents: bool = knob(
        False, "fold diacritics (pelicula = película); for Latin scripts", old="strip_accents"
    )


@dataclass(frozen=True)
class Network:
    arch: str = knob(
        "stacked",
        "stacked: the tutorial's BiRNN -> RNN -> Dense; conv_gru: Conv1D + max "
        "pooling in front of it; pooled: masked BiRNN, then pooling over time",
        choices=ARCHS,
        old="arch",
    )
    cell: str = knob("gru", "recurrent cell", choices=("gru", "lstm"), old="cell")
    embed_dim: int = knob(128, "embedding width", bounds=WIDTH, old="embed_dim")
    units: int = knob(64, "first (bidirectional) layer, per direction", bounds=WIDTH, old="units")
    units2: int = knob(
        32, "second recurrent layer", bounds=WIDTH, archs=("stacked", "conv_gru"), old="units2"
    )
    dropout: float = knob(
        0.2,
        "input dropout inside the recurrent layers (keeps the fast kernel)",
        bounds=FRACTION,
        old="dropout",
    )
    dense_units: int = knob(32, "dense layer before the output", bounds=WIDTH, old="dense_units")
    dense_dropout: float = knob(
        0.3, "dropout before the dense layer", bounds=FRACTION, old="dense_dropout"
    )
    mask: bool = knob(False, "mask padding (id 0); the tutorial does not", old="mask")
    embed_dropout: float = knob(
        0.0,
        "spatial dropout on embeddings: drops whole channels",
        bounds=FRACTION,
        old="embed_dropout",
    )
    pooling: str = knob(
        "max+mean",
        "pooling over time",
        choices=("max", "mean", "max+mean"),
        archs=("pooled",),
        old="pooling",
    )
    conv_filters: int = knob(
        64, "Conv1D filters", bounds=WIDTH, archs=("conv_gru",), old="conv_filters"
    )
    conv_kernel: int = knob(
        5, "Conv1D kernel width", bounds=(1, 1000), archs=("conv_gru",), old="conv_kernel"
    )
    ngrams: bool = knob(
        False,
        "hybrid: add an n-gram branch (NB-weighted logistic regression on hashed "
        "1..3-grams) whose log-odds are combined with the network's on validation",
        old="ngram_branch",
    )


@dataclass(frozen=True)
class LanguageModel:
    """A forward + backward GRU language model trained on the train and unlabeled reviews
    (never validation or test) starts the embedding and the first layer."""

    tokens: int = knob(
        6_000_000, "tokens of the review stream read in all", bounds=(1, 10**11), old="lm_tokens"
    )
    seq_len: int = knob(
        64,
        "window: backpropagation through time is cut there",
        bounds=(2, 10_000),
        old="lm_seq_len",
    )
    batch_size: int = knob(128, "windows per step", bounds=(1, 65_536), old="lm_batch_size")
    samples: int = knob(
        512, "sampled-softmax negatives per step", bounds=(1, 1_000_000), old="lm_samples"
    )
    learning_rate: float = knob(3e-3, "Adam's step size", bounds=(1e-8, 10), old="lm_learning_rate")
    dropout: float = knob(0.1, "dropout on the embedded input", bounds=FRACTION, old="lm_dropout")


@dataclass(frozen=True)
class Init:
    vectors: str | None = knob(
        None, "GloVe / fastText text file that starts the embedding", old="vectors"
    )
    freeze: bool = knob(False, "keep the embedding fixed while training", old="freeze_embeddings")
    word2vec: bool = knob(
        False,
        "start the embedding from word2vec on the train + unlabeled reviews (a CSV "
        "corpus has no unlabeled ones: its train texts)",
        old="pretrain_word2vec",
    )
    word2vec_epochs: int = knob(3, "word2vec passes", bounds=(1, 1000), old="word2vec_epochs")
    lm: LanguageModel | None = section(
        LanguageModel, "language-model pretraining (ULMFiT's start)", optional=True
    )

    @property
    def language_model(self) -> LanguageModel:
        """The LM's settings: its defaults when the config starts from none (a `pretrain`
        command, or an LM folder given to `train`)."""
        return self.lm or LanguageModel()


@dataclass(frozen=True)
class Distill:
    """Unlabeled reviews join the network's training data with soft labels."""

    unlabeled: int = knob(30_000, "unlabeled reviews added", bounds=(1, 100_000_000))
    teacher: str | None = knob(
        None,
        "what labels them: a run folder or a preset name (trained first with this seed "
        "and cached); null: the n-gram model fitted on the train split",
        old="teacher",
    )


@dataclass(frozen=True)
class Finetune:
    """ULMFiT's fine-tuning (Howard & Ruder 2018; model/finetune.py)."""

    discriminative: float = knob(
        1.0,
        "encoder at learning_rate / this, embedding / this squared",
        bounds=(1, 100),
        old="discriminative",
    )
    unfreeze: str = knob(
        "none",
        "gradual: epoch 1 trains above the encoder, 2 adds it, 3 all",
        choices=("none", "gradual"),
        old="unfreeze",
    )
    schedule: str = knob(
        "plateau",
        "slanted: a per-step triangle peaking at learning_rate",
        choices=("plateau", "slanted"),
        old="schedule",
    )


@dataclass(frozen=True)
class Fit:
    batch_size: int = knob(128, "reviews per step", bounds=(1, 65_536), old="batch_size")
    epochs: int = knob(8, "most passes over the train split", bounds=(1, 10_000), old="epochs")
    learning_rate: float = knob(1e-3, "Adam's step size", bounds=(1e-8, 10), old="learning_rate")
    val_fraction: float = knob(
        0.2,
        "validation share carved from train (stratified, seeded); early stopping and "
        "the threshold need it",
        bounds=INSIDE,
        old="val_fraction",
    )
    patience: int = knob(
        2, "early stopping; best weights restored", bounds=(1, 10_000), old="patience"
    )
    monitor: str = knob("val_loss", "what early stopping watches", choices=MONITORS, old="monitor")
    lr_factor: float = knob(
        0.5, "ReduceLROnPlateau's factor on val_loss", bounds=INSIDE, old="lr_factor"
    )
    lr_patience: int = knob(
        1, "ReduceLROnPlateau's patience", bounds=(1, 10_000), old="lr_patience"
    )
    min_lr: float = knob(1e-5, "lowest learning rate", bounds=(1e-12, 10), old="min_lr")
    crops: float = knob(
        0.0,
        "share of train reviews also trained on as a sentence crop (their first or last 1-3 "
        "sentences, with the review's label): short texts for the network to learn from",
        bounds=(0.0, 1.0),
        old="crops",
    )
    bucket: bool = knob(False, "length-bucketed batches instead of one global length", old="bucket")
    adversarial: float = knob(
        0.0,
        "each step also fits the embedded batch moved this fraction of its norm "
        "towards most loss (model/adversarial.py; 0: off)",
        bounds=FRACTION,
        old="adversarial",
    )
    finetune: Finetune | None = section(Finetune, "ULMFiT's fine-tuning", optional=True)

    @property
    def tuning(self) -> Finetune:
        """The fine-tuning in force: its defaults (plain training) when it is off."""
        return self.finetune or Finetune()


@dataclass(frozen=True)
class Classes:
    weight: str = knob(
        "none",
        "balanced: each class weighs n / (classes * its count) in the losses",
        choices=("none", "balanced"),
        old="class_weight",
    )
    loss: str = knob(
        "crossentropy",
        "ordinal: soft labels giving neighbouring classes part of the target "
        "(SORD, Diaz & Marathe 2019), for classes that are numbers",
        choices=("crossentropy", "ordinal"),
        old="loss",
    )
