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
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..io.terminal import printable
from .corpus import CLASS_NAMES, MAX_CLASSES, UNLABELED, Corpus, Split, stratified_split

READ_SUFFIXES = (".txt", ".csv", ".jsonl", ".ndjson")
# Labels that are 0/1 words on this share of the rows or more are binary sentiment; the
# other rows hold typos, skipped (as before labels could be any classes).
BINARY_SHARE = 0.9
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
            raise missing_column(path, text_column, header, "--text-column")
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


def missing_column(path: Path, column: str, columns: Iterable[str], option: str) -> DataError:
    """The error for a table without `column`: its columns as one printable line."""
    found = printable(", ".join(columns))
    return DataError(
        f"{path} has no column {column!r} (columns: {found}); choose one with {option}"
    )


# Without a split column, the test reviews held out: always the same ones, whatever the
# run's seed, so that runs of different seeds are scored on the same test set.
TEST_FRACTION, TEST_SEED = 0.2, 42
SPLIT_VALUES = ("train", "test")


def load_table(path: str | Path, text_column: str = "text", label_column: str = "label") -> Corpus:
    """A labeled CSV/JSONL corpus; a `split` column (train/test) is used when present,
    otherwise a stratified TEST_FRACTION is held out. Unusable rows are skipped and
    counted by reason. The classes are read from the label column (`label_classes`)."""
    path = Path(path)
    if path.suffix.lower() == ".txt":
        raise DataError(f"{path}: a labeled corpus is a .csv or .jsonl file with a label column")
    columns, rows = read_rows(path, text_column)
    if columns != [text_column] and label_column not in columns:
        raise missing_column(path, label_column, columns, "--label-column")
    skipped: Counter = Counter()
    kept = []
    for row in rows:
        label = row.values.get(label_column)
        label = "" if label is None else str(label).strip()
        if row.error is not None:
            skipped[f"{path.name}: {row.error.split(':')[0]}"] += 1
        elif not label:
            skipped[f"{path.name}: no label"] += 1
        else:
            split = str(row.values.get("split", "")).strip().lower()
            kept.append((str(row.values.get("id", len(kept))), row.text, label, split))
    if not kept:
        raise DataError(f"{path}: no usable labeled rows ({dict(skipped) or 'the file is empty'})")
    classes, labels = label_classes([k[2] for k in kept], f"{path} column {label_column!r}")
    stray = labels == UNLABELED
    if stray.any():
        skipped[f"{path.name}: label not one of {sorted(LABEL_WORDS)}"] += int(stray.sum())
        kept, labels = [k for k, r in zip(kept, stray, strict=True) if not r], labels[~stray]
        if not kept:
            raise DataError(f"{path}: no usable labeled rows ({dict(skipped)})")
    whole = Split(
        name="all",
        ids=[k[0] for k in kept],
        texts=[k[1] for k in kept],
        labels=labels,
        ratings=np.zeros(len(kept), np.int8),
    )
    given = np.array([k[3] for k in kept])
    if "split" in columns:
        others = sorted(set(given.tolist()) - set(SPLIT_VALUES))
        if others:
            raise DataError(
                f"{path}: its 'split' column holds {', '.join(map(repr, others[:5]))}; mark "
                "each row train or test (or drop the column to hold out a random test split)"
            )
        train_idx, test_idx = np.flatnonzero(given == "train"), np.flatnonzero(given == "test")
        if not len(train_idx):  # nothing to learn from, nor to describe (eda)
            raise DataError(
                f"{path}: its 'split' column marks no row 'train'; mark the rows to learn "
                "from 'train' (or drop the column to hold out a random test split)"
            )
    else:
        train_idx, test_idx = stratified_split(whole.labels, TEST_FRACTION, TEST_SEED)
    splits = {"train": whole.take(train_idx, "train"), "test": whole.take(test_idx, "test")}
    return Corpus(splits, source=str(path.resolve()), skipped=skipped, classes=classes)


def label_classes(raw: list[str], where: str) -> tuple[tuple[str, ...], np.ndarray]:
    """The classes of a label column and each row's class index.

    Labels that are 0/1 or neg/pos/negative/positive on BINARY_SHARE of the rows or more
    are the binary sentiment classes (CLASS_NAMES, today's runs); the other rows are
    strays (typos) and get UNLABELED, to be skipped. Otherwise each distinct label
    is a class: integers (whole floats such as "3.0" too, as spreadsheets write them)
    sorted as numbers, any other strings sorted as text. Fractional numbers are refused
    (a classifier needs classes, not a scale), as are more than MAX_CLASSES classes."""
    counts = Counter(raw)
    binary = sum(n for label, n in counts.items() if label.lower() in LABEL_WORDS)
    if binary >= BINARY_SHARE * len(raw):  # the rest are strays (typos): skipped
        index = [LABEL_WORDS.get(label.lower(), UNLABELED) for label in raw]
        return CLASS_NAMES, np.array(index, np.int16)
    names = {label: _integer_name(label) for label in counts}
    fractional = sorted(label for label, name in names.items() if name == "")
    if fractional:
        raise DataError(
            f"{where} holds fractional numbers ({', '.join(fractional[:3])}): a classifier "
            "learns classes; round them, or bin them into classes, first"
        )
    numeric = all(name is not None for name in names.values())
    if numeric:
        distinct = sorted({name for name in names.values()}, key=int)
        label_of = names
    else:
        distinct, label_of = sorted(names), {label: label for label in names}
    if len(distinct) > MAX_CLASSES:
        raise DataError(
            f"{where} has {len(distinct):,} distinct labels, more than {MAX_CLASSES:,}: "
            "is it the label column? (choose one with --label-column)"
        )
    index = {name: i for i, name in enumerate(distinct)}
    return tuple(distinct), np.array([index[label_of[label]] for label in raw], np.int16)


def _integer_name(label: str) -> str | None:
    """A number label's class name ("3.0" -> "3"), "" for a fractional number, None for
    anything that is not a number."""
    try:
        value = float(label)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return str(int(value)) if value == int(value) else ""
