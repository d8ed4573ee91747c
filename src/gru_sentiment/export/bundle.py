"""`gru-sentiment export`: a trained run as a bundle that scores text without this tool.

A bundle is a folder: the network (`network.onnx`, or a TensorFlow SavedModel in
`savedmodel/`), the run's `tokenizer.json` (Hugging Face tokenizers: Python, Rust, Node),
the n-gram branch's weights as raw little-endian float32, the stack, `SPEC.md` (how to
score with all of it in another language, the n-gram hashing step by step), and
`bundle.json`, which names them all with the decision threshold, the class names, the
length and truncation the network was trained with, and the sha256 of every file.
Weights only: no optimizer state, no Python objects.

Two classes: the network gives (batch, 1) P(positive), the n-gram weights are one vector,
the stack is {w_recurrent, w_linear, bias}, and the label is decided at `threshold`, all as
in bundles written before multi-class runs (version 1). Three or more (version 2): the
network gives (batch, k) softmax probabilities, the n-gram weights are an (n_features, k)
matrix with k biases, the stack is {coef (k, 2k), intercept (k,)}, `threshold` is null
and the label is the most probable class.

The folder is written under a temporary name and renamed into place when complete, after
the ONNX bundle was read back by `gru_sentiment.portable` and gave the run's own
probabilities on its example reviews.
"""

from __future__ import annotations

import shutil
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

from .. import __version__
from ..data.text import PAD_ID, START_ID
from ..errors import RunError, require
from ..inference.model import SentimentModel
from ..io import runs
from ..io.destinations import BUNDLE_MARKER
from ..io.files import sha256, write_json
from ..portable import BUNDLE, FORMAT, MULTICLASS_VERSION, VERSION, PortableModel
from .to_onnx import INPUT, OUTPUT  # the same names in both formats

FORMATS = ("onnx", "savedmodel")
NETWORK = {"onnx": "network.onnx", "savedmodel": "savedmodel"}
NGRAM_WEIGHTS = "ngram_weights.f32"
SPEC = "SPEC.md"  # how to score with the bundle, in any language
TOLERANCE = 1e-5  # largest |P(bundle) - P(run)| accepted on the run's example reviews


def export_run(run_dir: Path, fmt: str, out: Path, force: bool = False) -> dict:
    """Write the bundle of the complete run `run_dir` to `out`; returns bundle.json's
    content plus `max_difference` (ONNX: measured on the run's example reviews)."""
    if fmt not in FORMATS:
        raise RunError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "onnx":
        require("export --format onnx", "export", "onnx", "onnxruntime", error=RunError)
    out = Path(out)
    _check_out(out, force)
    model = SentimentModel.load(run_dir)  # refuses incomplete or tampered runs
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (work / BUNDLE_MARKER).write_text("written by gru-sentiment export\n")
        spec = _write(model, fmt, work)
        difference = _check(model, work) if fmt == "onnx" else None
        if out.exists():
            shutil.rmtree(out)  # a bundle, replaced with --force (checked above)
        work.rename(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {**spec, "max_difference": difference}


def _check_out(out: Path, force: bool) -> None:
    runs.check_destination(out)
    if not out.exists():
        return
    if not (out / BUNDLE_MARKER).is_file():  # a bundle.json alone could be the user's
        raise RunError(f"{out} exists and is not a bundle `export` made; choose a new folder")
    if not force:
        raise RunError(f"{out} already holds a bundle; pass --force to replace it")


def _write(model: SentimentModel, fmt: str, folder: Path) -> dict:
    cfg = model.cfg
    network = NETWORK[fmt]
    if fmt == "onnx":
        from .to_onnx import OPSET, to_onnx

        (folder / network).write_bytes(to_onnx(model.model).SerializeToString())
        network_spec = {"file": network, "format": "onnx", "opset": OPSET}
    else:
        _savedmodel(model.model, folder / network)
        network_spec = {"file": network, "format": "savedmodel", "signature": "serving_default"}
    network_spec.update(input=INPUT, output=OUTPUT)
    shutil.copyfile(model.run_dir / runs.TOKENIZER, folder / runs.TOKENIZER)
    binary = len(model.classes) == 2
    spec = {
        "format": FORMAT,
        # binary bundles stay version 1, readable by every scorer; an older scorer refuses
        # a multi-class one by its version instead of misreading it
        "version": VERSION if binary else MULTICLASS_VERSION,
        "created_by": f"gru-sentiment {__version__}",
        "run": model.name,
        "preset": cfg.preset,
        "classes": list(model.classes),  # in the order of the network's outputs
        "threshold": model.threshold,  # None (null) for 3+ classes: the argmax decides
        "network": network_spec,
        "text": {
            "tokenizer": runs.TOKENIZER,
            "start_id": START_ID,
            "pad_id": PAD_ID,
            "max_len": cfg.text.max_len,
            "keep": cfg.text.keep,  # head | tail | head+tail of a longer review
            "padding": cfg.text.padding,  # post | pre
            # masked networks give the same answer at any padded width; others need max_len
            "pad_to": "longest" if model.masked else "max_len",
        },
        "ngrams": None,
        "stack": None,
    }
    if model.ngram is not None:
        spec["ngrams"], spec["stack"] = _ngram_branch(*model.ngram, binary, folder)
    (folder / SPEC).write_text(resources.files(__package__).joinpath("spec.md").read_text())
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    spec["files"] = {p.relative_to(folder).as_posix(): sha256(p) for p in files}
    write_json(folder / BUNDLE, spec)
    return spec


def _ngram_branch(linear, stack, binary: bool, folder: Path) -> tuple[dict, dict]:
    """Write the n-gram weights, (n_features,) or (n_features, k) float32 in row-major
    order, to `folder`; returns the bundle's `ngrams` and `stack` entries."""
    weights = np.ascontiguousarray(linear.weights, "<f4")  # (n_features,) or (n_features, k)
    weights.tofile(folder / NGRAM_WEIGHTS)  # row-major: the k scores of a column together
    ngrams = {
        "weights": NGRAM_WEIGHTS,
        "dtype": "float32 little-endian",
        "shape": list(weights.shape),
        "features": linear.n_features,
        "ngram_max": linear.ngram_max,
        # a float (binary) or k floats
        "bias": float(linear.bias) if binary else np.asarray(linear.bias, float).tolist(),
    }
    if binary:  # the form binary bundles have always had
        ((w_recurrent, w_linear),), (bias,) = stack.coef, stack.intercept
        return ngrams, {"w_recurrent": w_recurrent, "w_linear": w_linear, "bias": bias}
    coef = np.asarray(stack.coef, float)  # (k, 2k)
    return ngrams, {"coef": coef.tolist(), "intercept": np.asarray(stack.intercept, float).tolist()}


def _savedmodel(network, folder: Path) -> None:
    """A TF SavedModel whose `serving_default` signature maps `ids` (batch, time) int32 to
    `probability`: (batch, 1) P(positive) for two classes, (batch, k) P(each class) for
    more."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(network)
    archive.add_endpoint(
        name="serving_default",
        fn=lambda ids: {OUTPUT: network(ids, training=False)},
        input_signature=[tf.TensorSpec((None, None), tf.int32, name=INPUT)],
    )
    archive.write_out(str(folder), verbose=False)


def _check(model: SentimentModel, folder: Path) -> float:
    """Largest |P(bundle) - P(run)| over the run's example reviews, each also repeated to
    run past max_len (every class's probability when there are more than two); RunError
    above TOLERANCE (the bundle is then not written)."""
    texts = [example["text"] for example in model.examples()]
    texts += [" ".join([text] * 4) for text in texts[:4]]  # long: truncation is exercised
    expected, _ = model.score(texts, model.cfg.text.keep)
    got = PortableModel.load(folder).probabilities(texts)
    difference = float(np.max(np.abs(got - expected))) if texts else 0.0
    if difference > TOLERANCE:
        raise RunError(
            f"the exported bundle disagrees with the run by {difference:.2g} "
            f"(more than {TOLERANCE:g}); nothing was written"
        )
    return difference
