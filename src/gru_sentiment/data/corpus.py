"""Labeled reviews as columns, and the train / validation / test splits every run uses.

Every loader returns `Split`s: parallel columns (ids, texts, labels, ratings) so that
the 100,000 IMDB reviews stay cheap to hold, slice and encode.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

CLASS_NAMES = ("negative", "positive")  # label 0, label 1: defined once, used everywhere
UNLABELED = -1


@dataclass
class Split:
    """One split of reviews as parallel columns; labels are 0/1, or -1 when unknown."""

    name: str
    ids: list[str]
    texts: list[str]
    labels: np.ndarray  # (n,) int8
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


def subsample(split: Split, limit: int | None, seed: int) -> Split:
    """A stratified subset of at most `limit` reviews (all of them when limit is None)."""
    if limit is None or limit >= len(split):
        return split
    _, held = stratified_split(split.labels, limit / len(split), seed)
    return split.take(held)
