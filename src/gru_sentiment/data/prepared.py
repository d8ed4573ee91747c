"""Token ids of a run's splits, computed once. The tokenizer is fitted on the texts of
the whole train set (train + validation, texts only: it does not depend on the seed, so
one cached language model serves every seed), every split is encoded, and the result is
cached under $GRU_SENTIMENT_HOME/prepared keyed by (texts, vocabulary size): a second run
on the same data skips the work."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..io.files import home_dir, locked, remove_temporaries, write_atomic, write_text
from .splits import SPLIT_ORDER, Splits
from .text import TextEncoder

# Encoded in this order; "unlabeled" (IMDB's train/unsup) is empty when the run has none.
ENCODED_ORDER = (*SPLIT_ORDER, "unlabeled")
CACHED = ("ids.npy", "ends.npy", "tokenizer.json", "done")  # the files of a cache entry


def _texts(splits: Splits, name: str) -> list[str]:
    return splits.unlabeled if name == "unlabeled" else getattr(splits, name).texts


def prepare_ids(
    splits: Splits,
    vocab_size: int,
    log: Callable[[str], object] = print,
    strip_accents: bool = False,
) -> tuple[TextEncoder, dict[str, list[np.ndarray]]]:
    """The tokenizer fitted on train + validation texts, and the ids of every split
    (`ENCODED_ORDER`)."""
    key = hashlib.sha256(f"v5:{vocab_size}:{strip_accents}".encode())
    for name in ENCODED_ORDER:
        for text in _texts(splits, name):
            key.update(text.encode())
        key.update(b"\0split")
    folder = home_dir() / "prepared" / key.hexdigest()[:20]
    folder.mkdir(parents=True, exist_ok=True)
    with locked(folder / "lock"):  # a second process waits, then reads what the first wrote
        if (folder / "done").exists():
            log(f"using cached token ids from {folder}")
            return _load(folder, splits)
        started = time.perf_counter()
        encoder = TextEncoder.fit(
            splits.train.texts + splits.validation.texts, vocab_size, strip_accents
        )
        encoded = {name: encoder.encode(_texts(splits, name)) for name in ENCODED_ORDER}
        log(f"tokenized and encoded in {time.perf_counter() - started:.1f} s")
        every = [seq for name in ENCODED_ORDER for seq in encoded[name]]
        ends = np.cumsum([len(seq) for seq in every])
        for name in CACHED:
            remove_temporaries(folder / name)  # of a process killed while writing it
        write_atomic(folder / "ids.npy", lambda tmp: np.save(tmp, np.concatenate(every)))
        write_atomic(folder / "ends.npy", lambda tmp: np.save(tmp, ends))
        encoder.save(folder / "tokenizer.json")
        write_text(folder / "done", "")  # last: marks the cache entry complete
        return encoder, encoded


def _load(folder: Path, splits: Splits) -> tuple[TextEncoder, dict[str, list[np.ndarray]]]:
    ids = np.load(folder / "ids.npy", allow_pickle=False)
    ends = np.load(folder / "ends.npy", allow_pickle=False)
    seqs = np.split(ids, ends[:-1]) if len(ends) else []
    encoded, start = {}, 0
    for name in ENCODED_ORDER:
        n = len(_texts(splits, name))
        encoded[name] = seqs[start : start + n]
        start += n
    return TextEncoder.load(folder / "tokenizer.json"), encoded
