"""Training runs as Ray work: a `tune` trial's runs, each epoch's validation accuracy
reported as it is checkpointed; and the `experiment` command's runs as Ray tasks. Both
train through `train.pipeline.train_or_reuse`: a complete run is reused, an
interrupted one resumed."""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable
from pathlib import Path

from ..config import Config
from ..data.splits import DataSpec
from ..errors import GruSentimentError
from ..inference.run_folder import RunFolder
from ..io import runs
from ..io.files import read_json
from ..train.experiments import Job, TrainAll, save_record
from ..train.pipeline import train_or_reuse
from .session import connect, use_assigned_cores

POLL_SECONDS = 1.0  # how often a trial looks for a newly checkpointed epoch


def train_reporting(
    cfg: Config,
    run_dir: Path,
    spec: DataSpec,
    report: Callable[[dict], object],
    log: Callable = print,
) -> dict:
    """Train (or reuse) `run_dir`, calling `report(row)` with each epoch's history row
    (epoch, val_accuracy, ...) as the epoch is checkpointed; the run's metrics."""
    from ..runtime import prepare

    use_assigned_cores()
    prepare()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            train_or_reuse(cfg, run_dir, spec, log=log)
        except BaseException as err:  # raised again in the caller's thread
            failure.append(err)

    # Training runs beside the reporting loop (Tune's report must come from this thread);
    # a daemon, so that a trial Tune stops ends with its process.
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    reported, done = 0, False
    while not done:
        thread.join(POLL_SECONDS)
        done = not thread.is_alive()
        epochs = _epochs(run_dir)
        for row in epochs[reported:]:
            report(row)
        reported = max(reported, len(epochs))
    if failure:
        raise failure[0]
    return RunFolder(run_dir).metrics


def _epochs(run_dir: Path) -> list[dict]:
    """The history rows of `run_dir` so far: from its checkpoint while it trains, from
    history.csv once it is complete (the checkpoint is deleted then)."""
    if runs.is_complete(run_dir):
        with (run_dir / runs.HISTORY).open(newline="") as f:
            return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    from ..model.training import STATE_FILE

    try:
        return read_json(run_dir / runs.CHECKPOINTS / STATE_FILE)["history"]
    except FileNotFoundError:  # not yet written, or deleted as the run completed
        return []


def ray_runner(address: str | None) -> TrainAll:
    """`experiment`'s TrainAll on Ray: each run a task of one CPU, as many at once as
    the cluster (`address`; None: a local Ray) has CPUs."""

    def train_all(jobs: list[Job], spec: DataSpec, log: Callable) -> None:
        import ray
        from ray.exceptions import RayTaskError

        with connect(address, 1):
            task = ray.remote(num_cpus=1)(train_reporting)
            pending = {  # absolute folders: Ray's workers run in folders of their own
                task.remote(job.cfg, job.run_dir.resolve(), spec, _ignore): job for job in jobs
            }
            log(f"training {len(jobs)} runs on Ray")
            while pending:
                [ref], _ = ray.wait(list(pending))
                job = pending.pop(ref)
                try:
                    ray.get(ref)
                except RayTaskError as err:  # the tool's own errors: one line
                    if isinstance(err.cause, GruSentimentError):
                        raise err.cause from None
                    raise
                save_record(job, spec)
                log(f"--- {job.label}: {job.run_dir} done")

    return train_all


def _ignore(row: dict) -> None:
    """The per-epoch report of an experiment's run: nobody stops it early."""
