"""A trained run scored on a labeled file of the user's: `evaluate RUN --data FILE`.

Writes, to a folder of its own (never into a run folder): `metrics.json` (accuracy, F1,
ROC-AUC, the expected calibration error over equal-mass bins, the reliability bins,
accuracy by length, the most confident errors), `reliability.png` and `report.html`.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..data.labeled import Labeled
from ..errors import RunError
from ..evaluation import calibration, metrics
from ..evaluation.decision import predicted
from ..inference.run_model import RunModel
from ..io import runs
from ..io.destinations import EVALUATION_MARKER
from ..io.files import write_json, write_text
from . import plots

METRICS, FIGURE, PAGE = "metrics.json", "reliability.png", "report.html"
CHUNK = 2048  # texts scored at a time (memory bounded, progress shown)
ERRORS_SHOWN = 10
TEXT_CHARS = 600


def check_evaluation_folder(out: Path) -> None:
    """RunError, before anything is scored or written, for a folder `evaluate` must not
    write: inside a run folder, a file, or a non-empty folder it did not make."""
    out = Path(out)
    for folder in (out, *out.resolve().parents):
        if runs.is_run_folder(folder):
            raise RunError(f"{out} is inside the run folder {folder}; choose a folder outside it")
    if out.exists() and (out.is_symlink() or not out.is_dir()):
        raise RunError(f"{out} is a file or a symlink, not a folder for an evaluation")
    if out.is_dir() and any(out.iterdir()) and not (out / EVALUATION_MARKER).exists():
        raise RunError(f"{out} holds files that `evaluate` did not write; choose a new folder")


def evaluate_file(
    model: RunModel, labeled: Labeled, source: Path, out: Path, log: Callable = print
) -> dict:
    """Score every row of `labeled` with `model`; write and return the metrics."""
    check_evaluation_folder(out)
    started = time.perf_counter()
    probs, lengths = _score(model, labeled.texts, log)
    seconds = time.perf_counter() - started
    threshold = model.threshold if model.threshold is not None else 0.5
    labels, tokens = labeled.labels, np.asarray(lengths)
    found = metrics.test_metrics(labels, probs, threshold, model.classes)
    found.update(
        run=model.name,
        data=source.name,
        skipped=dict(labeled.skipped),
        label_mapping=labeled.mapping,
        ece=calibration.ece(labels, probs),
        reliability=calibration.reliability(labels, probs),
        by_length=calibration.by_length(labels, probs, tokens, threshold),
        confident_errors=_errors(labeled, probs, tokens, threshold, model.classes),
        texts_per_second=round(len(labels) / max(seconds, 1e-9), 1),
    )
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / EVALUATION_MARKER, "written by gru-sentiment evaluate\n")
    write_json(out / METRICS, found)
    plots.reliability_bins(found["reliability"], len(model.classes) == 2, out / FIGURE)
    write_text(out / PAGE, _page(found, out / FIGURE))
    return found


def _score(model: RunModel, texts: list[str], log: Callable) -> tuple[np.ndarray, list[int]]:
    """Probabilities and token counts of every text, CHUNK at a time, with progress."""
    parts, lengths = [], []
    for start in range(0, len(texts), CHUNK):
        probs, found = model.score(texts[start : start + CHUNK], model.cfg.text.keep)
        parts.append(probs)
        lengths += found
        if len(texts) > CHUNK:
            log(f"scored {min(start + CHUNK, len(texts)):,} of {len(texts):,} texts")
    return np.concatenate(parts), lengths


def _errors(
    labeled: Labeled, probs: np.ndarray, tokens: np.ndarray, threshold: float, classes: tuple
) -> list[dict]:
    """The errors the model was surest of: text (cut), true and predicted class."""
    guess = predicted(probs, threshold)
    rows = []
    for i, sureness in calibration.confident_errors(labeled.labels, probs, threshold, ERRORS_SHOWN):
        text = labeled.texts[i]
        rows.append(
            {
                "text": text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS] + "…",
                "true": classes[labeled.labels[i]],
                "predicted": classes[guess[i]],
                "probability_of_predicted": round(sureness, 4),
                "tokens": int(tokens[i]),
            }
        )
    return rows


def _page(found: dict, figure: Path) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("gru_sentiment.report", "templates"),
        autoescape=True,  # texts, labels and file names come from the user's file
        undefined=StrictUndefined,
    )
    image = "data:image/png;base64," + base64.b64encode(figure.read_bytes()).decode("ascii")
    headline = {k: found[k] for k in metrics.headline(found) if k in found}
    return env.get_template("evaluation.html.j2").render(
        found=found, headline=headline, image=image
    )
