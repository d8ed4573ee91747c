"""The Large Movie Review Dataset (Maas et al. 2011): found as a folder, an archive
(extracted once into the cache) or downloaded, then read from its aclImdb layout."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.request
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..io.files import home_dir, locked
from .corpus import UNLABELED, Corpus, Split

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"
# Files per folder in the canonical dataset: a copy that differs is partial or damaged.
IMDB_COUNTS = {
    "train/neg": 12_500,
    "train/pos": 12_500,
    "train/unsup": 50_000,
    "test/neg": 12_500,
    "test/pos": 12_500,
}
SPLIT_NAMES = ("train", "test", "unsup")


def resolve_imdb_root(path: str | Path | None = None) -> Path:
    """The `aclImdb` folder for `path` (folder or .tar.gz), `$GRU_SENTIMENT_DATA`, or a download."""
    if path is None:
        path = os.environ.get("GRU_SENTIMENT_DATA") or download_imdb()
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"data path does not exist: {path}")
    if path.is_dir():
        return _find_layout(path)
    if path.name.endswith((".tar.gz", ".tgz", ".tar")):
        return extract_archive(path)
    raise DataError(f"{path} is neither an aclImdb folder nor a .tar.gz archive")


def _find_layout(folder: Path) -> Path:
    for candidate in (folder, folder / "aclImdb"):
        if (candidate / "train").is_dir() and (candidate / "test").is_dir():
            return candidate
    raise DataError(f"{folder} has no train/ and test/ folders (expected the aclImdb layout)")


def _archive_key(archive: Path) -> str:
    """Cache key of an archive: its name, size and the hash of its first and last MiB."""
    size = archive.stat().st_size
    digest = hashlib.sha256(f"{archive.name}:{size}".encode())
    with archive.open("rb") as f:
        digest.update(f.read(1 << 20))
        f.seek(max(0, size - (1 << 20)))
        digest.update(f.read(1 << 20))
    return digest.hexdigest()[:16]


def extract_archive(archive: Path) -> Path:
    """Extract `archive` once into the cache and return its aclImdb folder.

    Extraction goes to a staging folder renamed into place only when complete, so a run
    killed mid-way leaves nothing a later run would trust (its staging folder is removed
    by the next extraction). A lock per archive makes a second process wait for the first
    one's extraction instead of racing it.
    """
    cache = home_dir() / "datasets"
    key = _archive_key(archive)
    target = cache / key
    if target.is_dir():
        return _find_layout(target)
    cache.mkdir(parents=True, exist_ok=True)
    with locked(cache / f".{key}.lock"):
        if not target.is_dir():  # another process may have extracted it meanwhile
            _extract(archive, cache / f".extracting-{key}", target)
    return _find_layout(target)


def _extract(archive: Path, staging: Path, target: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)  # a killed extraction's leftovers
    try:
        with tarfile.open(archive, "r:*") as tar:
            # filter="data" refuses absolute paths, `..`, links outside and device files.
            tar.extractall(staging, filter="data")
        _find_layout(staging)
        os.replace(staging, target)
    except tarfile.FilterError as err:
        raise DataError(f"unsafe member in {archive}: {err}") from err
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise DataError(f"{archive} is truncated or corrupt: {err}") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def download_imdb(dest: Path | None = None) -> Path:
    """The canonical archive, downloaded once into the cache and checked against its md5."""
    dest = dest or home_dir() / "aclImdb_v1.tar.gz"
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with locked(dest.with_name(f".{dest.name}.lock")):  # a second process waits for it
        if not dest.exists():
            _download(dest)
    return dest


def _download(dest: Path) -> None:
    partial = dest.with_suffix(".partial")
    try:
        # bandit warns of file:// URLs (B310): IMDB_URL is a constant https:// address.
        response = urllib.request.urlopen(IMDB_URL, timeout=30)  # nosec B310
        with response, partial.open("wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"cannot download the IMDB archive ({err}). Put aclImdb_v1.tar.gz at {dest}, "
            "or pass --data PATH (an aclImdb folder or .tar.gz), or set GRU_SENTIMENT_DATA."
        ) from err
    # md5 because it is the checksum the dataset's authors publish (integrity, not security)
    md5 = hashlib.md5(partial.read_bytes(), usedforsecurity=False).hexdigest()
    if md5 != IMDB_MD5:
        partial.unlink()
        raise DataError(f"downloaded archive has md5 {md5}, expected {IMDB_MD5}; try again")
    os.replace(partial, dest)


def load_imdb(
    path: str | Path | None = None,
    splits: tuple[str, ...] = SPLIT_NAMES,
    expected_counts: dict[str, int] | None = IMDB_COUNTS,
) -> Corpus:
    """Read the Large Movie Review Dataset; `expected_counts=None` accepts any file counts."""
    root = resolve_imdb_root(path)
    skipped: Counter = Counter()
    loaded = {}
    for split in splits:
        folders = ("unsup",) if split == "unsup" else ("neg", "pos")
        parts = []
        for folder in folders:
            rel = f"{'train' if split == 'unsup' else split}/{folder}"
            parts.append(_read_folder(root / rel, rel, expected_counts, skipped))
        loaded[split] = Split.concat(split, parts)
    return Corpus(loaded, source=str(root), skipped=skipped)


def _read_folder(folder: Path, rel: str, expected: dict | None, skipped: Counter) -> Split:
    if not folder.is_dir():
        raise DataError(f"missing folder {rel}/ in {folder.parent.parent}")
    names = sorted(n for n in os.listdir(folder) if n.endswith(".txt"))
    if expected is not None and rel in expected and len(names) != expected[rel]:
        raise DataError(
            f"{rel}/ has {len(names):,} reviews, expected {expected[rel]:,}: "
            "the copy is partial or damaged"
        )
    label = {"neg": 0, "pos": 1, "unsup": UNLABELED}[folder.name]
    ids, texts, ratings = [], [], []
    for name in names:
        stem = name[:-4]
        review_id, _, rating_text = stem.partition("_")
        if not rating_text.isdigit():
            skipped[f"{rel}: file name is not <id>_<rating>.txt"] += 1
            continue
        rating = int(rating_text)
        if not _rating_agrees(label, rating):
            skipped[f"{rel}: rating contradicts its folder"] += 1
            continue
        try:
            text = (folder / name).read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            skipped[f"{rel}: not UTF-8"] += 1
            continue
        if not text.strip():
            skipped[f"{rel}: empty review"] += 1
            continue
        ids.append(f"{rel}/{review_id}")
        texts.append(text)
        ratings.append(rating)
    n = len(texts)
    return Split(rel, ids, texts, np.full(n, label, np.int16), np.array(ratings, np.int8))


def _rating_agrees(label: int, rating: int) -> bool:
    if label == 0:
        return 1 <= rating <= 4
    if label == 1:
        return 7 <= rating <= 10
    return rating == 0
