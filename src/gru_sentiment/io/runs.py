"""The run folder: its layout, its checksum manifest and what makes it complete.

A run is complete when `manifest.json` exists; it is written last and lists the sha256
of every other file, so a folder killed mid-way never looks complete, and a folder whose
files were altered is refused when loaded. A marker file, written when the tool creates
the folder, is what allows the tool to delete it later (nothing else is ever removed),
and the lock a writing process holds on it keeps a second one out.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ..config import Config, old_names
from ..errors import ConfigError, RunError
from .files import TEMP_PREFIX, locked, read_json, sha256, write_json

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
    """Created by this tool: by its marker, never by a file a user could have made too
    (a folder of the user's that holds a config.json is theirs)."""
    return (Path(run_dir) / MARKER).exists()


def check_destination(run_dir: Path) -> None:
    """Refuse, before anything is written, a destination that must never hold a run: a
    file, a symlink, the current folder or one above it, the home folder, a repository."""
    run_dir = Path(run_dir)
    if run_dir.is_symlink() or (run_dir.exists() and not run_dir.is_dir()):
        raise RunError(f"{run_dir} is a file or a symlink, not a folder for a run")
    where = run_dir.resolve()
    here = Path.cwd().resolve()
    if where == here or where in here.parents or where == Path.home().resolve():
        raise RunError(f"{run_dir} is the current, a parent or the home folder; choose a new one")
    if (where / ".git").exists():
        raise RunError(f"{run_dir} is a repository, not a folder for a run; choose a new one")


@contextmanager
def claim(run_dir: Path, record: dict, force: bool = False) -> Iterator[bool]:
    """Hold `run_dir`, ready for a run described by `record` (config and data), for the
    block; it yields True when the folder holds an unfinished run of the same record, to
    be resumed.

    A complete run is replaced only with `force`; an unfinished one of another record
    only with `force`; a folder with files the tool did not create, a file, a symlink or
    a folder `check_destination` refuses never. A second process claiming the same
    folder stops with a RunError. Call it after the inputs are validated: it may delete
    a previous run.
    """
    run_dir = Path(run_dir)
    check_destination(run_dir)
    if run_dir.is_dir() and any(run_dir.iterdir()) and not is_run_folder(run_dir):
        raise RunError(f"{run_dir} holds files that are not a run; choose an empty or new folder")
    run_dir.mkdir(parents=True, exist_ok=True)
    busy = f"{run_dir} is being written by another gru-sentiment process; wait for it to finish"
    # The marker is the lock: it stays while the folder's other files are replaced.
    with locked(run_dir / MARKER, busy):
        yield _prepare(run_dir, record, force)


# Fields that config.json gained after runs were written, with the value such a run had
# (so that an older run still counts as the same configuration).
ADDED_FIELDS = {
    "config": {
        "strip_accents": False,
        "class_weight": "none",
        "loss": "crossentropy",
        "adversarial": 0.0,
        "crops": 0.0,
    },
    "data": {"target": "label"},
}


def settled(part: str, values: dict) -> dict:
    """`values` (a record's "config" or "data") without the added fields that hold the
    value runs had before those fields existed; a config in sections as its flat
    identity (the form keys were first hashed in; a flat one is that form already)."""
    if part == "config" and "text" in values:
        # a config this version cannot read is compared as it is
        with suppress(ConfigError):
            values = Config.from_dict(values).identity()
    added = ADDED_FIELDS.get(part, {})
    return {k: v for k, v in values.items() if k not in added or added[k] != v}


def key(config: dict, data: dict, length: int = 12) -> str:
    """Short hash naming a cached run folder by the config and data that define it;
    settled, so that a field added later at the value older runs had changes no key
    (a grid of runs takes hours: a new option must not restart it)."""
    defining = {"config": settled("config", config), "data": settled("data", data)}
    return hashlib.sha256(json.dumps(defining, sort_keys=True).encode()).hexdigest()[:length]


def differences(run_dir: Path, record: dict) -> list[str]:
    """The fields of `record` ({"config": {...}, "data": {...}}) in which the run in
    `run_dir` differs, as "config.max_len", "data.path", ...; all of them when its
    config.json is unreadable."""
    try:
        previous = read_json(Path(run_dir) / CONFIG)
    except (ValueError, OSError):
        previous = None
    if not isinstance(previous, dict):
        return list(record)
    changed = []
    for part, values in record.items():
        old = previous.get(part)
        if isinstance(values, dict) and isinstance(old, dict):
            values, old = settled(part, values), settled(part, old)
            keys = sorted(set(values) | set(old))
            names = old_names() if part == "config" else {}  # flat names -> paths
            changed += [f"{part}.{names.get(k, k)}" for k in keys if values.get(k) != old.get(k)]
        elif values != old:
            changed.append(part)
    return changed


def _prepare(run_dir: Path, record: dict, force: bool) -> bool:
    """Empty `run_dir` (marker aside) unless it holds an unfinished run of `record`;
    whether it does. Temporary files of a killed process go either way."""
    if is_complete(run_dir) and not force:
        raise RunError(f"{run_dir} already holds a complete run; pass --force to replace it")
    if not force and (run_dir / CONFIG).exists():
        changed = differences(run_dir, record)
        if changed:
            raise RunError(
                f"{run_dir} holds an unfinished run with another configuration "
                f"({', '.join(changed)} differ); pass --force to start over"
            )
        _remove_temporaries(run_dir)
        return True
    for entry in run_dir.iterdir():
        if entry.name == MARKER:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return False


def _remove_temporaries(run_dir: Path) -> None:
    """The temporary files of atomic writes a killed process left: by their prefix, so
    that a user's own hidden files stay."""
    for leftover in run_dir.rglob(f"{TEMP_PREFIX}*"):
        if leftover.is_file():
            leftover.unlink()


def tidy(run_dir: Path) -> None:
    """Remove what a process killed after writing the manifest left in a complete run:
    its checkpoints and temporary files."""
    run_dir = Path(run_dir)
    if not (run_dir / CHECKPOINTS).exists() and not any(run_dir.rglob(f"{TEMP_PREFIX}*")):
        return
    with locked(run_dir / MARKER, f"{run_dir} is being written by another process"):
        shutil.rmtree(run_dir / CHECKPOINTS, ignore_errors=True)
        _remove_temporaries(run_dir)


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
    the manifest is a regular file inside the folder that matches its checksum."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"no run folder at {run_dir}")
    if not is_complete(run_dir):
        raise RunError(f"{run_dir} is not a complete run (no {MANIFEST}); train it first")
    manifest = read_manifest(run_dir)
    for name in names:
        if name not in manifest:
            raise RunError(f"{run_dir}: {name} is missing")
    for name, digest in manifest.items():
        if sha256(member(run_dir, name)) != digest:
            raise RunError(f"{run_dir}: {name} does not match its checksum in {MANIFEST}")


SHA256 = re.compile(r"[0-9a-f]{64}")


def read_manifest(run_dir: Path) -> dict[str, str]:
    """The manifest as {relative path: sha256}; RunError when it is anything else."""
    try:
        manifest = read_json(Path(run_dir) / MANIFEST)
    except (ValueError, OSError) as err:
        raise RunError(f"{run_dir}: {MANIFEST} is unreadable ({err})") from None
    if not isinstance(manifest, dict) or not all(
        isinstance(name, str) and isinstance(digest, str) and SHA256.fullmatch(digest)
        for name, digest in manifest.items()
    ):
        raise RunError(f"{run_dir}: {MANIFEST} is not a map of file names to sha256 digests")
    return manifest


def member(run_dir: Path, name: str) -> Path:
    """`run_dir / name`, when it names a regular file inside the folder: no absolute path,
    no `..`, no symlink, no device (`/dev/zero` would hang a checksum forever)."""
    path = Path(run_dir) / name
    if Path(name).is_absolute() or not path.resolve().is_relative_to(Path(run_dir).resolve()):
        raise RunError(f"{run_dir}: {MANIFEST} names {name!r}, outside the run folder")
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        raise RunError(f"{run_dir}: {name} is missing") from None
    if not stat.S_ISREG(mode):
        raise RunError(f"{run_dir}: {name} is not a regular file of the run folder")
    return path
