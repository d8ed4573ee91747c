"""Loading labeled reviews: the IMDB folder or archive, or a user's CSV / JSONL file.

Every loader returns `Split`s: parallel columns (ids, texts, labels, ratings) so that
the 100,000 IMDB reviews stay cheap to hold, slice and encode.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import urllib.request
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CLASS_NAMES = ("negative", "positive")  # label 0, label 1: defined once, used everywhere
UNLABELED = -1
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


class DataError(Exception):
    """Input data that cannot be used; the message says what is wrong and where."""


@dataclass
class Split:
    """One split of reviews as parallel columns; labels are 0/1, or -1 when unknown."""

    name: str
    ids: list[str]
    texts: list[str]
    labels: np.ndarray  # (n,) int8
    ratings: np.ndarray  # (n,) int8, 0 = unknown

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index: np.ndarray, name: str | None = None) -> Split:
        """The reviews at `index`, in that order."""
        return Split(
            name=name or self.name,
            ids=[self.ids[i] for i in index],
            texts=[self.texts[i] for i in index],
            labels=self.labels[index],
            ratings=self.ratings[index],
        )


@dataclass
class Corpus:
    """All splits of one dataset, plus what was skipped while reading it and why."""

    splits: dict[str, Split]
    source: str
    skipped: Counter = field(default_factory=Counter)

    def __getitem__(self, name: str) -> Split:
        return self.splits[name]


def home_dir() -> Path:
    """Where extracted archives and downloads are cached."""
    return Path(os.environ.get("GRU_SENTIMENT_HOME", Path.home() / ".cache" / "gru-sentiment"))


# ---------------------------------------------------------------------------------------
# Finding the data: a folder, an archive (extracted once into the cache), or a download.
# ---------------------------------------------------------------------------------------


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


def extract_archive(archive: Path, cache: Path | None = None) -> Path:
    """Extract `archive` once into the cache and return its aclImdb folder.

    Extraction goes to a temporary folder that is renamed into place only when complete,
    so a run killed mid-way leaves nothing a later run would trust.
    """
    cache = cache or home_dir() / "datasets"
    target = cache / _archive_key(archive)
    if target.is_dir():
        return _find_layout(target)
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extracting-", dir=cache))
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
    return _find_layout(target)


def download_imdb(dest: Path | None = None) -> Path:
    """The canonical archive, downloaded once into the cache and checked against its md5."""
    dest = dest or home_dir() / "aclImdb_v1.tar.gz"
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_suffix(".partial")
    try:
        with urllib.request.urlopen(IMDB_URL, timeout=30) as response, partial.open("wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"cannot download the IMDB archive ({err}). Put aclImdb_v1.tar.gz at {dest}, "
            "or pass --data PATH (an aclImdb folder or .tar.gz), or set GRU_SENTIMENT_DATA."
        ) from err
    md5 = hashlib.md5(partial.read_bytes()).hexdigest()
    if md5 != IMDB_MD5:
        partial.unlink()
        raise DataError(f"downloaded archive has md5 {md5}, expected {IMDB_MD5}; try again")
    os.replace(partial, dest)
    return dest


# ---------------------------------------------------------------------------------------
# Reading the aclImdb layout.
# ---------------------------------------------------------------------------------------


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
        loaded[split] = _concat(split, parts)
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
    return Split(rel, ids, texts, np.full(n, label, np.int8), np.array(ratings, np.int8))


def _rating_agrees(label: int, rating: int) -> bool:
    if label == 0:
        return 1 <= rating <= 4
    if label == 1:
        return 7 <= rating <= 10
    return rating == 0


def _concat(name: str, parts: list[Split]) -> Split:
    return Split(
        name=name,
        ids=[i for p in parts for i in p.ids],
        texts=[t for p in parts for t in p.texts],
        labels=np.concatenate([p.labels for p in parts]),
        ratings=np.concatenate([p.ratings for p in parts]),
    )


# ---------------------------------------------------------------------------------------
# A user's own labeled file.
# ---------------------------------------------------------------------------------------

_LABEL_WORDS = {"0": 0, "1": 1, "neg": 0, "pos": 1, "negative": 0, "positive": 1}


def read_table(path: Path, text_column: str) -> tuple[list[dict], list[str]]:
    """Rows of a CSV or JSONL file as dicts, and its column names; checks `text_column`."""
    if not path.exists():
        raise DataError(f"file does not exist: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                rows = list(reader)
                columns = list(reader.fieldnames or [])
        elif suffix in (".jsonl", ".ndjson"):
            with path.open(encoding="utf-8") as f:
                rows = [json.loads(line) for line in f if line.strip()]
            columns = list(dict.fromkeys(k for row in rows for k in row))
        else:
            raise DataError(f"{path}: expected a .csv or .jsonl file")
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not UTF-8: {err}") from err
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: invalid JSON on a line: {err}") from err
    if text_column not in columns:
        raise DataError(f"{path} has no column {text_column!r} (columns: {', '.join(columns)})")
    return rows, columns


def load_table(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
    test_fraction: float = 0.2,
    seed: int = 42,
) -> Corpus:
    """A labeled CSV/JSONL corpus; a `split` column (train/test) is used when present,
    otherwise a stratified `test_fraction` is held out with `seed`."""
    path = Path(path)
    rows, columns = read_table(path, text_column)
    if label_column not in columns:
        raise DataError(f"{path} has no column {label_column!r} (columns: {', '.join(columns)})")
    skipped: Counter = Counter()
    kept = []
    for row in rows:
        text = str(row.get(text_column) or "")
        label = _LABEL_WORDS.get(str(row.get(label_column, "")).strip().lower())
        if label is None:
            skipped[f"{path.name}: label not one of {sorted(_LABEL_WORDS)}"] += 1
        elif not text.strip():
            skipped[f"{path.name}: empty text"] += 1
        else:
            kept.append((str(row.get("id", len(kept))), text, label, str(row.get("split", ""))))
    if not kept:
        raise DataError(f"{path}: no usable labeled rows")
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
    else:
        train_idx, test_idx = stratified_split(whole.labels, test_fraction, seed)
    splits = {"train": whole.take(train_idx, "train"), "test": whole.take(test_idx, "test")}
    return Corpus(splits, source=str(path.resolve()), skipped=skipped)


# ---------------------------------------------------------------------------------------
# Splitting.
# ---------------------------------------------------------------------------------------


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held_out): `fraction` of each label held out, chosen with `seed`."""
    rng = np.random.default_rng(seed)
    kept, held = [], []
    for label in np.unique(labels):
        index = rng.permutation(np.flatnonzero(labels == label))
        n_held = int(round(len(index) * fraction))
        held.append(index[:n_held])
        kept.append(index[n_held:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))


def train_validation(train: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Carve a stratified, seeded validation split out of train (never out of test)."""
    kept, held = stratified_split(train.labels, fraction, seed)
    return train.take(kept, "train"), train.take(held, "validation")


def subsample(split: Split, limit: int | None, seed: int) -> Split:
    """A stratified subset of at most `limit` reviews (all of them when limit is None)."""
    if limit is None or limit >= len(split):
        return split
    _, held = stratified_split(split.labels, limit / len(split), seed)
    return split.take(held)


def load_corpus(
    path: str | Path | None,
    text_column: str = "text",
    label_column: str = "label",
    splits: tuple[str, ...] = ("train", "test"),
) -> Corpus:
    """IMDB (folder, archive, download) or, for a .csv / .jsonl path, the user's own corpus."""
    if path is not None and Path(path).suffix.lower() in (".csv", ".jsonl", ".ndjson"):
        return load_table(path, text_column, label_column)
    return load_imdb(path, splits=splits)
