"""Which reviews a run reads: IMDB or a user's labeled file, cut into train /
validation (carved from train, stratified, seeded) / test, plus the unlabeled texts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .corpus import Corpus, Split, subsample, train_validation
from .imdb import load_imdb
from .tables import load_table

TABLE_SUFFIXES = (".csv", ".jsonl", ".ndjson")  # a user's own labeled file


def load_corpus(
    path: str | Path | None,
    text_column: str = "text",
    label_column: str = "label",
    splits: tuple[str, ...] = ("train", "test"),
) -> Corpus:
    """IMDB (folder, archive, download) or, for a .csv / .jsonl path, the user's own corpus."""
    if path is not None and Path(path).suffix.lower() in TABLE_SUFFIXES:
        return load_table(path, text_column, label_column)
    return load_imdb(path, splits=splits)


@dataclass
class DataSpec:
    """Where the reviews come from and how much of them to use."""

    path: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    train_limit: int | None = None
    test_limit: int | None = None

    @classmethod
    def from_record(cls, values: dict) -> DataSpec:
        """The spec a run recorded in its config.json."""
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


SPLIT_ORDER = ("train", "validation", "test")


@dataclass
class Splits:
    """What one run reads: train / validation (carved from train) / test, and the
    unlabeled texts (IMDB's train/unsup) when the run learns from them."""

    train: Split
    validation: Split
    test: Split
    source: str
    skipped: dict
    unlabeled: list[str]

    def sizes(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in SPLIT_ORDER}


def load_splits(spec: DataSpec, seed: int, val_fraction: float, unlabeled: bool) -> Splits:
    """Train / validation (carved from train with `seed`) / test, and the unlabeled texts
    when asked for (an own CSV corpus has none)."""
    names = ("train", "test", "unsup") if unlabeled else ("train", "test")
    corpus = load_corpus(spec.path, spec.text_column, spec.label_column, names)
    train, validation = train_validation(
        subsample(corpus["train"], spec.train_limit, seed), val_fraction, seed
    )
    test = subsample(corpus["test"], spec.test_limit, seed)
    texts = corpus["unsup"].texts if "unsup" in corpus.splits else []
    return Splits(train, validation, test, corpus.source, dict(corpus.skipped), texts)
