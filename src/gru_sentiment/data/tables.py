"""Tables of texts: one reader for .txt (a review per line), .csv and .jsonl files,
streamed row by row (a million-row file in bounded memory), and a user's labeled corpus
read through it.

Bytes that are not UTF-8, a line that is not valid CSV or not a JSON object, or a row
without text make a per-row error, never a failure of the whole file: `predict` reports
them in its `error` column, `load_table` counts them as skipped.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from ..errors import DataError
from .corpus import Corpus, Split, stratified_split

READ_SUFFIXES = (".txt", ".csv", ".jsonl", ".ndjson")
LABEL_WORDS = {"0": 0, "1": 1, "neg": 0, "pos": 1, "negative": 0, "positive": 1}
# Python's csv refuses fields over 128 KiB, shorter than some reviews; a bound still
# stops one runaway quoted field from swallowing the rest of the file into memory.
CSV_FIELD_LIMIT = 16 * 2**20


def text_error(text: object) -> str | None:
    """Why `text` cannot be scored, or None when it can."""
    if not isinstance(text, str):
        return f"text is {type(text).__name__}, not a string"
    if not text.strip():
        return "empty text"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes that were not UTF-8 on input
        return "undecodable bytes (the text is not UTF-8)"
    return None


@dataclass
class Row:
    """One input row: its columns as read (kept in any output), and its text or why not."""

    values: dict
    text: str | None
    error: str | None = None


def text_rows(texts: Iterable[str]) -> Iterator[Row]:
    """Rows for texts given directly (arguments, lines of stdin already decoded)."""
    for text in texts:
        yield Row({"text": text}, text, text_error(text))


def read_rows(
    path: Path, text_column: str = "text", on_bytes: Callable[[int], object] = lambda n: None
) -> tuple[list[str], Iterator[Row]]:
    """The columns of a .txt / .csv / .jsonl file and a lazy iterator over its rows.

    A .txt file is one review per line (column "text"). Bytes that are not UTF-8 make a
    per-row error; they are kept as they were (surrogate escapes). A CSV without
    `text_column` raises DataError at once; a JSONL row without it is a row error; the
    first JSONL row's fields name the columns. `on_bytes(n)` is called as the file is
    read (for a progress bar).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READ_SUFFIXES:
        raise DataError(f"{path}: expected a {', '.join(READ_SUFFIXES)} file")
    if not path.is_file():
        raise DataError(f"file does not exist: {path}")
    f = path.open("rb")
    lines = _decoded_lines(f, on_bytes)
    if suffix == ".txt":
        return ["text"], _closing(f, text_rows(line.rstrip("\r\n") for line in lines))
    if suffix == ".csv":
        csv.field_size_limit(CSV_FIELD_LIMIT)
        reader = csv.reader(lines)
        try:
            header = next(reader, [])
        except csv.Error as err:
            f.close()
            raise DataError(f"{path} line 1: the header is not valid CSV ({err})") from None
        if text_column not in header:
            f.close()
            raise DataError(
                f"{path} has no column {text_column!r} (columns: {', '.join(header)}); "
                "choose one with --text-column"
            )
        return header, _closing(f, _csv_rows(reader, header, text_column))
    rows = _jsonl_rows(lines, text_column)
    first = next(rows, None)
    if first is None:
        f.close()
        return [text_column], iter(())
    return list(first.values) or [text_column], _closing(f, chain([first], rows))


def _decoded_lines(f: io.BufferedReader, on_bytes: Callable[[int], object]) -> Iterator[str]:
    for number, raw in enumerate(f):
        on_bytes(len(raw))
        line = raw.decode("utf-8", "surrogateescape")
        yield line.removeprefix("\ufeff") if number == 0 else line  # a BOM from Excel


def _closing(f: io.BufferedReader, rows: Iterator[Row]) -> Iterator[Row]:
    with f:
        yield from rows


def _csv_rows(reader, header: list[str], text_column: str) -> Iterator[Row]:
    column = header.index(text_column)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as err:  # the reader goes on at the next line
            yield Row({}, None, f"invalid CSV: {err} (line {reader.line_num})")
            continue
        if not fields:  # a blank line, skipped as csv.DictReader and the JSONL reader do
            continue
        values = dict(zip(header, fields, strict=False))
        if column >= len(fields):
            yield Row(values, None, f"no value in column {text_column!r}")
        else:
            yield Row(values, fields[column], text_error(fields[column]))


def _jsonl_rows(lines: Iterable[str], text_column: str) -> Iterator[Row]:
    for line in lines:
        if not line.strip():
            continue
        try:
            values = json.loads(line)
        except (ValueError, RecursionError) as err:  # also: a 5,000-digit number, [[[[...
            yield Row({}, None, f"invalid JSON: {err}")
            continue
        if not isinstance(values, dict):
            yield Row({}, None, "invalid JSON: a row must be an object")
        elif text_column not in values:
            yield Row(values, None, f"no {text_column!r} field")
        else:
            yield Row(values, values[text_column], text_error(values[text_column]))


def load_table(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
    test_fraction: float = 0.2,
    seed: int = 42,
) -> Corpus:
    """A labeled CSV/JSONL corpus; a `split` column (train/test) is used when present,
    otherwise a stratified `test_fraction` is held out with `seed`. Unusable rows are
    skipped and counted by reason."""
    path = Path(path)
    if path.suffix.lower() == ".txt":
        raise DataError(f"{path}: a labeled corpus is a .csv or .jsonl file with a label column")
    columns, rows = read_rows(path, text_column)
    if columns != [text_column] and label_column not in columns:
        raise DataError(f"{path} has no column {label_column!r} (columns: {', '.join(columns)})")
    skipped: Counter = Counter()
    kept = []
    for row in rows:
        label = LABEL_WORDS.get(str(row.values.get(label_column, "")).strip().lower())
        if row.error is not None:
            skipped[f"{path.name}: {row.error.split(':')[0]}"] += 1
        elif label is None:
            skipped[f"{path.name}: label not one of {sorted(LABEL_WORDS)}"] += 1
        else:
            split = str(row.values.get("split", ""))
            kept.append((str(row.values.get("id", len(kept))), row.text, label, split))
    if not kept:
        raise DataError(f"{path}: no usable labeled rows ({dict(skipped) or 'the file is empty'})")
    whole = Split(
        name="all",
        ids=[k[0] for k in kept],
        texts=[k[1] for k in kept],
        labels=np.array([k[2] for k in kept], np.int8),
        ratings=np.zeros(len(kept), np.int8),
    )
    given = np.array([k[3] for k in kept])
    if "split" in columns and set(given) <= {"train", "test"}:
        train_idx, test_idx = np.flatnonzero(given == "train"), np.flatnonzero(given == "test")
        if not len(train_idx):  # nothing to learn from, nor to describe (eda)
            raise DataError(
                f"{path}: its 'split' column marks no row 'train'; mark the rows to learn "
                "from 'train' (or drop the column to hold out a random test split)"
            )
    else:
        train_idx, test_idx = stratified_split(whole.labels, test_fraction, seed)
    splits = {"train": whole.take(train_idx, "train"), "test": whole.take(test_idx, "test")}
    return Corpus(splits, source=str(path.resolve()), skipped=skipped)
