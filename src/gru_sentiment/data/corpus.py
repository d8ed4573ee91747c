"""Labeled reviews as columns, and the train / validation / test splits every run uses.

Every loader returns `Split`s: parallel columns (ids, texts, labels, ratings) so that
the 100,000 IMDB reviews stay cheap to hold, slice and encode.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

# The classes of a binary sentiment corpus (IMDB, 0/1 or negative/positive labels), label
# 0 and label 1; another corpus names its own classes (`Corpus.classes`).
CLASS_NAMES = ("negative", "positive")
UNLABELED = -1
# IMDB's star ratings, the classes of `--target rating` (5 and 6 are not in the dataset).
RATINGS = (1, 2, 3, 4, 7, 8, 9, 10)
MAX_CLASSES = 1000


@dataclass
class Split:
    """One split of reviews as parallel columns; labels are class indices (0/1 for a
    binary corpus), or -1 when unknown."""

    name: str
    ids: list[str]
    texts: list[str]
    labels: np.ndarray  # (n,) int16: index into the corpus's classes
    ratings: np.ndarray  # (n,) int8, 0 = unknown

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index: np.ndarray, name: str | None = None) -> Split:
        """The reviews at `index`, in that order."""
        return Split(
            name=name or self.name,
            ids=[self.ids[i] for i in index],
            texts=[self.texts[i] for i in index],
            labels=self.labels[index],
            ratings=self.ratings[index],
        )

    @classmethod
    def concat(cls, name: str, parts: list[Split]) -> Split:
        return cls(
            name=name,
            ids=[i for p in parts for i in p.ids],
            texts=[t for p in parts for t in p.texts],
            labels=np.concatenate([p.labels for p in parts]),
            ratings=np.concatenate([p.ratings for p in parts]),
        )


@dataclass
class Corpus:
    """All splits of one dataset, plus what was skipped while reading it and why."""

    splits: dict[str, Split]
    source: str
    skipped: Counter = field(default_factory=Counter)
    classes: tuple[str, ...] = CLASS_NAMES  # label i is classes[i]

    def __getitem__(self, name: str) -> Split:
        return self.splits[name]


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held_out): `fraction` of each label held out, chosen with `seed`."""
    rng = np.random.default_rng(seed)
    none = np.zeros(0, np.int64)  # so that no labels split into two empty index arrays
    kept, held = [none], [none]
    for label in np.unique(labels):
        index = rng.permutation(np.flatnonzero(labels == label))
        n_held = int(round(len(index) * fraction))
        held.append(index[:n_held])
        kept.append(index[n_held:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))


def train_validation(train: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Carve a stratified, seeded validation split out of train (never out of test)."""
    kept, held = stratified_split(train.labels, fraction, seed)
    return train.take(kept, "train"), train.take(held, "validation")


def class_values(classes: Sequence[str]) -> np.ndarray | None:
    """(k,) the classes as numbers when every class name is one (star ratings), else None."""
    try:
        return np.array([float(c) for c in classes])
    except ValueError:
        return None


def by_rating(split: Split) -> Split:
    """`split` with its star rating as the label: the index of the rating in RATINGS."""
    index = np.full(max(RATINGS) + 1, UNLABELED, np.int16)
    index[list(RATINGS)] = np.arange(len(RATINGS))
    return dataclasses.replace(split, labels=index[split.ratings])


def subsample(split: Split, limit: int | None, seed: int) -> Split:
    """A stratified subset of at most `limit` reviews (all of them when limit is None)."""
    if limit is None or limit >= len(split):
        return split
    _, held = stratified_split(split.labels, limit / len(split), seed)
    return split.take(held)
