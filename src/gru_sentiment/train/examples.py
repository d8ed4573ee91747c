"""What the network trains on: the train reviews, sentence crops of some of them (short
texts, each with its review's label), and unlabeled reviews labelled by a teacher
(distillation)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import Config
from ..data.crops import sentence_crops
from ..data.splits import Splits
from ..data.text import TextEncoder
from ..errors import ConfigError
from ..io.terminal import Log


@dataclass(frozen=True)
class Crops:
    """Sentence crops of train reviews: their ids and, for each, its review's index."""

    seqs: list[np.ndarray]
    parents: np.ndarray  # (n,) int: rows of the train split


def crop_examples(cfg: Config, splits: Splits, encoder: TextEncoder) -> Crops | None:
    """One crop (the first or last 1-3 sentences) of a `cfg.fit.crops` share of the train
    reviews, drawn with the run's seed; None when the share is 0."""
    n = round(cfg.fit.crops * len(splits.train.texts))
    if not n:
        return None
    parents = np.sort(np.random.default_rng(cfg.seed).permutation(len(splits.train.texts))[:n])
    texts = sentence_crops([splits.train.texts[i] for i in parents], cfg.seed)
    return Crops(encoder.encode(texts), parents)


def training_data(
    cfg: Config,
    splits: Splits,
    encoded: dict,
    log: Log,
    teacher: Path | None = None,
    crops: Crops | None = None,
):
    """The reviews the network trains on, their targets and weights (None unless
    `cfg.classes.weight` is "balanced"): the train split, its `crops` with their reviews'
    targets, plus, with
    `cfg.distill`, its number of unlabeled reviews labelled with the soft
    probabilities of a teacher (distillation: the GRU learns the teacher's knowledge from
    reviews no person labelled): the n-gram model fitted on the train split, or the
    model of the run folder `teacher` (`teacher_folder`)."""
    from ..model.targets import balanced_weights, targets

    classes, labels = splits.classes, splits.train.labels
    seqs, target = encoded["train"], targets(labels, classes, cfg.classes.loss)
    # "balanced": each review weighs as its class does; None: all alike
    by_class = balanced_weights(labels, len(classes)) if cfg.classes.weight == "balanced" else None
    weights = None if by_class is None else by_class[labels]
    if crops is not None:  # a crop learns its review's label: short texts, same opinion
        seqs = seqs + crops.seqs
        target = np.concatenate([target, target[crops.parents]])
        weights = None if weights is None else np.concatenate([weights, weights[crops.parents]])
    n = min(cfg.distill.unlabeled if cfg.distill else 0, len(encoded["unlabeled"]))
    if not n:
        return seqs, target, weights
    started = time.perf_counter()
    picked = np.random.default_rng(cfg.seed).permutation(len(encoded["unlabeled"]))[:n]
    unlabeled = [encoded["unlabeled"][i] for i in picked]
    if teacher is not None:
        from ..inference.model import SentimentModel

        model = SentimentModel.load(teacher)
        if model.cfg.seed != cfg.seed:
            log(f"note: the teacher {teacher} was trained on another split (its seed)")
        if model.classes != classes:
            raise ConfigError(f"the teacher {teacher} predicts other classes: {model.classes}")
        soft, _ = model.score([splits.unlabeled[i] for i in picked], model.cfg.text.keep)
        name = f"the model of {teacher}"
    else:
        from ..model.linear import NBLogistic
        from ..model.stack import probabilities

        ngrams = NBLogistic.fit(encoded["train"], labels, n_classes=len(classes))
        soft = probabilities(ngrams.logits(unlabeled))  # (n,) or (n, classes)
        name = "the n-gram model"
    log(f"{n:,} unlabeled reviews labelled by {name} in {time.perf_counter() - started:.0f} s")
    if by_class is not None:  # a distilled review weighs as one of its likeliest class
        likeliest = soft.argmax(1) if soft.ndim == 2 else (soft >= 0.5).astype(int)
        weights = np.concatenate([weights, by_class[likeliest]])
    return seqs + unlabeled, np.concatenate([target, soft.astype(np.float32)]), weights
