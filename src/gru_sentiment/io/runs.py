"""The run folder: its layout, its checksum manifest and what makes it complete.

A run is complete when `manifest.json` exists; it is written last and lists the sha256
of every other file, so a folder killed mid-way never looks complete, and a folder whose
files were altered is refused when loaded. A marker file, written when the tool creates
the folder, is what allows the tool to delete it later: nothing else is ever removed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import RunError
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
LANGUAGE_MODEL = "lm.json"  # the language model a run started from (when it did)
MANIFEST = "manifest.json"
MARKER = ".gru-sentiment-run"  # written first: this folder was created by the tool
REQUIRED = (CONFIG, TOKENIZER, MODEL, HISTORY, METRICS, EXAMPLES)


def is_complete(run_dir: Path) -> bool:
    return (Path(run_dir) / MANIFEST).exists()


def is_run_folder(run_dir: Path) -> bool:
    """Created by this tool (its marker, or a config.json of a run made before markers)."""
    return (Path(run_dir) / MARKER).exists() or (Path(run_dir) / CONFIG).exists()


def claim(run_dir: Path, record: dict, force: bool = False) -> bool:
    """Make `run_dir` ready to hold a run described by `record` (config and data); True
    when it holds an unfinished run of the same record, to be resumed.

    A complete run is replaced only with `force`; an unfinished one of another record
    only with `force`; a folder with files the tool did not create, a file or a symlink
    never. Call it after the inputs are validated: it may delete a previous run.
    """
    run_dir = Path(run_dir)
    if run_dir.is_symlink() or (run_dir.exists() and not run_dir.is_dir()):
        raise RunError(f"{run_dir} is a file or a symlink, not a folder for a run")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        if not is_run_folder(run_dir):
            raise RunError(
                f"{run_dir} holds files that are not a run; choose an empty or new folder"
            )
        if is_complete(run_dir) and not force:
            raise RunError(f"{run_dir} already holds a complete run; pass --force to replace it")
        if not force and (run_dir / CONFIG).exists():
            previous = read_json(run_dir / CONFIG)
            if {k: previous.get(k) for k in record} == record:
                return True
            raise RunError(
                f"{run_dir} holds an unfinished run with another configuration; "
                "pass --force to start over"
            )
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / MARKER).touch()
    return False


def write_manifest(run_dir: Path) -> dict:
    """Checksum every file of the run (checkpoints excluded) and mark the run complete."""
    run_dir = Path(run_dir)
    files = sorted(
        p
        for p in run_dir.rglob("*")
        if p.is_file()
        and p.name not in (MANIFEST, MARKER)
        and CHECKPOINTS not in p.relative_to(run_dir).parts
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
