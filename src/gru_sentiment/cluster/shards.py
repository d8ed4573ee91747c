"""The files of a sharded table: an input given as a file, a folder or a glob, each file
read as rows (CSV / JSONL / text through `data.tables`, Parquet here), and each scored
shard written as Parquet, CSV or JSONL (the last two exactly as local `predict` writes).
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path

from ..data.tables import READ_SUFFIXES, Row, missing_column, read_rows, text_error
from ..errors import DataError
from ..inference.scoring import OUTPUT_COLUMNS, output_names, write_rows
from ..io.files import write_atomic

SHARD_SUFFIXES = (*READ_SUFFIXES, ".parquet")
FORMATS = ("parquet", "csv", "jsonl")
PARQUET_ROWS = 4096  # rows converted to Arrow at a time, reading and writing


def input_files(spec: str | Path) -> list[Path]:
    """The shards `spec` names, sorted: a file, the files of a folder (and its
    subfolders) or of a glob. Hidden files and names starting with "_" (Spark's
    _SUCCESS, Parquet's _metadata) are skipped in folders and globs."""
    path = Path(spec)
    if path.is_file():
        return [path]
    found = path.rglob("*") if path.is_dir() else map(Path, glob.glob(str(spec), recursive=True))
    files = sorted(
        p
        for p in found
        if p.is_file() and p.suffix.lower() in SHARD_SUFFIXES and p.name[0] not in "._"
    )
    if not files:
        kinds = ", ".join(SHARD_SUFFIXES)
        raise DataError(f"no {kinds} files in {spec} (a file, a folder or a quoted glob)")
    return files


def read_shard(path: Path, text_column: str) -> tuple[list[str], Iterator[Row]]:
    """The columns of one shard and a lazy iterator over its rows; bad rows carry their
    error as in `data.tables.read_rows`."""
    if path.suffix.lower() != ".parquet":
        return read_rows(path, text_column)
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"{path} is not a readable Parquet file: {err}") from None
    columns = table.schema_arrow.names
    if text_column not in columns:
        raise missing_column(path, text_column, columns, "--text-column")

    def rows() -> Iterator[Row]:
        with table:
            for batch in table.iter_batches(PARQUET_ROWS):
                for values in batch.to_pylist():
                    yield Row(values, values[text_column], text_error(values[text_column]))

    return columns, rows()


def output_name(number: int, source: Path, fmt: str) -> str:
    """Shard `number`'s file name: the input's order and name, the output's format."""
    return f"part-{number:05d}-{source.stem}.{fmt}"


def write_shard(
    path: Path,
    columns: list[str],
    results: Iterable[tuple[Row, dict]],
    source: Path,
    outputs: Sequence[str] = OUTPUT_COLUMNS,
) -> int:
    """Write one scored shard (input columns + the prediction columns `outputs`)
    atomically; rows written. `source`: the input shard (a Parquet one lends its column
    types)."""
    if path.suffix != ".parquet":
        return write_rows(path, columns, results, outputs)
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = output_names(columns, outputs)
    if source.suffix.lower() == ".parquet":
        schema = pq.read_schema(source)
    else:  # text formats: every input column as text (JSONL's other values as JSON)
        schema = pa.schema([(c, pa.string()) for c in columns])
    kinds = {"probability": pa.float64(), "truncated": pa.bool_()}
    kinds |= {c: pa.float64() for c in outputs if c.startswith("p_")}
    predicted = [pa.field(names[c], kinds.get(c, pa.string())) for c in outputs]
    schema = pa.schema([*schema, *predicted])
    texts = {f.name for f in schema if f.type == pa.string()}

    def record(row: Row, result: dict) -> dict:
        values = {c: row.values.get(c) for c in columns}
        values |= {names[c]: value for c, value in result.items()}
        return {k: _text(v) if k in texts else v for k, v in values.items()}

    written = 0

    def write(tmp: Path) -> None:
        nonlocal written
        pairs = iter(results)
        with pq.ParquetWriter(tmp, schema) as writer:
            while chunk := [record(row, result) for row, result in islice(pairs, PARQUET_ROWS)]:
                writer.write_table(pa.Table.from_pylist(chunk, schema))
                written += len(chunk)

    write_atomic(path, write)
    return written


def _text(value: object) -> str | None:
    """`value` as Parquet text: Parquet strings are UTF-8, so bytes that were not (kept
    as surrogate escapes when read) become U+FFFD; numbers, lists and objects, JSON."""
    if value is None:
        return None
    if not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    try:
        raw = value.encode("utf-8", "surrogateescape")  # the bytes as they were read
    except UnicodeEncodeError:  # a lone surrogate that a JSON file spelled out (\ud800)
        raw = value.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")
