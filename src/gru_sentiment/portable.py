"""Score text with an exported bundle (`gru-sentiment export RUN --format onnx`) using
numpy, onnxruntime and tokenizers only: no TensorFlow, no Keras, no scikit-learn.

    from gru_sentiment.portable import PortableModel

    model = PortableModel.load("runs/hybrid-onnx")
    model.predict(["A moving, beautifully shot film."])
    # [{'label': 'positive', 'probability': 0.97, 'truncated': False, 'tokens': 8,
    #   'error': None, 'probabilities': {'negative': 0.03, 'positive': 0.97}}]

or from a shell, one JSON line per input line: `python -m gru_sentiment.portable BUNDLE`.
Install with `pip install 'gru-sentiment[portable]'`, or in a slim image without
TensorFlow: `pip install --no-deps gru-sentiment`, then `pip install numpy tokenizers
onnxruntime` (with their dependencies).
The probabilities are the run's own (the export checks it, within 1e-5), and so are the
fields of each prediction (those of `SentimentModel.predict`). Two classes: `probability`
is P(positive) and the label is decided at the run's threshold; three or more: the label
is the most probable class and `probability` is its probability.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .data.ngrams import ngram_logits
from .data.tables import text_error
from .data.text import TextEncoder, fit_length, pad
from .errors import RunError, require
from .evaluation.decision import verdict
from .io.files import read_json, sha256
from .model.stack import Stack

BUNDLE = "bundle.json"
FORMAT = "gru-sentiment-bundle"
VERSION = 1  # two classes (bundles of every gru-sentiment version)
MULTICLASS_VERSION = 2  # three classes or more: softmax, n-gram weight matrix, stack matrix
VERSIONS = (VERSION, MULTICLASS_VERSION)
BATCH = 256  # reviews per network call when scoring many


class PortableModel:
    """A bundle loaded for scoring; thread-safe (ONNX Runtime sessions are)."""

    def __init__(self, folder: Path, spec: dict, session, encoder: TextEncoder):
        self.folder = folder
        self.spec = spec
        self.session = session
        self.encoder = encoder
        self.text = spec["text"]
        self.classes = tuple(spec["classes"])
        self.binary = len(self.classes) == 2
        # Two classes: the threshold on P(positive) chosen on validation; more: argmax.
        self.threshold = float(spec["threshold"]) if self.binary else None
        self.ngrams = None
        if spec["ngrams"] is not None:
            ngrams = spec["ngrams"]
            weights = np.fromfile(folder / ngrams["weights"], "<f4")
            shape = tuple(ngrams.get("shape", [ngrams["features"]]))  # older bundles: a vector
            if weights.size != np.prod(shape):
                raise RunError(f"{folder / ngrams['weights']} does not hold {shape} weights")
            bias = ngrams["bias"]
            bias = float(bias) if self.binary else np.asarray(bias, np.float64)  # (k,)
            # (n_features,) or (n_features, k), row-major
            self.ngrams = (
                weights.reshape(shape),
                bias,
                ngrams["ngram_max"],
                Stack.from_dict(spec["stack"]),
            )

    @classmethod
    def load(cls, folder: str | Path) -> PortableModel:
        """Read and verify a bundle folder; RunError when it is not one, is tampered with,
        or holds a SavedModel instead of an ONNX network."""
        folder = Path(folder)
        if not (folder / BUNDLE).is_file():
            raise RunError(f"{folder} has no {BUNDLE}: not an exported bundle")
        spec = read_json(folder / BUNDLE)
        if not isinstance(spec, dict) or spec.get("format") != FORMAT:
            raise RunError(f"{folder / BUNDLE} is not a {FORMAT} description")
        if spec.get("version") not in VERSIONS:
            raise RunError(
                f"{folder} is bundle version {spec.get('version')}; this scorer reads "
                f"{' and '.join(map(str, VERSIONS))}"
            )
        if spec["network"]["format"] != "onnx":
            raise RunError(
                f"{folder} holds a {spec['network']['format']} network; "
                "the portable scorer reads ONNX bundles (export --format onnx)"
            )
        for name, digest in spec["files"].items():
            path = (folder / name).resolve()
            if folder.resolve() not in path.parents or not path.is_file() or sha256(path) != digest:
                raise RunError(f"{folder / name} is missing or changed since export")
        require("the portable scorer", "portable", "onnxruntime", error=RunError)
        import onnxruntime

        session = onnxruntime.InferenceSession(
            str(folder / spec["network"]["file"]), providers=["CPUExecutionProvider"]
        )
        return cls(folder, spec, session, TextEncoder.load(folder / spec["text"]["tokenizer"]))

    def predict(self, texts: Sequence[str] | str) -> list[dict]:
        """One dict per text, in order, with the fields of `SentimentModel.predict`'s
        Prediction: label, probability (P(positive) for two classes, P(label) for more),
        truncated, tokens, error (a reason, and None values, for a text that cannot be
        scored), probabilities ({class: P} of every class)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        errors = [text_error(t) for t in texts]
        valid = [t for t, err in zip(texts, errors, strict=True) if err is None]
        seqs = self.encoder.encode(valid)
        scored = iter(zip(self.combine(seqs), seqs, strict=True))
        results = []
        for err in errors:
            if err is not None:
                results.append(
                    {
                        "label": None,
                        "probability": None,
                        "truncated": False,
                        "tokens": 0,
                        "error": err,
                        "probabilities": None,
                    }
                )
                continue
            probs, seq = next(scored)
            results.append(self.verdict(probs, len(seq)))
        return results

    def verdict(self, probs: float | np.ndarray, tokens: int) -> dict:
        """The prediction for a text of `tokens` ids: `probs` is P(positive) for two
        classes, (k,) P(each class) for more (as `SentimentModel.verdict`)."""
        label, probability, every = verdict(probs, self.classes, self.threshold)
        return {
            "label": label,
            "probability": probability,
            "truncated": tokens > self.text["max_len"],
            "tokens": tokens,
            "error": None,
            "probabilities": every,
        }

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(n,) P(positive) of valid texts for two classes, (n, k) P(each class) for more."""
        return self.combine(self.encoder.encode(list(texts)))

    def combine(self, seqs: list[np.ndarray]) -> np.ndarray:
        """(n,) P(positive), or (n, k), of token-id sequences: the network's, stacked with
        the n-gram branch's log-odds (scores per class) when the bundle has one."""
        probs = self.network(seqs)
        if self.ngrams is None or not seqs:
            return probs
        weights, bias, ngram_max, stack = self.ngrams
        return stack.combine(probs, ngram_logits(seqs, weights, bias, ngram_max))

    def network(self, seqs: list[np.ndarray]) -> np.ndarray:
        """(n,) P(positive), or (n, k) P(each class), by the network, cut and padded as in
        training."""
        text = self.text
        kept = [fit_length(seq, text["max_len"], text["keep"]) for seq in seqs]
        order = np.argsort([len(s) for s in kept], kind="stable")  # similar lengths batch up
        probs = np.zeros(len(kept) if self.binary else (len(kept), len(self.classes)), np.float32)
        for start in range(0, len(kept), BATCH):
            rows = order[start : start + BATCH]
            width = text["max_len"]
            if text["pad_to"] == "longest":
                width = max(len(kept[i]) for i in rows)
            ids = pad([kept[i] for i in rows], width, text["padding"])  # (batch, width)
            (out,) = self.session.run(None, {self.spec["network"]["input"]: ids})
            probs[rows] = out.reshape(probs[rows].shape)  # binary: (batch, 1) -> (batch,)
        return probs


def main(argv: list[str] | None = None) -> int:
    """`python -m gru_sentiment.portable BUNDLE`: score stdin's lines, one JSON line out per
    line, with the fields of `PortableModel.predict`."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m gru_sentiment.portable BUNDLE < texts.txt", file=sys.stderr)
        return 2
    try:
        model = PortableModel.load(args[0])
    except RunError as err:
        print(f"gru_sentiment.portable: error: {err}", file=sys.stderr)
        return 2
    lines = [line.rstrip("\n") for line in sys.stdin]
    for start in range(0, len(lines), BATCH):
        for result in model.predict(lines[start : start + BATCH]):
            print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
