"""What every trained run offers to predict, explain, evaluate and serve: a `RunModel`.

A GRU run (`SentimentModel`) and a linear baseline run (`BaselineModel`) differ only in
how they turn texts into probabilities (`score`) and which tokens they read (`spans`);
verdicts, predictions and explanations are made here, once, from those two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..config import KEEP, Config
from ..data.tables import text_error
from ..evaluation.decision import verdict
from .prediction import Prediction
from .run_folder import RunFolder

if TYPE_CHECKING:
    from .explain import Explanation


def keep_mode(long: str | None, cfg: Config) -> str:
    """The part of a long review to read: `long` ("head", "tail", "head+tail") or, when
    None, the run's own."""
    if long is None:
        return cfg.text.keep
    if long not in KEEP:
        raise ValueError(f"long must be one of {', '.join(KEEP)}, not {long!r}")
    return long


class RunModel:
    """A complete run folder ready for new text. Subclasses define `score(texts, keep)` and
    `spans(text, keep)`; `reads_whole_text` says whether every token can change the answer
    (the n-gram models read all of a text, a GRU only its first or last max_len)."""

    reads_whole_text = False

    def __init__(self, folder: RunFolder):
        self.folder = folder
        self.run_dir = folder.path
        self.cfg = folder.config
        self.metrics = folder.metrics
        self.classes = folder.classes
        # Two classes: the threshold on P(second class) chosen on validation; more: argmax.
        self.threshold = folder.threshold
        self.max_tokens: int | None = self.cfg.text.max_len  # read of a text at most; None: all

    @property
    def name(self) -> str:
        """The run folder's name (what /health and the page call this model)."""
        return self.folder.name

    def examples(self) -> list[dict]:
        """The run's example test reviews (examples.json)."""
        return self.folder.examples()

    def describe(self) -> dict:
        """What /health shows of the model: preset, architecture, cell, length read."""
        cfg = self.cfg
        return {
            "preset": cfg.preset,
            "arch": cfg.network.arch,
            "cell": cfg.network.cell,
            "max_len": cfg.text.max_len,
            "keep": cfg.text.keep,
        }

    def score(self, texts: list[str], keep: str) -> tuple[np.ndarray, list[int]]:
        """(n,) P(second class) of valid texts for two classes, (n, classes) for more, and
        their lengths in tokens."""
        raise NotImplementedError

    def spans(self, text: str, keep: str) -> tuple[list[tuple[int, int]], set[int]]:
        """Character spans of the text's tokens, and the indices of those the model reads
        (a GRU reads at most max_len of them)."""
        raise NotImplementedError

    def warm_up(self, max_rows: int = 8) -> int:
        """Prepare for the first request; the number of shapes compiled."""
        return 0

    def predict(self, texts: Sequence[str] | str, long: str | None = None) -> list[Prediction]:
        """One Prediction per text, in order. `long`: "head", "tail" or "head+tail" (the part
        of a review longer than the model's max_len that is read; None: the run's own)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        errors = [text_error(t) for t in texts]
        valid = [i for i, err in enumerate(errors) if err is None]
        probs, lengths = self.score([texts[i] for i in valid], keep_mode(long, self.cfg))
        found = dict(zip(valid, zip(probs, lengths, strict=True), strict=True))
        return [
            Prediction(None, None, False, 0, err) if err else self.verdict(*found[i])
            for i, err in enumerate(errors)
        ]

    def verdict(self, probs: float | np.ndarray, tokens: int) -> Prediction:
        """The Prediction for a text of `tokens` tokens: `probs` is P(second class) for two
        classes, (classes,) P(each class) for more."""
        label, probability, every = verdict(probs, self.classes, self.threshold)
        return Prediction(
            label=label,
            probability=probability,
            truncated=self.max_tokens is not None and tokens > self.max_tokens,
            tokens=tokens,
            probabilities=every,
        )

    def explain(
        self, text: str, long: str | None = None, target_class: str | None = None
    ) -> Explanation:
        """Per-token contributions to P(`target_class`), by occlusion: each word the model
        reads is removed in turn, and its contribution is how much P(target_class) drops
        without it. Default target: two classes, the second (P(positive), as `probability`);
        more, the predicted class. ValueError for an unusable text or an unknown class."""
        from .explain import occlusion

        return occlusion(self, text, keep_mode(long, self.cfg), target_class=target_class)
