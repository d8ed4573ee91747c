"""A linear baseline run (TF-IDF 1-2-grams + logistic regression) as a model like any
other: it predicts, explains, evaluates and serves through the same `RunModel` interface as
a GRU run, from arrays in its folder (no pickle), after their checksums are verified."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import RunError
from ..io import runs
from ..model.linear import (
    BASELINE_SPEC,
    BASELINE_TERMS,
    BASELINE_WEIGHTS,
    TOKEN_PATTERN,
    TfidfScorer,
    clean,
)
from ..model.stack import probabilities
from .run_folder import RunFolder
from .run_model import RunModel

BASELINE_PRESET = "baseline"
BASELINE_FILES = (runs.CONFIG, runs.METRICS, runs.EXAMPLES, BASELINE_TERMS, BASELINE_WEIGHTS)
TOKEN = re.compile(TOKEN_PATTERN)


class BaselineModel(RunModel):
    """A complete baseline run: it reads every token of a text, whatever its length."""

    reads_whole_text = True

    def __init__(self, folder: RunFolder, scorer: TfidfScorer):
        super().__init__(folder)
        self.scorer = scorer
        self.max_tokens = None

    @classmethod
    def load(cls, run_dir: str | Path) -> BaselineModel:
        """RunError for an incomplete or tampered folder, or a baseline trained before its
        weights were saved."""

        run_dir = Path(run_dir)
        if not (run_dir / BASELINE_WEIGHTS).is_file() and runs.is_complete(run_dir):
            raise RunError(
                f"{run_dir} is a baseline run from before baselines kept their weights; "
                "run `gru-sentiment baseline` again to predict with it"
            )
        runs.verify(run_dir, (*BASELINE_FILES, BASELINE_SPEC))
        return cls(RunFolder(run_dir).check(), TfidfScorer.load(run_dir))

    def describe(self) -> dict:
        return {
            "preset": BASELINE_PRESET,
            "arch": "tfidf_logistic",
            "cell": None,
            "max_len": None,
            "keep": "all",
        }

    def score(self, texts: list[str], keep: str) -> tuple[np.ndarray, list[int]]:
        """(n,) P(second class) or (n, classes), and each text's number of tokens."""
        if not texts:
            k = len(self.classes)
            return np.zeros(0 if k == 2 else (0, k)), []
        return probabilities(self.scorer.scores(texts)), [
            len(TOKEN.findall(clean(t))) for t in texts
        ]

    def spans(self, text: str, keep: str) -> tuple[list[tuple[int, int]], set[int]]:
        """Every token's span; `<br />` blanked in place (the baseline drops it, and the
        offsets stay those of `text`). Case does not change what the pattern matches."""
        found = [m.span() for m in TOKEN.finditer(text.replace("<br />", " " * 6))]
        return found, set(range(len(found)))


def is_baseline(run_dir: Path) -> bool:
    """Whether a folder holds a baseline run (by its config.json; no other file read)."""
    try:
        record = RunFolder(run_dir).record
    except (OSError, ValueError, RunError):
        return False
    return record["config"].get("preset") == BASELINE_PRESET


def load_run(run_dir: str | Path) -> RunModel:
    """The model of any complete run folder: a GRU run's SentimentModel or a baseline's
    BaselineModel."""
    if is_baseline(Path(run_dir)):
        return BaselineModel.load(run_dir)
    from .model import SentimentModel

    return SentimentModel.load(run_dir)
