"""Atomic writes, locks, checksums and the cache home: a reader never sees a half-written
file, and two processes never write the same folder at once."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import RunError

# Temporary files are hidden and named as the tool's own, `.gru-tmp.<name>.<random><suffix>`:
# cleaning up after a killed process removes those and never a user's hidden file.
TEMP_PREFIX = ".gru-tmp."
# Read once: os.umask can only be read by setting it, which is not thread-safe.
UMASK = os.umask(0o022)
os.umask(UMASK)


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp_path)` on a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f"{TEMP_PREFIX}{path.name}.", suffix=path.suffix, dir=path.parent
    )
    os.close(fd)
    try:
        write(Path(tmp))
        # mkstemp makes the file 0600; the finished file gets what open() would give it.
        os.chmod(tmp, 0o666 & ~UMASK)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def remove_temporaries(path: Path) -> None:
    """Delete the temporary files that writes of `path` killed mid-way left beside it. Call
    it holding the lock that keeps other writers of `path` out."""
    for leftover in Path(path).parent.glob(f"{TEMP_PREFIX}{Path(path).name}.*"):
        leftover.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, obj: object) -> Path:
    return write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def home_dir() -> Path:
    """Where extracted archives, downloads and cached token ids / vectors / LMs live."""
    return Path(os.environ.get("GRU_SENTIMENT_HOME", Path.home() / ".cache" / "gru-sentiment"))


@contextmanager
def locked(path: Path, busy: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (created if needed) for the block.

    Another process holding it: wait for it when `busy` is None, else raise
    RunError(`busy`) at once. The lock goes with the process, so a killed
    process never leaves a folder locked.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (fcntl.LOCK_NB if busy else 0))
        except BlockingIOError:
            raise RunError(busy) from None
        yield
    finally:
        os.close(fd)  # releases the lock
