"""`RunFolder`: what a run folder holds, read once each and checked: its record
(config.json), Config, metrics, classes and decision threshold; its files by name.

Everything that reads a run (predict, serve, export, report, experiments, scoring on a
cluster) reads it through this class, so a run written by an older version is understood
in one place.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from ..config import Config
from ..data.corpus import CLASS_NAMES
from ..errors import RunError
from ..io import runs
from ..io.files import read_json


class RunFolder:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def file(self, name: str) -> Path:
        """The path of one of its files (names in io/runs.py)."""
        return self.path / name

    @property
    def name(self) -> str:
        """The folder's own name (what /health, the page and the report call the run)."""
        return self.path.resolve().name

    @cached_property
    def record(self) -> dict:
        """config.json: the config, the data, the classes and where the run trained."""
        record = read_json(self.file(runs.CONFIG))
        if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
            raise RunError(f"{self.file(runs.CONFIG)} has no config object")
        return record

    @cached_property
    def config(self) -> Config:
        """The run's Config (sections, or the flat layout of older runs); ConfigError for an
        unknown or bad field."""
        return Config.from_dict(self.record["config"]).validate()

    @cached_property
    def metrics(self) -> dict:
        metrics = read_json(self.file(runs.METRICS))
        if not isinstance(metrics, dict):
            raise RunError(f"{self.file(runs.METRICS)} holds no metrics object")
        return metrics

    @property
    def classes(self) -> tuple[str, ...]:
        """The class names in index order (a run written before classes were: binary)."""
        classes = self.record.get("classes", CLASS_NAMES)
        if not isinstance(classes, list | tuple) or len(classes) < 2:
            raise RunError(f"{self.file(runs.CONFIG)}: classes must be a list of 2 or more")
        return tuple(classes)

    @property
    def threshold(self) -> float | None:
        """Two classes: the threshold on P(second class) chosen on validation; more: None
        (the likeliest class wins)."""
        threshold = self.metrics.get("decision_threshold")
        if len(self.classes) > 2:
            return None
        if not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
            raise RunError(f"{self.file(runs.METRICS)}: decision_threshold must be in [0, 1]")
        return float(threshold)

    def check(self) -> RunFolder:
        """Read and check config, classes and threshold now (loading a model does, so that
        a bad file is one clear error before anything heavy is loaded)."""
        _ = self.config, self.threshold
        return self

    def examples(self) -> list[dict]:
        """The run's example test reviews (examples.json)."""
        return read_json(self.file(runs.EXAMPLES))
