"""Scoring tables of texts: rows in (streamed by `data.tables.read_rows`), the input's
columns plus the prediction's out, written atomically as .csv or .jsonl."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, count, islice
from pathlib import Path

from ..data.tables import Row
from ..errors import DataError
from ..io.destinations import check_output_file
from ..io.files import write_atomic
from .run_model import RunModel, keep_mode

OUTPUT_SUFFIXES = (".csv", ".jsonl", ".ndjson")
OUTPUT_COLUMNS = ("predicted", "probability", "truncated", "kept", "error")


def output_columns(classes: Sequence[str]) -> tuple[str, ...]:
    """The prediction's columns for a run of `classes`: OUTPUT_COLUMNS for two (the
    probability is P(second class)); for more, P(predicted) and one `p_<class>` each."""
    if len(classes) == 2:
        return OUTPUT_COLUMNS
    return (*OUTPUT_COLUMNS[:2], *(f"p_{c}" for c in classes), *OUTPUT_COLUMNS[2:])


def check_output(output: Path, input_: Path | None = None) -> None:
    """Raise DataError for an output file that cannot be written, or that is the input."""
    if output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise DataError(f"--output must end in .csv or .jsonl, not {output.name}")
    if input_ is not None and output.resolve() == input_.resolve():
        raise DataError(f"--output {output} is the input file; write the predictions elsewhere")
    check_output_file(output, "the predictions")


def predict_rows(
    model: RunModel, rows: Iterable[Row], long: str | None = None, chunk: int = 1024
) -> Iterator[tuple[Row, dict]]:
    """(row, output columns) in input order, predicted `chunk` rows at a time."""
    kept = keep_mode(long, model.cfg)
    columns = output_columns(model.classes)
    multi = len(model.classes) > 2
    rows = iter(rows)
    while batch := list(islice(rows, chunk)):
        valid = [row for row in batch if row.error is None]
        predictions = iter(model.predict([row.text for row in valid], long))
        for row in batch:
            if row.error is not None:
                yield row, dict.fromkeys(columns[:-1], None) | {"error": row.error}
                continue
            p = next(predictions)
            every = {f"p_{c}": v for c, v in p.probabilities.items()} if multi else {}
            yield (
                row,
                {
                    "predicted": p.label,
                    "probability": p.probability,
                    **every,
                    "truncated": p.truncated,
                    "kept": kept if p.truncated else "all",
                    "error": None,
                },
            )


def output_names(columns: Sequence[str], outputs: Sequence[str] = OUTPUT_COLUMNS) -> dict[str, str]:
    """Output column name per prediction column (`outputs`): its own name, or, when an
    input column has it, `model_<name>`, then `model_<name>_2`, ... until none has: every
    input column is kept as it was and no output name repeats (Parquet refuses repeats)."""
    taken, names = set(columns), {}
    for column in outputs:
        numbered = (f"model_{column}_{n}" for n in count(2))
        names[column] = next(
            c for c in chain((column, f"model_{column}"), numbered) if c not in taken
        )
        taken.add(names[column])
    return names


def _bytes_or_escape(err: UnicodeEncodeError) -> tuple[bytes, int]:
    """The encoding error handler of output files: a surrogate that stands for an input
    byte that was not UTF-8 (U+DC80..U+DCFF, from surrogateescape) is that byte again;
    any other lone surrogate (a `\\ud800` escape in JSON input, which UTF-8 cannot hold)
    is written as that escape: in a JSON string, the same escape."""
    chunk = err.object[err.start : err.end]
    out = b"".join(
        bytes([ord(c) - 0xDC00]) if 0xDC80 <= ord(c) <= 0xDCFF else f"\\u{ord(c):04x}".encode()
        for c in chunk
    )
    return out, err.end


OUTPUT_ERRORS = "gru_sentiment.bytes_or_escape"
codecs.register_error(OUTPUT_ERRORS, _bytes_or_escape)


def write_rows(
    path: Path,
    columns: list[str],
    results: Iterable[tuple[Row, dict]],
    outputs: Sequence[str] = OUTPUT_COLUMNS,
) -> int:
    """Write input columns + predictions (`outputs`, from `output_columns`) to a .csv or
    .jsonl file (atomically); rows written."""
    check_output(path)
    suffix = path.suffix.lower()
    names = output_names(columns, outputs)
    written = 0

    def write(tmp: Path) -> None:
        nonlocal written
        # Undecodable input bytes go back exactly as they were read.
        with tmp.open("w", encoding="utf-8", errors=OUTPUT_ERRORS, newline="") as out:
            writer = csv.writer(out, lineterminator="\n") if suffix == ".csv" else None
            if writer:
                writer.writerow([*columns, *names.values()])
            for row, result in results:
                if writer:
                    truncated = result["truncated"]  # 0/1 as in predictions.csv
                    result = result | {"truncated": None if truncated is None else int(truncated)}
                    values = [row.values.get(c, "") for c in columns]
                    writer.writerow([*values, *(result[c] for c in outputs)])
                else:  # each JSON row has its own fields: prefix where this one clashes
                    clashes = output_names(list(row.values), outputs)
                    renamed = {clashes[c]: v for c, v in result.items()}
                    out.write(json.dumps(row.values | renamed, ensure_ascii=False) + "\n")
                written += 1

    write_atomic(path, write)
    return written
