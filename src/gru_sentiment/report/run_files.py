"""What the report reads of a run folder: its record, metrics and predictions (a complete
run must still match its manifest), and its splits reloaded from the data it recorded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..data.splits import DataSpec, Splits, load_splits
from ..errors import DataError, RunError
from ..evaluation.predictions import SplitPredictions, read_predictions
from ..inference.run_folder import RunFolder
from ..io import runs


@dataclass
class Run:
    folder: Path
    name: str
    record: dict  # config.json
    cfg: Config
    metrics: dict
    predictions: dict[str, SplitPredictions]
    neural: bool  # has a model and a training history (not a linear baseline)
    classes: tuple[str, ...]  # label i is classes[i] (config.json; older runs: binary)

    @property
    def multi(self) -> bool:
        return len(self.classes) > 2

    @property
    def threshold(self) -> float:
        """The threshold the run's predictions use: the one chosen on validation, else
        the recorded one (older runs), else 0.5. More classes take the most probable
        class and ignore it."""
        chosen = self.metrics.get("decision_threshold")  # None: more than two classes
        return chosen if chosen is not None else self.metrics.get("threshold", 0.5)


def load_run(run_dir: Path) -> Run:
    """Read a run folder; a complete one must still match its manifest."""
    for name in (runs.CONFIG, runs.METRICS, runs.PREDICTIONS):
        if not (run_dir / name).is_file():
            raise RunError(f"{run_dir} is not a run folder: {name} is missing")
    if runs.is_complete(run_dir):
        present = (runs.CONFIG, runs.METRICS, runs.PREDICTIONS, runs.HISTORY, runs.EXAMPLES)
        runs.verify(run_dir, tuple(n for n in present if (run_dir / n).exists()))
    folder = RunFolder(run_dir)
    return Run(
        folder=run_dir,
        name=f"{folder.name} ({folder.config.preset})",
        record=folder.record,
        cfg=folder.config,
        metrics=folder.metrics,
        predictions=read_predictions(run_dir),
        neural=(run_dir / runs.MODEL).exists() and (run_dir / runs.HISTORY).exists(),
        classes=folder.classes,
    )


def load_run_splits(run: Run) -> tuple[Splits | None, str | None]:
    """The run's splits reloaded from its recorded data, or a one-line reason why not."""
    spec = DataSpec.of_run(run.record)
    if not (spec.path and Path(spec.path).exists()):
        return None, f"the data of this run ({spec.path or run.record.get('source')}) is not here"
    try:
        return load_splits(spec, run.cfg.seed, run.cfg.fit.val_fraction, unlabeled=False), None
    except DataError as err:
        return None, f"the data of this run could not be loaded: {err}"
