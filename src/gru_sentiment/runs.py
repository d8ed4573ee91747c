"""The run folder: its layout, its checksum manifest and what makes it complete.

A run is complete when `manifest.json` exists; it is written last and lists the sha256
of every other file, so a folder killed mid-way never looks complete, and a folder whose
files were altered is refused when loaded.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .files import read_json, sha256, write_json

CONFIG = "config.json"
TOKENIZER = "tokenizer.json"
MODEL = "model.keras"
HISTORY = "history.csv"
METRICS = "metrics.json"
EXAMPLES = "examples.json"
PREDICTIONS = "predictions.csv"
PLOTS = "plots"
CHECKPOINTS = "checkpoint"
MANIFEST = "manifest.json"
REQUIRED = (CONFIG, TOKENIZER, MODEL, HISTORY, METRICS, EXAMPLES)


class RunError(Exception):
    """A run folder that is missing, incomplete, tampered with or of the wrong kind."""


def is_complete(run_dir: Path) -> bool:
    return (Path(run_dir) / MANIFEST).exists()


def write_manifest(run_dir: Path) -> dict:
    """Checksum every file of the run (checkpoints excluded) and mark the run complete."""
    run_dir = Path(run_dir)
    files = sorted(
        p
        for p in run_dir.rglob("*")
        if p.is_file() and p.name != MANIFEST and CHECKPOINTS not in p.relative_to(run_dir).parts
    )
    manifest = {str(p.relative_to(run_dir)): sha256(p) for p in files}
    write_json(run_dir / MANIFEST, manifest)
    return manifest


def verify(run_dir: Path, names: tuple[str, ...] = REQUIRED) -> None:
    """Raise RunError unless the run is complete, has `names`, and every file listed in
    the manifest matches its checksum."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"no run folder at {run_dir}")
    if not is_complete(run_dir):
        raise RunError(f"{run_dir} is not a complete run (no {MANIFEST}); train it first")
    manifest = read_json(run_dir / MANIFEST)
    for name in names:
        if name not in manifest:
            raise RunError(f"{run_dir}: {name} is missing")
    for name, digest in manifest.items():
        path = run_dir / name
        if not path.exists():
            raise RunError(f"{run_dir}: {name} is missing")
        if sha256(path) != digest:
            raise RunError(f"{run_dir}: {name} does not match its checksum in {MANIFEST}")


def clear(run_dir: Path) -> None:
    """Remove a previous run's files (for --force)."""
    if Path(run_dir).exists():
        shutil.rmtree(run_dir)
