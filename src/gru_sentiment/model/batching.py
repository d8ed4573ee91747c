"""Batches of padded ids, either all at one global length or bucketed by length.

Bucketing sorts reviews by length into chunks of `batch_size`, so each batch is padded
only to its own longest review (rounded up to a multiple of `LENGTH_STEP`, to keep the
number of distinct shapes, and thus of compiled graphs, small). Padding goes at the end
unless `padding="pre"`, so masks stay right-padded (what cuDNN requires).

Data-parallel (`runtime.distribute`): each batch is split by rows across the devices, so
its rows are padded to a multiple of their count with filler rows of sample weight 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from ..data.text import START_ID, fit_length, pad
from ..runtime import data_replicas

LENGTH_STEP = 32
# Threads of Keras' enqueuer that feed `fit` (PaddedBatches, LMBatches): with one, Keras
# uses tf.data's autotuned prefetch, whose epochs sometimes waited seconds for their first
# batch (docs/decisions.md). Their __getitem__ must give the same batch from any thread.
FEEDERS = 2


class PaddedBatches(keras.utils.PyDataset):
    """`(ids, labels)` batches for fit / evaluate, or `ids` alone for predict.

    ids: (batch, time) int32, 0 = padding at the end; labels: (batch,) float32, or
    (batch, classes) for a softmax network (model/targets.py).
    With `shuffle`, the order of batches (and, unbucketed, of reviews) changes each epoch.
    With `weights` (n,) (balanced classes): (ids, labels, weights). Under a data-parallel
    distribution over R devices: (ids, labels, weights), every batch with a multiple of R
    rows, the filler rows last with weight 0 (`in_input_order` drops their values).
    """

    def __init__(
        self,
        seqs: Sequence[np.ndarray],
        labels: np.ndarray | None,
        batch_size: int,
        max_len: int,
        keep: str = "head",
        padding: str = "post",
        bucket: bool = False,
        shuffle: bool = False,
        seed: int = 0,
        weights: np.ndarray | None = None,
    ):
        super().__init__(workers=FEEDERS)  # __getitem__ only reads
        self.seqs = [fit_length(s, max_len, keep) for s in seqs]
        self.labels = None if labels is None else np.asarray(labels, np.float32)
        self.weights = None if weights is None else np.asarray(weights, np.float32)
        self.batch_size = batch_size
        self.padding = padding
        self.max_len = max_len
        self.bucket = bucket
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.lengths = np.array([len(s) for s in self.seqs])
        self.replicas = data_replicas()  # devices a batch is split across, by rows
        self.batches = self._make_batches()

    def _make_batches(self) -> list[np.ndarray]:
        n = len(self.seqs)
        if self.bucket:
            # Stable sort: equal lengths keep their (possibly shuffled) order.
            start = self.rng.permutation(n) if self.shuffle else np.arange(n)
            order = start[np.argsort(self.lengths[start], kind="stable")]
        else:
            order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        batches = [order[i : i + self.batch_size] for i in range(0, n, self.batch_size)]
        if self.bucket:
            if self.shuffle:
                self.rng.shuffle(batches)
            # Keras derives the input signature from batches 0 and 1 and keeps a dimension
            # variable only where they differ: put the widest and the narrowest batch there.
            if len(batches) > 1:
                widest = max(range(len(batches)), key=lambda i: self._width(batches[i]))
                batches[0], batches[widest] = batches[widest], batches[0]
                narrowest = min(range(1, len(batches)), key=lambda i: self._width(batches[i]))
                batches[1], batches[narrowest] = batches[narrowest], batches[1]
        return batches

    def _width(self, rows: np.ndarray) -> int:
        """Padded length of a batch: its longest review rounded up to LENGTH_STEP."""
        if not self.bucket:
            return self.max_len
        longest = int(self.lengths[rows].max())
        return min(self.max_len, -(-longest // LENGTH_STEP) * LENGTH_STEP)

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int):
        rows = self.batches[index]
        width = self._width(rows)
        ids = pad([self.seqs[i] for i in rows], width, self.padding)  # (batch, time)
        filler = self._filler(rows)
        if filler:
            # A start token, never only padding (cuDNN rejects fully masked rows).
            extra = np.zeros((filler, width), np.int32)
            extra[:, 0] = START_ID
            ids = np.concatenate([ids, extra])  # (batch + filler, time)
        if self.labels is None:
            return (ids,)
        if self.replicas == 1 and self.weights is None:
            return ids, self.labels[rows]
        fill = np.zeros((filler, *self.labels.shape[1:]), np.float32)
        labels = np.concatenate([self.labels[rows], fill])
        real = np.ones(len(rows), np.float32) if self.weights is None else self.weights[rows]
        weights = np.concatenate([real, np.zeros(filler, np.float32)])  # (batch + filler,)
        return ids, labels, weights

    def _filler(self, rows: np.ndarray) -> int:
        """Filler rows that make a batch of `rows` a multiple of `self.replicas` rows."""
        return -len(rows) % self.replicas

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.batches = self._make_batches()

    def in_input_order(self, values: np.ndarray) -> np.ndarray:
        """`values` of the rows in the order batches yield them (filler rows included),
        back in input order (undoes length bucketing, drops the filler rows' values)."""
        if self.replicas > 1:
            real = [np.arange(len(rows) + self._filler(rows)) < len(rows) for rows in self.batches]
            values = values[np.concatenate(real)]
        out = np.empty_like(values)
        out[np.concatenate(self.batches)] = values
        return out


def predict_proba(model: keras.Model, batches: PaddedBatches) -> np.ndarray:
    """In the original order of the reviews: (n,) probability of the second class for a
    one-sigmoid network, (n, classes) for a softmax one."""
    probs = model.predict(batches, verbose=0)  # (n, 1) or (n, classes)
    return batches.in_input_order(probs.reshape(-1) if probs.shape[-1] == 1 else probs)
