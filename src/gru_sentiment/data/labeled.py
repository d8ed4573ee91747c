"""A labeled file to score a trained run on: every usable row, its label mapped onto the
run's classes (CSV, JSONL or Parquet).

Label values are mapped, in this order: by `label_map` ("bad=negative,good=positive"),
by `rating_cut` for star ratings ("4": 4 and up positive, the rest negative; "2:4": 2 and
below negative, 4 and up positive, the stars between skipped), or by name: a value that
is one of the run's classes (any case), or for two classes 0/1, neg/pos,
negative/positive. A value that none of these maps is an error naming it, never a row
silently dropped: a label column with a typo would otherwise change the score unseen.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..io.terminal import printable
from .corpus import CLASS_NAMES
from .tables import LABEL_WORDS, missing_column, read_rows, text_error

LABELED_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".parquet")
SHOWN_VALUES = 8  # unknown label values named in the error


@dataclass
class Labeled:
    """The scorable rows of a labeled file: texts and class indices into `classes`."""

    texts: list[str]
    labels: np.ndarray  # (n,) int, index into classes
    classes: tuple[str, ...]
    mapping: dict[str, str]  # each raw label value -> the class it counts as (or "skipped")
    skipped: Counter = field(default_factory=Counter)  # reason -> rows


def read_labeled(
    path: Path,
    classes: tuple[str, ...] = CLASS_NAMES,
    text_column: str = "text",
    label_column: str = "label",
    label_map: str | None = None,
    rating_cut: str | None = None,
) -> Labeled:
    """Every row of `path` with a usable text and label, labels as indices into `classes`.
    DataError for a missing file or column, unknown label values, or no usable row."""
    path = Path(path)
    if path.suffix.lower() not in LABELED_SUFFIXES:
        raise DataError(f"{path}: a labeled file is {', '.join(LABELED_SUFFIXES)}")
    if not path.is_file():
        raise DataError(f"file does not exist: {path}")
    pairs, skipped = _pairs(path, text_column, label_column)
    mapping = label_mapping(
        sorted({label for _, label in pairs}), classes, label_map, rating_cut, path, label_column
    )
    texts, labels = [], []
    for text, label in pairs:
        target = mapping[label]
        if target is None:
            skipped["between the rating cut"] += 1
            continue
        texts.append(text)
        labels.append(classes.index(target))
    if not texts:
        raise DataError(f"{path}: no usable labeled rows ({dict(skipped) or 'the file is empty'})")
    shown = {value: target or "skipped" for value, target in mapping.items()}
    return Labeled(texts, np.array(labels, int), classes, shown, skipped)


def _pairs(path: Path, text_column: str, label_column: str) -> tuple[list, Counter]:
    """(text, label value) of the usable rows, and the others counted by reason."""
    skipped: Counter = Counter()
    pairs = []
    for values, text, error in _rows(path, text_column, label_column):
        label = values.get(label_column)
        label = "" if label is None else str(label).strip()
        if error is not None:
            skipped[error.split(":")[0]] += 1
        elif not label or label.lower() in ("nan", "none", "null"):
            skipped["no label"] += 1
        else:
            pairs.append((text, label))
    return pairs, skipped


def _rows(path: Path, text_column: str, label_column: str):
    """(values, text, error) of each row: CSV / JSONL through `read_rows`, Parquet
    through pyarrow (the `cluster` extra)."""
    if path.suffix.lower() != ".parquet":
        columns, rows = read_rows(path, text_column)
        if path.suffix.lower() == ".csv" and label_column not in columns:
            raise missing_column(path, label_column, columns, "--label-column")
        return ((row.values, row.text, row.error) for row in rows)
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            "reading Parquet needs pyarrow: pip install 'gru-sentiment[cluster]'"
        ) from None
    try:
        names = pq.read_schema(path).names
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError...
        raise DataError(f"{path}: not a readable Parquet file ({err})") from None
    for column, option in ((text_column, "--text-column"), (label_column, "--label-column")):
        if column not in names:
            raise missing_column(path, column, names, option)
    table = pq.read_table(path, columns=[text_column, label_column]).to_pylist()
    return ((row, row[text_column], text_error(row[text_column])) for row in table)


def label_mapping(
    values: list[str],
    classes: tuple[str, ...],
    label_map: str | None,
    rating_cut: str | None,
    path: Path,
    column: str,
) -> dict[str, str | None]:
    """Each distinct label value -> one of `classes` (None: skipped by a rating cut)."""
    if label_map is not None and rating_cut is not None:
        raise DataError("give --label-map or --rating-cut, not both")
    if rating_cut is not None:
        return _cut(values, classes, rating_cut, path, column)
    given = _parse_map(label_map, classes) if label_map else {}
    by_name = {name.lower(): name for name in classes}
    mapping: dict[str, str | None] = {}
    for value in values:
        key = value.lower()
        if value in given:
            mapping[value] = given[value]
        elif key in by_name:
            mapping[value] = by_name[key]
        elif len(classes) == 2 and key in LABEL_WORDS:
            mapping[value] = classes[LABEL_WORDS[key]]
    unknown = [value for value in values if value not in mapping]
    if unknown:
        shown = ", ".join(printable(repr(v)) for v in unknown[:SHOWN_VALUES])
        more = f" and {len(unknown) - SHOWN_VALUES:,} more" if len(unknown) > SHOWN_VALUES else ""
        raise DataError(
            f"{path} column {column!r} holds values that are not classes of this run "
            f"({', '.join(map(printable, classes))}): {shown}{more}; map them with "
            "--label-map VALUE=CLASS,... or cut star ratings with --rating-cut"
        )
    return mapping


def _parse_map(label_map: str, classes: tuple[str, ...]) -> dict[str, str]:
    """'bad=negative,good=positive' -> {"bad": "negative", "good": "positive"}."""
    mapping = {}
    for part in label_map.split(","):
        value, sep, target = part.partition("=")
        if not sep or not value.strip():
            raise DataError(f"--label-map takes VALUE=CLASS pairs, not {printable(part)!r}")
        if target.strip() not in classes:
            raise DataError(
                f"--label-map: {printable(target.strip())!r} is not a class of this run "
                f"({', '.join(map(printable, classes))})"
            )
        mapping[value.strip()] = target.strip()
    return mapping


def _cut(
    values: list[str], classes: tuple[str, ...], cut: str, path: Path, column: str
) -> dict[str, str | None]:
    """Star ratings -> the two classes: 'HIGH' (HIGH and up positive) or 'LOW:HIGH' (LOW
    and below negative, HIGH and up positive, between: None, skipped)."""
    if len(classes) != 2:
        raise DataError("--rating-cut maps ratings onto two classes; this run has more")
    low_text, _, high_text = cut.rpartition(":")
    try:
        high = float(high_text)
        low = float(low_text) if low_text else math.nextafter(high, -math.inf)
    except ValueError:
        raise DataError(f"--rating-cut takes HIGH or LOW:HIGH numbers, not {cut!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise DataError(f"--rating-cut {cut!r}: LOW must be a number below HIGH")
    mapping: dict[str, str | None] = {}
    for value in values:
        try:
            rating = float(value)
        except ValueError:
            rating = math.nan
        if not math.isfinite(rating):
            raise DataError(
                f"{path} column {column!r} holds {printable(repr(value))}, not a rating "
                "(--rating-cut needs numbers)"
            )
        mapping[value] = classes[1] if rating >= high else classes[0] if rating <= low else None
    return mapping
