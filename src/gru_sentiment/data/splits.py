"""Which reviews a run reads: IMDB or a user's labeled file, cut into train /
validation (carved from train, stratified, seeded) / test, plus the unlabeled texts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from .corpus import CLASS_NAMES, RATINGS, Corpus, Split, by_rating, subsample, train_validation
from .imdb import load_imdb
from .tables import load_table

TABLE_SUFFIXES = (".csv", ".jsonl", ".ndjson")  # a user's own labeled file
# What a run learns to predict: the file's label column (IMDB: negative/positive), or
# IMDB's star rating (8 classes).
TARGETS = ("label", "rating")


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
    target: str = "label"

    @classmethod
    def from_record(cls, values: dict) -> DataSpec:
        """The spec a run recorded in its config.json."""
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})

    @classmethod
    def of_run(cls, record: dict) -> DataSpec:
        """The data a run read, from its whole config.json: the recorded path may be
        relative to where train ran, so when it is not here, `source` (the absolute path
        it was read from) stands in."""
        spec = cls.from_record(record.get("data", {}))
        source = record.get("source")
        if not (spec.path and Path(spec.path).exists()) and source and Path(source).exists():
            spec.path = source
        return spec


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
    classes: tuple[str, ...] = CLASS_NAMES  # label i is classes[i]
    warnings: list[str] = field(default_factory=list)  # worth telling, not worth stopping

    def sizes(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in SPLIT_ORDER}


def load_splits(spec: DataSpec, seed: int, val_fraction: float, unlabeled: bool) -> Splits:
    """Train / validation (carved from train with `seed`) / test, and the unlabeled texts
    when asked for (an own CSV corpus has none). DataError unless every split has
    reviews and train has two classes at least."""
    names = ("train", "test", "unsup") if unlabeled else ("train", "test")
    corpus = load_corpus(spec.path, spec.text_column, spec.label_column, names)
    if spec.target not in TARGETS:
        raise DataError(f"target must be one of {', '.join(TARGETS)}, not {spec.target!r}")
    if spec.target == "rating":
        corpus = rating_corpus(corpus)
    train, validation = train_validation(
        subsample(corpus["train"], spec.train_limit, seed), val_fraction, seed
    )
    test = subsample(corpus["test"], spec.test_limit, seed)
    texts = corpus["unsup"].texts if "unsup" in corpus.splits else []
    splits = Splits(
        train, validation, test, corpus.source, dict(corpus.skipped), texts, corpus.classes
    )
    check_splits(splits, val_fraction)
    return splits


def rating_corpus(corpus: Corpus) -> Corpus:
    """IMDB with each review's star rating (from its file name) as its class."""
    if not all(split.ratings.all() for split in corpus.splits.values() if split.name != "unsup"):
        raise DataError(
            f"{corpus.source}: --target rating needs IMDB's star ratings (its file names); "
            "for your own file, put the ratings in the label column"
        )
    splits = {name: by_rating(s) if name != "unsup" else s for name, s in corpus.splits.items()}
    classes = tuple(str(r) for r in RATINGS)
    return Corpus(splits, corpus.source, corpus.skipped, classes)


def check_splits(splits: Splits, val_fraction: float) -> None:
    """Refuse, before a run writes anything, splits it could not learn from or be
    measured on (an empty split or a one-class train set ends in NaN metrics)."""
    fill = {  # how to fill each split; test first: with too few rows it is empty too
        "test": "add rows, or give the file a 'split' column with rows marked 'test'",
        "train": "add labeled rows (with a 'split' column: rows marked 'train')",
        "validation": f"add training rows, or raise val_fraction (now {val_fraction}) "
        "with --set val_fraction=...",
    }
    sizes = ", ".join(f"{name} {n:,}" for name, n in splits.sizes().items())
    sizes += "".join(f"; skipped {n:,}: {reason}" for reason, n in splits.skipped.items())
    for name, how in fill.items():
        if not len(getattr(splits, name)):
            raise DataError(f"{splits.source}: the {name} split is empty ({sizes}); {how}")
    present = np.unique(splits.train.labels)
    if len(present) < 2:
        only = splits.classes[present[0]]
        others = [repr(c) for i, c in enumerate(splits.classes) if i != present[0]]
        other = others[0] if len(others) == 1 else "another class"
        raise DataError(
            f"{splits.source}: every training review is of class {only!r} ({sizes}); "
            f"a model needs two classes at least: add rows of {other}"
        )
    for name in SPLIT_ORDER:
        missing = sorted(set(range(len(splits.classes))) - set(getattr(splits, name).labels))
        if missing:
            named = ", ".join(repr(splits.classes[i]) for i in missing[:5])
            splits.warnings.append(
                f"warning: no {name} review of class {named}"
                f"{' and others' if len(missing) > 5 else ''}: its {name} metrics are "
                "undefined; add rows of it (or merge rare classes)"
            )
