"""Batch scoring on Ray Data: `gru-sentiment predict RUN --engine ray`.

    shards --read: a task per file--> rows, in blocks of --batch rows
           --map_batches(Scorer): a pool of actors, one SentimentModel each--> scored rows
           --> this process writes one output shard per input shard into a hidden
               folder, renamed to the output folder once every shard is written

Rows travel as `data.tables.Row` objects and are scored by `inference.scoring.predict_rows`,
in input order, so each output shard holds what local `predict` writes for its input.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby, islice
from operator import itemgetter
from pathlib import Path

import numpy as np

from ..data.tables import Row
from ..errors import DataError
from ..inference.model import check_safe
from ..inference.run_folder import RunFolder
from ..inference.scoring import output_columns, predict_rows
from ..io.files import UMASK
from .session import connect, use_assigned_cores
from .shards import output_name, read_shard, write_shard

# The CPU slot of the task reading the input: without one beyond the workers', a pool
# as large as the cluster would leave the reader waiting forever.
READ_CPUS = 1


@dataclass(frozen=True)
class Summary:
    rows: int
    shards: int
    seconds: float


def score_files(
    run_dir: Path,
    files: list[Path],
    output: Path,
    fmt: str = "parquet",
    workers: int = 2,
    batch: int = 1024,
    long: str | None = None,
    text_column: str = "text",
    address: str | None = None,
    cpu: bool = False,
    tally: Callable[[Iterable[tuple[Row, dict]]], Iterable[tuple[Row, dict]]] = iter,
) -> Summary:
    """Score every row of `files` with the run in `run_dir` on `workers` Ray actors and
    write one `fmt` shard per file into the folder `output`, which appears complete or
    not at all. `address`: a Ray cluster to join (None: a local Ray for this call);
    `tally` sees each shard's (row, result) pairs on their way to the file."""
    check_safe(Path(run_dir))  # a bad run folder or input fails here, before Ray starts
    outputs = output_columns(RunFolder(run_dir).classes)
    columns = [read_shard(f, text_column)[0] for f in files]
    started = time.perf_counter()
    with _folder_in_place(Path(output)) as tmp, connect(address, workers + READ_CPUS):
        stream = _scored(Path(run_dir), files, workers, batch, long, text_column, cpu)

        def write(number: int, pairs: Iterable[tuple[Row, dict]]) -> int:
            path = tmp / output_name(number, files[number], fmt)
            return write_shard(path, columns[number], tally(pairs), files[number], outputs)

        written, seen = 0, set()
        for number, group in groupby(stream, key=itemgetter(0)):
            written += write(number, ((row, result) for _, row, result in group))
            seen.add(number)
        for number in set(range(len(files))) - seen:  # a shard without rows: its header
            write(number, [])
    return Summary(written, len(files), time.perf_counter() - started)


def _scored(
    run_dir: Path,
    files: list[Path],
    workers: int,
    batch: int,
    long: str | None,
    text_column: str,
    cpu: bool,
) -> Iterator[tuple[int, Row, dict]]:
    """(shard number, row, result) of every row, in input order, scored on Ray."""
    import ray
    from ray.data import ActorPoolStrategy, DataContext

    context = DataContext.get_current()
    context.execution_options.preserve_order = True  # shards whole, rows in input order
    # Progress bars on a terminal; the plan and progress lines Ray logs otherwise, not.
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    context.enable_rich_progress_bars, context.use_ray_tqdm = True, False
    paths = [{"shard": n, "path": str(f.resolve())} for n, f in enumerate(files)]
    rows = ray.data.from_items(paths, override_num_blocks=len(files)).map_batches(
        _read, batch_size=1, fn_kwargs={"text_column": text_column, "chunk": batch}
    )
    # Blocks of `batch` rows: a whole file in one block would go to a single actor.
    scored = rows.repartition(target_num_rows_per_block=batch).map_batches(
        Scorer,
        fn_constructor_args=(str(run_dir.resolve()), long, cpu),
        batch_size=batch,
        compute=ActorPoolStrategy(size=workers),
    )
    for block in scored.iter_batches(batch_size=None):
        yield from zip(block["shard"].tolist(), block["row"], block["result"], strict=True)


def _read(paths: dict, text_column: str, chunk: int) -> Iterator[dict]:
    """A Ray Data task: the rows of each shard in `paths`, `chunk` at a time."""
    for number, path in zip(paths["shard"], paths["path"], strict=True):
        rows = read_shard(Path(path), text_column)[1]
        while part := list(islice(rows, chunk)):
            yield {"shard": np.full(len(part), number), "row": _objects(part)}


class Scorer:
    """A Ray actor's model, loaded once (checksums verified), then batch after batch
    scored through `predict_rows`, as local `predict` does."""

    def __init__(self, run_dir: str, long: str | None, cpu: bool):
        from ..runtime import prepare

        use_assigned_cores()
        prepare(cpu)
        from ..inference.baseline import load_run

        self.model = load_run(run_dir)
        self.long = long

    def __call__(self, batch: dict) -> dict:
        rows = batch["row"]
        results = predict_rows(self.model, rows, self.long, chunk=len(rows))
        return {**batch, "result": _objects([result for _, result in results])}


def _objects(items: list) -> np.ndarray:
    """A 1-D numpy array of Python objects (a column Ray Data pickles as it is)."""
    array = np.empty(len(items), object)
    array[:] = items
    return array


@contextmanager
def _folder_in_place(output: Path) -> Iterator[Path]:
    """A hidden folder beside `output` for the block, renamed to `output` when the block
    ends without error and removed otherwise. A killed process leaves it behind, hidden
    and named by its process id; the next run to the same output removes it."""
    if output.exists():
        raise DataError(f"{output} exists; remove it or choose another --output folder")
    output.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{output.name}.tmp-"
    for stale in output.parent.glob(f"{prefix}*"):
        if not _running(int(stale.name.removeprefix(prefix).split("-")[0])):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=output.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~UMASK)  # mkdtemp's folder is private
        tmp.rename(output)  # fails if another process wrote `output` meanwhile
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True
