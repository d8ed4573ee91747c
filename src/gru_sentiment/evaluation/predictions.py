"""A run's predictions.csv read back as columns, per split (validation, test)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import runs


@dataclass
class SplitPredictions:
    """One split of predictions.csv as columns."""

    ids: list[str]
    labels: np.ndarray  # (n,) class index
    probs: np.ndarray  # (n,) P(second class) for two classes, else (n, classes)
    ratings: np.ndarray  # (n,) stars, 0 = unknown
    tokens: np.ndarray  # (n,) length before truncation, start token included
    truncated: np.ndarray  # (n,) bool


def read_predictions(run_dir: Path) -> dict[str, SplitPredictions]:
    """predictions.csv of a run, by split name (validation, test)."""
    rows: dict[str, list[dict]] = {}
    with (Path(run_dir) / runs.PREDICTIONS).open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows.setdefault(row["split"], []).append(row)
    return {
        split: SplitPredictions(
            ids=[r["id"] for r in split_rows],
            labels=np.array([int(r["label"]) for r in split_rows]),
            probs=_probabilities(split_rows),
            ratings=np.array([int(r["rating"]) for r in split_rows]),
            tokens=np.array([int(r["tokens"]) for r in split_rows]),
            truncated=np.array([r["truncated"] == "1" for r in split_rows]),
        )
        for split, split_rows in rows.items()
    }


def _probabilities(rows: list[dict]) -> np.ndarray:
    """(n,) the `probability` column of a two-class run, (n, classes) the `p_<class>`
    columns of a multi-class one (in the order of config.json's `classes`)."""
    columns = [c for c in rows[0] if c.startswith("p_")] if rows else []
    if not columns:
        return np.array([float(r["probability"]) for r in rows])
    return np.array([[float(r[c]) for c in columns] for r in rows])
