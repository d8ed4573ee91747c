"""Apply a trained run folder to new text: `SentimentModel.load(run_dir).predict(texts)`.

Everything comes from the run folder, after its checksums are verified: the tokenizer, the
length and truncation the model was trained with, the n-gram branch and its stack when the
run has one (the hybrid preset), and the decision threshold chosen on validation. The model
loads only from the folder's `model.keras` zip archive, with `safe_mode=True`: HDF5 files
and pickles are refused (both can carry code that runs on load); the n-gram weights are a
`.npy` array read with `allow_pickle=False`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..config import KEEP, Config
from ..data.corpus import CLASS_NAMES
from ..data.tables import text_error
from ..data.text import START_ID, TextEncoder
from ..errors import RunError
from ..evaluation.decision import verdict
from ..io import runs
from ..io.files import read_json
from .forward import Forward

if TYPE_CHECKING:
    from .explain import Explanation

# Model files that can execute code when loaded: never opened, whatever their name.
REFUSED_SUFFIXES = (".h5", ".hdf5", ".pkl", ".pickle", ".joblib")
ZIP_MAGIC = b"PK\x03\x04"  # a .keras file is a zip archive
MAGIC_NAMES = {b"\x89HDF": "an HDF5 file", b"\x80": "a pickle"}
# Reviews per batch when scoring many: large batches amortise graph mode's per-step cost.
SCORING_BATCH = 256


@dataclass(frozen=True)
class Prediction:
    """The verdict on one text; `label` and the probabilities are None when `error` says
    why."""

    label: str | None  # one of the run's classes: at its decision threshold for two
    # Two classes: P(second class) ("positive"), as always; more: P(label).
    probability: float | None
    truncated: bool  # longer than the model's max_len: only part of it was read
    tokens: int  # token ids before truncation, start token included
    error: str | None = None
    probabilities: dict[str, float] | None = None  # P(class) of every class

    def to_dict(self) -> dict:
        return asdict(self)


def keep_mode(long: str | None, cfg: Config) -> str:
    """The part of a long review to read: `long` ("head", "tail", "head+tail") or, when
    None, the run's own."""
    if long is None:
        return cfg.keep
    if long not in KEEP:
        raise ValueError(f"long must be one of {', '.join(KEEP)}, not {long!r}")
    return long


def load_network(run_dir: Path):
    """The run's Keras network, loaded with `safe_mode=True` (no code runs on load). Call
    it on a folder `check_safe` accepted, or on one being written by `train`."""
    from ..runtime import prepare

    prepare()
    import keras

    from ..model import layers  # noqa: F401  (registers the custom layers safe mode loads)

    path = Path(run_dir) / runs.MODEL
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises ValueError, TypeError, KeyError, zip errors...
        # safe_mode refuses Lambda layers and unknown classes: say so in one line.
        reason = " ".join(str(err).split())[:300]
        raise RunError(f"cannot load {path}: {reason}") from None


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
        self.classes = tuple(record.get("classes", CLASS_NAMES))  # older runs: binary
        # Two classes: the threshold on P(second class) chosen on validation; more: argmax.
        self.threshold = metrics.get("decision_threshold")
        self.encoder = encoder
        self.model = model
        self.ngram = ngram
        # Masked, right-padded networks give the same answer at any padded width, so their
        # reviews are batched by length; the others read exactly max_len ids, always (their
        # answer must not depend on the other reviews of a batch). The network says whether
        # it masks: conv_gru runs trained before its masked layers ignored `mask`.
        self.masked = self.cfg.padding == "post" and model.get_layer("embedding").mask_zero
        self._forward = Forward(model, self.cfg.max_len if self.masked else None)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, run_dir: str | Path) -> SentimentModel:
        """Load a complete run folder; raises RunError for anything unsafe or tampered with."""
        run_dir = Path(run_dir)
        check_safe(run_dir)
        record, metrics = read_json(run_dir / runs.CONFIG), read_json(run_dir / runs.METRICS)
        if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
            raise RunError(f"{run_dir / runs.CONFIG} has no config object")
        Config.from_dict(record["config"]).validate()  # an unknown or bad field: ConfigError
        classes = record.get("classes", CLASS_NAMES)
        if not isinstance(classes, list | tuple) or len(classes) < 2:
            raise RunError(f"{run_dir / runs.CONFIG}: classes must be a list of 2 or more")
        threshold = metrics.get("decision_threshold") if isinstance(metrics, dict) else None
        binary = len(classes) == 2
        if binary and (not isinstance(threshold, int | float) or not 0 <= threshold <= 1):
            raise RunError(f"{run_dir / runs.METRICS}: decision_threshold must be in [0, 1]")
        ngram = None
        if record["config"].get("ngram_branch"):
            from ..model.linear import NBLogistic
            from ..model.stack import Stack

            # check_safe verified every file of the manifest, these included.
            ngram = NBLogistic.load(run_dir), Stack.load(run_dir)
        model = load_network(run_dir)
        return cls(
            run_dir,
            record,
            metrics,
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
        probs, lengths = self.score([texts[i] for i in valid], keep_mode(long, self.cfg))
        found = dict(zip(valid, zip(probs, lengths, strict=True), strict=True))
        return [
            Prediction(None, None, False, 0, err) if err else self.verdict(*found[i])
            for i, err in enumerate(errors)
        ]

    def score(self, texts: list[str], keep: str) -> tuple[np.ndarray, list[int]]:
        """(n,) P(second class) of valid texts for two classes, (n, classes) for more, and
        their lengths in token ids; `keep`: the part of a long review the network reads."""
        seqs = self.encoder.encode(texts)
        probs = self.probabilities(seqs, keep)
        if self.ngram is not None:
            linear, stack = self.ngram
            probs = stack.combine(probs, linear.logits(seqs)) if texts else probs
        return probs, [len(seq) for seq in seqs]

    def verdict(self, probs: float | np.ndarray, tokens: int) -> Prediction:
        """The Prediction for a review of `tokens` ids: `probs` is P(second class) for two
        classes, (classes,) P(each class) for more."""
        label, probability, every = verdict(probs, self.classes, self.threshold)
        return Prediction(
            label=label,
            probability=probability,
            truncated=tokens > self.cfg.max_len,
            tokens=tokens,
            probabilities=every,
        )

    def explain(
        self, text: str, long: str | None = None, target_class: str | None = None
    ) -> Explanation:
        """Per-token contributions to P(`target_class`), by occlusion: each word the model
        reads is removed in turn, and its contribution is how much P(target_class) drops
        without it. Default target: two classes, the second (P(positive), as `probability`);
        more, the predicted class. ValueError for an unusable text or an unknown class."""
        from .explain import occlusion

        return occlusion(self, text, keep_mode(long, self.cfg), target_class=target_class)

    def probabilities(self, seqs: Sequence[np.ndarray], keep: str) -> np.ndarray:
        """(n,) P(second class), or (n, classes), of token-id sequences by the recurrent
        model alone, cut and padded as in training."""
        if not seqs:
            k = len(self.classes)
            return np.zeros(0 if k == 2 else (0, k), np.float32)
        from ..model.batching import PaddedBatches

        cfg = self.cfg
        batches = PaddedBatches(
            seqs, None, SCORING_BATCH, cfg.max_len, keep, cfg.padding, bucket=self.masked
        )
        probs = np.concatenate([self._locked(batches[i][0]) for i in range(len(batches))])
        return batches.in_input_order(probs)

    def warm_up(self, max_rows: int = 8) -> int:
        """Compile the forward pass for every padded width this model uses and batches of up
        to `max_rows` reviews, so that no request waits for a compilation; shapes compiled."""
        from ..model.batching import LENGTH_STEP

        cfg = self.cfg
        widths = [cfg.max_len]
        if self.masked:  # PaddedBatches pads each batch to a multiple of LENGTH_STEP
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


def read_classes(run_dir: Path) -> tuple[str, ...]:
    """The classes of a run (config.json; a run written before classes were: binary)."""
    return tuple(read_json(Path(run_dir) / runs.CONFIG).get("classes", CLASS_NAMES))


def check_safe(run_dir: Path) -> None:
    """Raise RunError unless `run_dir` is a complete, untampered run with a .keras zip model."""
    if run_dir.suffix.lower() in REFUSED_SUFFIXES or run_dir.is_file():
        raise RunError(
            f"refusing {run_dir}: models load only from a run folder's {runs.MODEL} "
            "(HDF5 and pickle files can run code when loaded)"
        )
    if (run_dir / runs.CONFIG).exists() and not (run_dir / runs.MODEL).exists():
        raise RunError(
            f"{run_dir} has no {runs.MODEL} (a linear-baseline or unfinished run); "
            "predict needs a trained GRU run"
        )
    runs.verify(run_dir)
    with (run_dir / runs.MODEL).open("rb") as f:
        magic = f.read(len(ZIP_MAGIC))
    if magic != ZIP_MAGIC:
        kind = next((n for m, n in MAGIC_NAMES.items() if magic.startswith(m)), "something else")
        raise RunError(
            f"refusing {run_dir / runs.MODEL}: it is {kind}, not a Keras zip archive "
            "(HDF5 and pickle files can run code when loaded)"
        )
