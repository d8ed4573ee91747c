"""Experiment tracking for `train`: TensorBoard and MLflow, each an optional extra.

    Tracking (what the command line asked for) -> track(...) -> Tracker:
        start       TensorBoard hparams (the config); an MLflow run: params, tags
        callbacks   per epoch: loss, accuracy, val_*, learning rate, seconds; model graph
        log_test    test metrics, before the manifest (TensorBoard may write in the run)
        finish      the complete run folder as MLflow artifacts; the run FINISHED

Tracking is not part of the Config: logging somewhere else changes neither a cache key
nor what a run folder is. Epochs are numbered from 1, as in history.csv, in both.
A killed run that resumes appends to the same TensorBoard folder and continues the same
MLflow run, whose id waits in the run's checkpoint folder.

Keras, TensorFlow and MLflow are imported inside the functions that use them: the CLI
reads `Tracking` before the backend is chosen.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from ..config import Config
from ..errors import GruSentimentError, require
from ..evaluation.metrics import headline
from ..io import runs
from ..io.files import read_json, write_json
from ..io.terminal import Log

if TYPE_CHECKING:
    import keras

TENSORBOARD_DIR = "tensorboard"  # the default log folder, inside the run folder
DEFAULT_MLFLOW = "mlruns"  # a local file store in the current folder, MLflow's old default
EXPERIMENT = "gru-sentiment"  # the MLflow experiment, unless MLFLOW_EXPERIMENT_NAME names one
MLFLOW_RUN = "mlflow.json"  # in the checkpoint folder: the MLflow run a resumed run continues
PARAMS_PER_CALL = 100  # MLflow's limit on params in one log_batch


class TrackingError(GruSentimentError):
    """A tracking extra missing, or a tracking store that refuses the run."""


@dataclass(frozen=True)
class Tracking:
    """Where a run is tracked: a TensorBoard log folder, an MLflow tracking URI; None: not."""

    tensorboard: Path | None = None
    mlflow: str | None = None

    @classmethod
    def from_options(
        cls,
        run_dir: Path,
        tensorboard: bool = False,
        tensorboard_dir: Path | None = None,
        mlflow: bool = False,
        mlflow_uri: str | None = None,
    ) -> Tracking:
        """What `train`'s options ask for; a folder or URI alone implies its flag. Defaults:
        RUN_DIR/tensorboard; $MLFLOW_TRACKING_URI, else ./mlruns (a local file store)."""
        if tensorboard and tensorboard_dir is None:
            tensorboard_dir = Path(run_dir) / TENSORBOARD_DIR
        if mlflow and mlflow_uri is None:
            mlflow_uri = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_MLFLOW
        return cls(tensorboard_dir, tracking_uri(mlflow_uri) if mlflow_uri else None)

    def require(self) -> None:
        """Raise TrackingError, naming the extra to install, unless what this asks for
        imports (checked before any data is read)."""
        if self.tensorboard is not None:
            require("--tensorboard", "tensorboard", "tensorboard", error=TrackingError)
        if self.mlflow is not None:
            require("--mlflow", "mlflow", "mlflow", "mlflow.tracking", error=TrackingError)


def tracking_uri(value: str) -> str:
    """An MLflow tracking URI; a plain path becomes the absolute `file://` URI of a local
    file store (a relative one would be resolved again wherever the store is read)."""
    scheme = urlparse(value).scheme
    if len(scheme) > 1:  # "file", "http", "sqlite", "databricks"; one letter: a drive
        return value
    return Path(value).expanduser().resolve().as_uri()


@contextlib.contextmanager
def track(
    tracking: Tracking | None,
    cfg: Config,
    run_dir: Path,
    source: str,
    resumed: bool = False,
    log: Log = print,
) -> Iterator[Tracker]:
    """A started Tracker for the block (one that does nothing when `tracking` is None);
    `resumed`: the run folder holds an unfinished run that continues (`runs.claim`). A
    block that raises leaves the MLflow run FAILED (KILLED on Ctrl-C) until a resumed run
    takes it up again."""
    tracker = Tracker(tracking or Tracking(), cfg, Path(run_dir), source, resumed, log)
    try:
        yield tracker
    except BaseException as err:
        tracker.abort("KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED")
        raise


class Tracker:
    """The tracking of one run, started in the run folder `run_dir` (already claimed)."""

    def __init__(
        self,
        tracking: Tracking,
        cfg: Config,
        run_dir: Path,
        source: str,
        resumed: bool = False,
        log: Log = print,
    ):
        self.tracking = tracking
        self.run_dir = run_dir
        self.mlflow = None
        if tracking.tensorboard is not None:
            write_hparams(tracking.tensorboard, cfg, run_dir.name, resumed)
            log(f"TensorBoard: tensorboard --logdir {tracking.tensorboard}")
        if tracking.mlflow is not None:
            tags = {"preset": cfg.preset, "data": source, "seed": str(cfg.seed)}
            self.mlflow = MlflowRun(tracking.mlflow, cfg, run_dir, tags, resumed)
            log(f"MLflow: run {self.mlflow.run_id} in {tracking.mlflow}")

    def callbacks(self) -> list[keras.callbacks.Callback]:
        """Keras callbacks for `fit`, run after each epoch's checkpoint: its logs then hold
        the learning rate of the epoch and its seconds (model/training.py)."""
        found = []
        if self.tracking.tensorboard is not None:
            found.append(tensorboard_callback(self.tracking.tensorboard))
        if self.mlflow is not None:
            import keras

            mlflow = self.mlflow
            found.append(
                keras.callbacks.LambdaCallback(
                    on_epoch_end=lambda epoch, logs: mlflow.log_metrics(logs, epoch + 1)
                )
            )
        return found

    def log_test(self, metrics: dict) -> None:
        """The run's metrics.json, flattened (`final_metrics`), at the step of its last
        epoch. Called before the manifest: a TensorBoard folder inside the run is final
        once the manifest lists it."""
        final = final_metrics(metrics)
        step = int(metrics.get("epochs_run", 0))
        if self.tracking.tensorboard is not None:
            write_scalars(self.tracking.tensorboard, final, step)
        if self.mlflow is not None:
            self.mlflow.log_metrics(final, step)

    def finish(self) -> None:
        """The complete run folder (what its manifest lists) as the MLflow run's artifacts."""
        if self.mlflow is not None:
            self.mlflow.finish(self.run_dir)

    def abort(self, status: str) -> None:
        if self.mlflow is not None:
            self.mlflow.abort(status)


def final_metrics(metrics: dict) -> dict[str, float]:
    """The numbers of metrics.json under flat names: a test metric is `test_<name>`
    (`test_accuracy`), one of a nested part `<part>.test_<name>`
    (`at_decision_threshold.test_f1`, a hybrid's `recurrent.test_accuracy`), the rest as
    named (`train_seconds`, `validation_accuracy`). Lists (the confusion matrix) are left
    out."""
    flat, tested = {}, headline(metrics)
    for part, values in [("", metrics)] + [
        (f"{k}.", v) for k, v in metrics.items() if isinstance(v, dict)
    ]:
        for name, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                flat[part + ("test_" if name in tested else "") + name] = float(value)
    return flat


# --- TensorBoard ----------------------------------------------------------------------


def hparams(cfg: Config) -> dict:
    """The config as TensorBoard hparams: numbers, strings and booleans; a field that is
    None is left out (the hparams plugin takes no null; an absent value shows blank)."""
    return {
        k: v if isinstance(v, bool | int | float | str) else str(v)
        for k, v in cfg.paths().items()
        if v is not None
    }


def write_hparams(log_dir: Path, cfg: Config, trial_id: str, resumed: bool = False) -> None:
    """The config as this log folder's hparams session; a resumed run keeps the session
    its first start wrote (unless it had no TensorBoard then)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    if resumed and any(log_dir.glob("events.out.tfevents.*")):
        return
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        hp.hparams(hparams(cfg), trial_id=trial_id)
    writer.close()


def write_scalars(log_dir: Path, values: dict[str, float], step: int) -> None:
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        for name, value in values.items():
            tf.summary.scalar(name, value, step=step)
    writer.close()


def tensorboard_callback(log_dir: Path) -> keras.callbacks.Callback:
    """Keras's TensorBoard callback (the model graph as Keras's conceptual graph; train/
    and validation/ folders) with the epoch scalars of history.csv instead of its own:
    step = epoch from 1, and the learning rate the epoch ran with (Keras's would read the
    optimizer after a plateau cut it). Flushed each epoch, so a killed run keeps them."""
    import keras

    # Defined here: Keras is imported only once the backend is chosen (module docstring).
    class EpochTensorBoard(keras.callbacks.TensorBoard):
        def on_epoch_end(self, epoch, logs=None):
            for writer, validation in ((self._train_writer, False), (self._val_writer, True)):
                with writer.as_default():
                    for key, value in (logs or {}).items():
                        if key.startswith("val_") == validation:
                            name = f"epoch_{key.removeprefix('val_')}"
                            self.summary.scalar(name, value, step=epoch + 1)
                writer.flush()

    return EpochTensorBoard(log_dir=str(log_dir), write_graph=True)


# --- MLflow ---------------------------------------------------------------------------


class MlflowRun:
    """One training run as an MLflow run: params = the resolved config, tags = preset,
    data source, seed. A `resumed` run continues the MLflow run whose id it saved, when
    the same store still has it; otherwise it starts a new one."""

    def __init__(
        self, uri: str, cfg: Config, run_dir: Path, tags: dict[str, str], resumed: bool = False
    ):
        if urlparse(uri).scheme == "file":
            # MLflow 3 refuses its file store unless asked for; a file URI is that ask.
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        from mlflow.tracking import MlflowClient

        self.uri = uri
        self.client = MlflowClient(tracking_uri=uri)
        saved = run_dir / runs.CHECKPOINTS / MLFLOW_RUN
        with self._answering():
            continued = self._resumed(saved) if resumed else None
            self.run_id = continued or self._create(cfg, run_dir, tags)
        write_json(saved, {"tracking_uri": uri, "run_id": self.run_id})

    @contextlib.contextmanager
    def _answering(self) -> Iterator[None]:
        """The store's refusals (a server gone away, a deleted experiment) as one line; a
        run stopped by one resumes with the same command."""
        from mlflow.exceptions import MlflowException

        try:
            yield
        except MlflowException as err:
            raise TrackingError(f"MLflow at {self.uri}: {err.message}") from None

    def _resumed(self, saved: Path) -> str | None:
        """The id of the MLflow run this run folder started, set RUNNING again."""
        from mlflow.exceptions import MlflowException

        if not saved.exists():
            return None
        record = read_json(saved)
        if record.get("tracking_uri") != self.uri:
            return None
        try:
            run = self.client.get_run(record["run_id"])
        except MlflowException:  # deleted for good, or another store at the same URI
            return None
        if run.info.lifecycle_stage != "active":
            return None
        self.client.update_run(run.info.run_id, status="RUNNING")
        return run.info.run_id

    def _create(self, cfg: Config, run_dir: Path, tags: dict[str, str]) -> str:
        from mlflow.entities import Param

        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT
        experiment = self.client.get_experiment_by_name(name)
        experiment_id = (
            experiment.experiment_id if experiment else self.client.create_experiment(name)
        )
        tags = {**tags, "run_dir": str(run_dir.resolve())}
        run_id = self.client.create_run(experiment_id, tags=tags, run_name=run_dir.name).info.run_id
        params = [Param(k, str(v)) for k, v in cfg.paths().items()]
        for start in range(0, len(params), PARAMS_PER_CALL):
            self.client.log_batch(run_id, params=params[start : start + PARAMS_PER_CALL])
        return run_id

    def log_metrics(self, values: dict, step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, float(v), now, step) for k, v in values.items()]
        with self._answering():
            self.client.log_batch(self.run_id, metrics=metrics)

    def finish(self, run_dir: Path) -> None:
        with self._answering():
            for name in [*runs.read_manifest(run_dir), runs.MANIFEST]:
                parent = Path(name).parent.as_posix()
                self.client.log_artifact(
                    self.run_id, str(run_dir / name), None if parent == "." else parent
                )
            self.client.set_terminated(self.run_id, "FINISHED")

    def abort(self, status: str) -> None:
        from mlflow.exceptions import MlflowException

        # The error that stops the run matters more than the store's answer to this.
        with contextlib.suppress(MlflowException):
            self.client.set_terminated(self.run_id, status)
