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
from pathlib import Path

import numpy as np

from ..data.text import START_ID, TextEncoder, fit_length
from ..errors import RunError
from ..io import runs
from ..model.names import EMBEDDING
from .forward import Forward
from .run_folder import RunFolder
from .run_model import RunModel

# Model files that can execute code when loaded: never opened, whatever their name.
REFUSED_SUFFIXES = (".h5", ".hdf5", ".pkl", ".pickle", ".joblib")
ZIP_MAGIC = b"PK\x03\x04"  # a .keras file is a zip archive
MAGIC_NAMES = {b"\x89HDF": "an HDF5 file", b"\x80": "a pickle"}
# Reviews per batch when scoring many: large batches amortise graph mode's per-step cost.
SCORING_BATCH = 256


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


class SentimentModel(RunModel):
    """A trained GRU run, ready for new text. Thread-safe: model calls are serialised.

    `ngram` is the hybrid's n-gram branch: (NBLogistic, Stack), or None for a pure GRU.
    """

    def __init__(self, folder: RunFolder, encoder: TextEncoder, model, ngram=None):
        super().__init__(folder)
        self.encoder = encoder
        self.model = model
        self.ngram = ngram
        self.reads_whole_text = ngram is not None
        # Masked, right-padded networks give the same answer at any padded width, so their
        # reviews are batched by length; the others read exactly max_len ids, always (their
        # answer must not depend on the other reviews of a batch). The network says whether
        # it masks: conv_gru runs trained before its masked layers ignored `mask`.
        self.masked = self.cfg.text.padding == "post" and model.get_layer(EMBEDDING).mask_zero
        self._forward = Forward(model, self.cfg.text.max_len if self.masked else None)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, run_dir: str | Path) -> SentimentModel:
        """Load a complete run folder; raises RunError for anything unsafe or tampered with."""
        run_dir = Path(run_dir)
        check_safe(run_dir)
        folder = RunFolder(run_dir).check()
        ngram = None
        if folder.config.network.ngrams:
            from ..model.linear import NBLogistic
            from ..model.stack import Stack

            # check_safe verified every file of the manifest, these included.
            ngram = NBLogistic.load(run_dir), Stack.load(run_dir)
        model = load_network(run_dir)
        return cls(folder, TextEncoder.load(folder.file(runs.TOKENIZER)), model, ngram)

    def score(self, texts: list[str], keep: str) -> tuple[np.ndarray, list[int]]:
        """(n,) P(second class) of valid texts for two classes, (n, classes) for more, and
        their lengths in token ids; `keep`: the part of a long review the network reads."""
        seqs = self.encoder.encode(texts)
        probs = self.probabilities(seqs, keep)
        if self.ngram is not None:
            linear, stack = self.ngram
            probs = stack.combine(probs, linear.logits(seqs)) if texts else probs
        return probs, [len(seq) for seq in seqs]

    def spans(self, text: str, keep: str) -> tuple[list[tuple[int, int]], set[int]]:
        """Character spans of the text's tokens, and the indices of those the GRU reads."""
        encoding = self.encoder.tokenizer.encode(text)  # <start>, then one id per token
        read = fit_length(np.arange(len(encoding.ids)), self.cfg.text.max_len, keep).tolist()
        # id i + 1 is token i
        return encoding.offsets[1:], {i - 1 for i in read if i > 0}

    def probabilities(self, seqs: Sequence[np.ndarray], keep: str) -> np.ndarray:
        """(n,) P(second class), or (n, classes), of token-id sequences by the recurrent
        model alone, cut and padded as in training."""
        if not seqs:
            k = len(self.classes)
            return np.zeros(0 if k == 2 else (0, k), np.float32)
        from ..model.batching import PaddedBatches

        cfg = self.cfg
        batches = PaddedBatches(
            seqs, None, SCORING_BATCH, cfg.text.max_len, keep, cfg.text.padding, bucket=self.masked
        )
        probs = np.concatenate([self._locked(batches[i][0]) for i in range(len(batches))])
        return batches.in_input_order(probs)

    def warm_up(self, max_rows: int = 8) -> int:
        """Compile the forward pass for every padded width this model uses and batches of up
        to `max_rows` reviews, so that no request waits for a compilation; shapes compiled."""
        from ..model.batching import LENGTH_STEP

        cfg = self.cfg
        widths = [cfg.text.max_len]
        if self.masked:  # PaddedBatches pads each batch to a multiple of LENGTH_STEP
            steps = range(LENGTH_STEP, cfg.text.max_len + LENGTH_STEP, LENGTH_STEP)
            widths = sorted({self._forward.width(min(w, cfg.text.max_len)) for w in steps})
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


def check_safe(run_dir: Path) -> None:
    """Raise RunError unless `run_dir` is a complete, untampered run with a .keras zip model."""
    if run_dir.suffix.lower() in REFUSED_SUFFIXES or run_dir.is_file():
        raise RunError(
            f"refusing {run_dir}: models load only from a run folder's {runs.MODEL} "
            "(HDF5 and pickle files can run code when loaded)"
        )
    if (run_dir / runs.CONFIG).exists() and not (run_dir / runs.MODEL).exists():
        raise RunError(f"{run_dir} has no {runs.MODEL}: an unfinished run, or not a GRU run")
    runs.verify(run_dir)
    with (run_dir / runs.MODEL).open("rb") as f:
        magic = f.read(len(ZIP_MAGIC))
    if magic != ZIP_MAGIC:
        kind = next((n for m, n in MAGIC_NAMES.items() if magic.startswith(m)), "something else")
        raise RunError(
            f"refusing {run_dir / runs.MODEL}: it is {kind}, not a Keras zip archive "
            "(HDF5 and pickle files can run code when loaded)"
        )
