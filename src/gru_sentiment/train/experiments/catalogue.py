"""The experiments: each of the tutorial's "ideas to explore" as a question, the variants
of the base config that answer it, and how the answer is read off their rows.
`EXPERIMENTS` is the one list of them: the command's names, the overview's sections."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ...config import Config
from ...model.embeddings import vector_dim

BASE_PRESET = "tutorial"  # the experiments vary the tutorial's model
# The tutorial's model without a mask stays near chance for its first epochs (padding
# read as input: docs/decisions.md), so the experiments mask the padding and batch
# reviews by length, as the presets do (--set network.mask=false undoes it).
BASE_OVERRIDES = ("network.mask=true", "fit.bucket=true")
UNITS, DROPOUTS = (32, 64, 128), (0.0, 0.2, 0.5)  # the units experiment's grid
WHOLE = 100_000  # max_len that keeps every review whole (bucketed: no padding to it)

# How an answer is read off the rows.
AGAINST_BASE = "against the base"  # trained variants compared with the base's run
THRESHOLD_SWEEP = "threshold sweep"  # one model's predictions cut at several thresholds

MEASURES = {  # per-run measure -> table heading
    "params": "parameters",
    "seconds_per_epoch": "s/epoch",
    "validation_accuracy": "validation accuracy",
    "accuracy": "test accuracy",
    "f1": "F1",
    "roc_auc": "ROC-AUC",
    "best_epoch": "best epoch",
    "truncated": "test reviews truncated",
}
THRESHOLD_MEASURES = {  # per-threshold measure -> table heading
    "threshold": "threshold",
    "val_accuracy": "validation accuracy",
    "accuracy": "test accuracy",
    "precision": "test precision",
    "recall": "test recall",
    "f1": "test F1",
}
# The share truncated differs only when max_len does: the other tables leave it out.
COMMON = tuple(k for k in MEASURES if k != "truncated")


@dataclass(frozen=True)
class Variant:
    label: str  # the row's name in tables and plots
    changes: dict = field(default_factory=dict)  # Config paths changed from the base


@dataclass(frozen=True)
class Experiment:
    """One of the tutorial's questions, the rows that answer it and how the answer is
    read: with AGAINST_BASE, the variant validation prefers against the base's row (or
    the runner-up), its test accuracy weighed against the seed-to-seed spread and its
    cost; with THRESHOLD_SWEEP, the threshold validation chooses against 0.50."""

    name: str  # the command's argument, the results' folder
    question: str  # one line: the heading of the answer
    description: str  # what varies: the paragraph under the answer
    # The rows as changes to the base config (given the --vectors file, or None).
    variants: Callable[[Config, Path | None], tuple[Variant, ...]]
    answer: str = AGAINST_BASE
    # The table's measures; one beyond COMMON is what the variants trade for accuracy,
    # so the answer names its cost too.
    columns: tuple[str, ...] = COMMON
    bars: tuple[str, ...] = ("accuracy", "seconds_per_epoch")  # the chart's measures
    vectors: bool = False  # reads --vectors (the results name the vectors used)

    def rows(self, base: Config, vectors: Path | None = None) -> tuple[Variant, ...]:
        """The variants less the changes `base` already has: a row left with none is
        the base's own run, which the answer compares the others with."""
        return tuple(
            Variant(row.label, {k: v for k, v in row.changes.items() if base.get(k) != v})
            for row in self.variants(base, vectors)
        )


def _lengths(base: Config, vectors: Path | None) -> tuple[Variant, ...]:
    lengths = tuple(Variant(f"max_len={n}", {"text.max_len": n}) for n in (100, 200, 400, 800))
    return (*lengths, Variant("whole review", {"text.max_len": WHOLE}))


def _cells(base: Config, vectors: Path | None) -> tuple[Variant, ...]:
    units, units2 = lstm_units_like_gru(base)
    return (
        Variant("GRU", {"network.cell": "gru"}),
        Variant("LSTM, same units", {"network.cell": "lstm"}),
        Variant(
            f"LSTM, GRU's parameters ({units}/{units2})",
            {"network.cell": "lstm", "network.units": units, "network.units2": units2},
        ),
    )


def _units(base: Config, vectors: Path | None) -> tuple[Variant, ...]:
    return tuple(
        Variant(
            f"units {u}/{u // 2}, dropout {d}",
            {"network.units": u, "network.units2": u // 2, "network.dropout": d},
        )
        for u in UNITS
        for d in DROPOUTS
    )


def _conv_front(base: Config, vectors: Path | None) -> tuple[Variant, ...]:
    return (
        Variant("GRU (stacked)", {"network.arch": "stacked"}),
        Variant("Conv1D + GRU", {"network.arch": "conv_gru"}),
        Variant("Conv1D + GRU, no mask", {"network.arch": "conv_gru", "network.mask": False}),
        # pooling halves the steps: twice the tokens cost the GRUs what the base's do
        Variant(
            f"Conv1D + GRU, {2 * base.text.max_len} tokens",
            {"network.arch": "conv_gru", "text.max_len": 2 * base.text.max_len},
        ),
    )


def _base_only(base: Config, vectors: Path | None) -> tuple[Variant, ...]:
    return (Variant("base"),)  # the threshold sweep cuts the base's predictions


def _pretrained(base: Config, vectors: Path | None) -> tuple[Variant, ...]:
    """From scratch versus initialised from `vectors` (at their dimension), or, without a
    file, from word2vec trained by the pipeline on the train + unlabeled reviews and from
    the GRU language model pretrained on them (embedding and recurrent layers)."""
    if vectors is None:
        return (
            Variant("from scratch"),
            Variant("word2vec init", {"init.word2vec": True}),
            Variant("GRU language model init", {"init.lm": True}),
        )
    dim = vector_dim(vectors)
    return (
        Variant(f"from scratch ({dim}d)", {"network.embed_dim": dim}),
        Variant(
            f"{vectors.name} init",
            {"network.embed_dim": dim, "init.vectors": str(vectors.resolve())},
        ),
    )


def lstm_units_like_gru(base: Config) -> tuple[int, int]:
    """LSTM units (first, second layer, in the base's ratio) whose network has the
    parameter count nearest the GRU base's: an LSTM cell has 4 weight sets to the GRU's
    3, so equal units give it a third more recurrent weights."""
    from ...model.networks import count_params

    target = count_params(base.set({"network.cell": "gru"}))
    ratio = base.network.units2 / base.network.units

    def params(units: int) -> int:
        return count_params(
            base.set(
                {
                    "network.cell": "lstm",
                    "network.units": units,
                    "network.units2": max(1, round(units * ratio)),
                }
            )
        )

    low, high = 1, base.network.units  # params grow with units: bisect for the last one <= target
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if params(middle) <= target else (low, middle - 1)
    units = min((low, low + 1), key=lambda u: abs(params(u) - target))
    return units, max(1, round(units * ratio))


_CATALOGUE = (  # in the overview's order
    Experiment(
        "maxlen",
        "Does reading more of each review pay?",
        "Maximum review length (tokens kept per review, the head), batches bucketed by "
        "length: accuracy against seconds per epoch, and the share of test reviews truncated.",
        _lengths,
        columns=tuple(MEASURES),
    ),
    Experiment(
        "cell",
        "Is a GRU faster or better than an LSTM?",
        "GRU versus LSTM cells in the same architecture, at equal units and at equal "
        "parameters: parameters, time, accuracy.",
        _cells,
        bars=("accuracy", "seconds_per_epoch", "params"),
    ),
    Experiment(
        "units",
        "How many units and how much dropout?",
        "Recurrent units (first/second layer) by input dropout of the recurrent layers.",
        _units,
    ),
    Experiment(
        "conv-gru",
        "Does a Conv1D front help the GRU?",
        "A Conv1D + pairwise max-pooling front (local n-grams, half the steps) "
        "before the GRUs versus the plain stacked GRUs; the front with the mask kept "
        "(padding read as zeros, mask halved with the steps) and without it; and the front "
        "reading twice the tokens, which its pooling turns into the plain GRUs' number of steps.",
        _conv_front,
    ),
    Experiment(
        "threshold",
        "Which decision threshold?",
        "Decision threshold: chosen on validation (best accuracy), reported on test.",
        _base_only,
        answer=THRESHOLD_SWEEP,
        columns=tuple(THRESHOLD_MEASURES),
    ),
    Experiment(
        "embeddings",
        "Do pretrained embeddings help?",
        "Embedding initialised from pretrained word vectors (a GloVe / fastText "
        "file, or word2vec trained on the train + unlabeled reviews) or with the recurrent "
        "layers from a GRU language model pretrained on them, versus learned from scratch.",
        _pretrained,
        vectors=True,
    ),
)
EXPERIMENTS = {experiment.name: experiment for experiment in _CATALOGUE}
NAMES = tuple(EXPERIMENTS)
