"""Apply a trained run folder to new text: `SentimentModel.load(run_dir).predict(texts)`.

Everything comes from the run folder, after its checksums are verified: the tokenizer, the
length and truncation the model was trained with, the n-gram branch and its stack when the
run has one (the hybrid preset), and the decision threshold chosen on validation. The model
loads only from the folder's `model.keras` zip archive, with `safe_mode=True`: HDF5 files
and pickles are refused (both can carry code that runs on load); the n-gram weights are a
`.npy` array read with `allow_pickle=False`.

Reading and writing prediction tables (`.txt`, `.csv`, `.jsonl`) streams row by row, so a
million-row file is predicted in bounded memory.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import runs
from .config import Config
from .data import CLASS_NAMES, DataError
from .files import read_json, write_atomic
from .text import START_ID, TextEncoder

if TYPE_CHECKING:
    from .explain import Explanation

# --long: which part of a review longer than the model's max_len is kept (fit_length names).
LONG_MODES = {"head": "post", "tail": "pre", "head+tail": "head+tail"}
# Model files that can execute code when loaded: never opened, whatever their name.
REFUSED_SUFFIXES = (".h5", ".hdf5", ".pkl", ".pickle", ".joblib")
ZIP_MAGIC = b"PK\x03\x04"  # a .keras file is a zip archive
MAGIC_NAMES = {b"\x89HDF": "an HDF5 file", b"\x80": "a pickle"}
# Batches of this many rows or more run uncompiled at their own shape (see _Forward).
FULL_ROWS = 32
# Reviews per batch when scoring many: large batches amortise graph mode's per-step cost
# (the test set: 8.5 s in batches of 64, 6.6 s in batches of 256).
SCORING_BATCH = 256


@dataclass(frozen=True)
class Prediction:
    """The verdict on one text; `label` and `probability` are None when `error` says why."""

    label: str | None  # "negative" | "positive", at the run's decision threshold
    probability: float | None  # P(positive)
    truncated: bool  # longer than the model's max_len: only part of it was read
    tokens: int  # token ids before truncation, start token included
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def text_error(text: object) -> str | None:
    """Why `text` cannot be predicted, or None when it can."""
    if not isinstance(text, str):
        return f"text is {type(text).__name__}, not a string"
    if not text.strip():
        return "empty text"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes that were not UTF-8 on input
        return "undecodable bytes (the text is not UTF-8)"
    return None


def long_mode(long: str | None, cfg: Config) -> str:
    """The fit_length truncating mode for `--long` (None: the run's own)."""
    if long is None:
        return cfg.truncating
    if long not in LONG_MODES:
        raise ValueError(f"long must be one of {', '.join(LONG_MODES)}, not {long!r}")
    return LONG_MODES[long]


def kept_part(truncating: str) -> str:
    """The --long name of a fit_length truncating mode ("post" -> "head")."""
    return {v: k for k, v in LONG_MODES.items()}[truncating]


class SentimentModel:
    """A trained run, ready for new text. Thread-safe: model calls are serialised.

    `ngram` is the hybrid's n-gram branch: (NBLogistic, Stack), or None for a pure GRU.
    """

    def __init__(
        self, run_dir: Path, record: dict, metrics: dict, encoder: TextEncoder, model, ngram=None
    ):
        self.run_dir = Path(run_dir)
        self.record = record
        self.cfg = Config.from_dict(record["config"])
        self.metrics = metrics
        self.threshold = float(metrics["decision_threshold"])  # chosen on validation
        self.encoder = encoder
        self.model = model
        self.ngram = ngram
        # Masked, right-padded models give the same answer at any padding width.
        widen = self.cfg.mask and self.cfg.padding == "post" and self.cfg.arch != "conv_gru"
        self._forward = _Forward(model, self.cfg.max_len if widen else None)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, run_dir: str | Path) -> SentimentModel:
        """Load a complete run folder; raises RunError for anything unsafe or tampered with."""
        run_dir = Path(run_dir)
        _check_safe(run_dir)
        record = read_json(run_dir / runs.CONFIG)
        ngram = None
        if record["config"].get("ngram_branch"):
            from .hybrid import Stack
            from .linear import NBLogistic

            # _check_safe verified every file of the manifest, these included.
            ngram = NBLogistic.load(run_dir), Stack.load(run_dir)
        from .runtime import prepare

        prepare()
        import keras

        from . import models  # noqa: F401  (registers the custom layers safe mode may need)

        model = keras.models.load_model(run_dir / runs.MODEL, compile=False, safe_mode=True)
        return cls(
            run_dir,
            record,
            read_json(run_dir / runs.METRICS),
            TextEncoder.load(run_dir / runs.TOKENIZER),
            model,
            ngram,
        )

    @property
    def name(self) -> str:
        """The run folder's name (what /health and the page call this model)."""
        return self.run_dir.resolve().name

    def examples(self) -> list[dict]:
        """The run's example test reviews (examples.json)."""
        return read_json(self.run_dir / runs.EXAMPLES)

    def predict(self, texts: Sequence[str] | str, long: str | None = None) -> list[Prediction]:
        """One Prediction per text, in order. `long`: "head", "tail" or "head+tail" (the part
        of a review longer than the model's max_len that is read; None: the run's own)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        errors = [text_error(t) for t in texts]
        valid = [i for i, err in enumerate(errors) if err is None]
        probs, lengths = self.score([texts[i] for i in valid], long_mode(long, self.cfg))
        found = dict(zip(valid, zip(probs, lengths, strict=True), strict=True))
        return [
            Prediction(None, None, False, 0, err) if err else self.verdict(*found[i])
            for i, err in enumerate(errors)
        ]

    def score(self, texts: list[str], truncating: str) -> tuple[np.ndarray, list[int]]:
        """(n,) P(positive) of valid texts, and their lengths in token ids."""
        seqs = self.encoder.encode(texts)
        probs = self.probabilities(seqs, truncating)
        if self.ngram is not None:
            linear, stack = self.ngram
            probs = stack.combine(probs, linear.logits(seqs)) if texts else probs
        return probs, [len(seq) for seq in seqs]

    def verdict(self, probability: float, tokens: int) -> Prediction:
        """The Prediction for P(positive) of a review of `tokens` ids."""
        return Prediction(
            label=CLASS_NAMES[int(probability >= self.threshold)],
            probability=round(float(probability), 6),
            truncated=tokens > self.cfg.max_len,
            tokens=tokens,
        )

    def explain(self, text: str, long: str | None = None) -> Explanation:
        """Per-token contributions to P(positive), by occlusion: each word the model reads is
        removed in turn, and its contribution is how much P(positive) drops without it."""
        from .explain import occlusion

        return occlusion(self, text, long_mode(long, self.cfg))

    def probabilities(self, seqs: Sequence[np.ndarray], truncating: str) -> np.ndarray:
        """(n,) P(positive) of token-id sequences by the recurrent model alone, cut and
        padded as in training."""
        if not seqs:
            return np.zeros(0, np.float32)
        from .batching import PaddedBatches

        cfg = self.cfg
        batches = PaddedBatches(
            seqs, None, SCORING_BATCH, cfg.max_len, truncating, cfg.padding, cfg.bucket
        )
        probs = np.concatenate([self._locked(batches[i][0]) for i in range(len(batches))])
        out = np.empty_like(probs)
        out[batches.order()] = probs  # undo length bucketing
        return out

    def warm_up(self, max_rows: int = 8) -> int:
        """Compile the forward pass for every padded width this model uses and batches of up
        to `max_rows` reviews, so that no request waits for a compilation; shapes compiled."""
        from .batching import LENGTH_STEP

        cfg = self.cfg
        widths = [cfg.max_len]
        if cfg.bucket:  # PaddedBatches pads each batch to a multiple of LENGTH_STEP
            steps = range(LENGTH_STEP, cfg.max_len + LENGTH_STEP, LENGTH_STEP)
            widths = sorted({self._forward.width(min(w, cfg.max_len)) for w in steps})
        shapes = [(1 << k, w) for w in widths for k in range(max_rows.bit_length())]
        for shape in shapes:
            ids = np.zeros(shape, np.int32)
            ids[:, 0] = START_ID
            self._locked(ids)
        return len(shapes)

    def _locked(self, ids: np.ndarray) -> np.ndarray:
        # One batch at a time: other threads' calls get in between a long explanation's.
        with self._lock:
            return self._forward(ids)


def _check_safe(run_dir: Path) -> None:
    """Raise RunError unless `run_dir` is a complete, untampered run with a .keras zip model."""
    if run_dir.suffix.lower() in REFUSED_SUFFIXES or run_dir.is_file():
        raise runs.RunError(
            f"refusing {run_dir}: models load only from a run folder's {runs.MODEL} "
            "(HDF5 and pickle files can run code when loaded)"
        )
    if (run_dir / runs.CONFIG).exists() and not (run_dir / runs.MODEL).exists():
        raise runs.RunError(
            f"{run_dir} has no {runs.MODEL} (a linear-baseline or unfinished run); "
            "predict needs a trained GRU run"
        )
    runs.verify(run_dir)
    with (run_dir / runs.MODEL).open("rb") as f:
        magic = f.read(len(ZIP_MAGIC))
    if magic != ZIP_MAGIC:
        kind = next((n for m, n in MAGIC_NAMES.items() if magic.startswith(m)), "something else")
        raise runs.RunError(
            f"refusing {run_dir / runs.MODEL}: it is {kind}, not a Keras zip archive "
            "(HDF5 and pickle files can run code when loaded)"
        )


class _Forward:
    """(batch, time) int32 ids -> (batch,) P(positive).

    `model.predict` sets up a data adapter and callbacks on every call (~150 ms here), so
    the model is called through TensorFlow concrete functions, two of them. A small batch
    (a request, fewer than `FULL_ROWS` rows) runs XLA-compiled: graph mode steps the
    recurrent loop op by op (17 ms for one tutorial review on 2 cores), XLA compiles the
    loop into one program (~1 ms). XLA compiles one program per shape (~0.5 s each), so
    small batches are padded to a power of two rows and, for masked models (`widen_to`),
    a power of two width. A large batch is compute-bound: graph mode in 256-row batches
    scores the test set about as fast as XLA in 64-row batches (6.6 s vs 6.3 s, warm) and
    compiles nothing (XLA's first pass took 11.4 s), so it keeps its own shape.
    """

    def __init__(self, model, widen_to: int | None = None):
        import keras

        self.model = model
        self.widen_to = widen_to
        self.call = self._eager
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            def concrete(jit_compile: bool):
                # A concrete function skips tf.function's per-call dispatch (~0.2 ms).
                return tf.function(
                    lambda ids: model(ids, training=False),
                    input_signature=[tf.TensorSpec((None, None), tf.int32)],
                    jit_compile=jit_compile,
                ).get_concrete_function()

            # cuDNN recurrent kernels do not compile with XLA: GPUs keep TensorFlow's graph.
            small = concrete(jit_compile=not tf.config.list_logical_devices("GPU"))
            large = concrete(jit_compile=False)
            self.call = lambda ids: (large if len(ids) >= FULL_ROWS else small)(ids).numpy()

    def _eager(self, ids: np.ndarray) -> np.ndarray:
        import keras

        return keras.ops.convert_to_numpy(self.model(ids, training=False))

    def width(self, width: int) -> int:
        """The width a small batch padded to `width` is compiled for: with `widen_to`, the
        next power of two (32, 64, 128, ...) up to it; few widths, few programs."""
        if not self.widen_to:
            return width
        return min(self.widen_to, max(width, 1 << (width - 1).bit_length()))

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        n = len(ids)
        if n >= FULL_ROWS:
            return self.call(ids).reshape(-1)
        rows, width = 1 << (n - 1).bit_length(), self.width(ids.shape[1])
        if (rows, width) != ids.shape:
            # Filler rows hold a start token, never only padding (cuDNN rejects fully masked rows).
            padded = np.zeros((rows, width), np.int32)
            padded[n:, 0] = START_ID
            padded[:n, : ids.shape[1]] = ids
            ids = padded
        return self.call(ids).reshape(-1)[:n]


# ---------------------------------------------------------------------------------------
# Tables of texts in and out, streamed.
# ---------------------------------------------------------------------------------------

TABLE_SUFFIXES = (".txt", ".csv", ".jsonl", ".ndjson")
OUTPUT_SUFFIXES = (".csv", ".jsonl", ".ndjson")
OUTPUT_COLUMNS = ("predicted", "probability", "truncated", "kept", "error")


@dataclass
class Row:
    """One input row: its columns as read (kept in the output), and its text or why not."""

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
    per-row error; they are kept as they were in the output (surrogate escapes). A CSV
    without `text_column` raises DataError at once; a JSONL row without it is a row error.
    `on_bytes(n)` is called as the file is read (for a progress bar).
    """
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"{path}: expected a {', '.join(TABLE_SUFFIXES)} file")
    if not path.is_file():
        raise DataError(f"file does not exist: {path}")
    f = path.open("rb")
    lines = _decoded_lines(f, on_bytes)
    if suffix == ".txt":
        return ["text"], _closing(f, text_rows(line.rstrip("\r\n") for line in lines))
    if suffix == ".csv":
        reader = csv.reader(lines)
        header = next(reader, [])
        if text_column not in header:
            f.close()
            raise DataError(
                f"{path} has no column {text_column!r} (columns: {', '.join(header)}); "
                "choose one with --text-column"
            )
        return header, _closing(f, _csv_rows(reader, header, text_column))
    # JSONL rows may differ in their fields: the first row's name the columns of a CSV output.
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
    for fields in reader:
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
        except json.JSONDecodeError as err:
            yield Row({}, None, f"invalid JSON: {err}")
            continue
        if not isinstance(values, dict):
            yield Row({}, None, "invalid JSON: a row must be an object")
        elif text_column not in values:
            yield Row(values, None, f"no {text_column!r} field")
        else:
            yield Row(values, values[text_column], text_error(values[text_column]))


def predict_rows(
    model: SentimentModel, rows: Iterable[Row], long: str | None = None, chunk: int = 1024
) -> Iterator[tuple[Row, dict]]:
    """(row, output columns) in input order, predicted `chunk` rows at a time."""
    kept = kept_part(long_mode(long, model.cfg))
    rows = iter(rows)
    while batch := list(islice(rows, chunk)):
        valid = [row for row in batch if row.error is None]
        predictions = iter(model.predict([row.text for row in valid], long))
        for row in batch:
            if row.error is not None:
                yield row, dict.fromkeys(OUTPUT_COLUMNS[:-1], None) | {"error": row.error}
                continue
            p = next(predictions)
            yield (
                row,
                {
                    "predicted": p.label,
                    "probability": p.probability,
                    "truncated": p.truncated,
                    "kept": kept if p.truncated else "all",
                    "error": None,
                },
            )


def output_names(columns: Sequence[str]) -> dict[str, str]:
    """Output column name per OUTPUT_COLUMNS entry; an input column of the same name is
    kept, and the prediction's column gets a `model_` prefix instead."""
    return {c: f"model_{c}" if c in columns else c for c in OUTPUT_COLUMNS}


def write_rows(path: Path, columns: list[str], results: Iterable[tuple[Row, dict]]) -> int:
    """Write input columns + predictions to a .csv or .jsonl file (atomically); rows written."""
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise DataError(f"--output must end in .csv or .jsonl, not {path.name}")
    names = output_names(columns)
    written = 0

    def write(tmp: Path) -> None:
        nonlocal written
        # surrogateescape writes undecodable input bytes back exactly as they were read.
        with tmp.open("w", encoding="utf-8", errors="surrogateescape", newline="") as out:
            writer = csv.writer(out, lineterminator="\n") if suffix == ".csv" else None
            if writer:
                writer.writerow([*columns, *names.values()])
            for row, result in results:
                if writer:
                    truncated = result["truncated"]  # 0/1 as in predictions.csv
                    result = result | {"truncated": None if truncated is None else int(truncated)}
                    values = [row.values.get(c, "") for c in columns]
                    writer.writerow([*values, *(result[c] for c in OUTPUT_COLUMNS)])
                else:
                    renamed = {names[c]: v for c, v in result.items()}
                    out.write(json.dumps(row.values | renamed, ensure_ascii=False) + "\n")
                written += 1

    write_atomic(path, write)
    return written
