"""The report's error analysis: the most confident mistakes (per true and predicted class
for more than two), error rates by length relative to max_len and by star rating, and
the tutorial's example predictions."""

from __future__ import annotations

import numpy as np

from ..data.splits import Splits
from ..evaluation import metrics
from ..evaluation.predictions import SplitPredictions
from ..io import runs
from ..io.files import read_json
from . import multiclass, plots
from .figures import Figures
from .run_files import Run

N_ERRORS = 5  # most confident false positives / negatives shown
TEXT_CHARS = 1200  # characters of a review shown before it is cut


def length_buckets(max_len: int) -> np.ndarray:
    """Right edges of the length buckets: half the kept length, the kept length, then
    twice and four times it (reviews past max_len lose their tail, or head)."""
    return np.array([max_len // 2, max_len, 2 * max_len, 4 * max_len])


def error_rate_by(groups: np.ndarray, wrong: np.ndarray, names: dict) -> list[dict]:
    """Reviews, errors and error rate per group value present in `groups`, in `names` order."""
    rows = []
    for value, name in names.items():
        members = groups == value
        if members.any():
            errors = int(wrong[members].sum())
            count = int(members.sum())
            rows.append({"group": name, "reviews": count, "errors": errors, "rate": errors / count})
    return rows


def by_length(test: SplitPredictions, wrong: np.ndarray, max_len: int) -> list[dict]:
    edges = length_buckets(max_len)
    lower = np.concatenate([[0], edges[:-1]]) + 1
    names = {i: f"{lo}-{hi}" for i, (lo, hi) in enumerate(zip(lower, edges, strict=True))}
    names[len(edges)] = f">{edges[-1]}"
    return error_rate_by(np.digitize(test.tokens, edges, right=True), wrong, names)


def by_rating(test: SplitPredictions, wrong: np.ndarray) -> list[dict]:
    """Error rate per star rating (IMDB: 1-4 negative, 7-10 positive; 0 = unknown)."""
    return error_rate_by(test.ratings, wrong, {stars: stars for stars in range(1, 11)})


def error_section(
    run: Run, splits: Splits | None, texts_message: str | None, figure: Figures
) -> dict:
    test = run.predictions["test"]
    threshold = run.threshold  # more than two classes: the most probable class
    guess = metrics.predicted(test.probs, threshold)
    wrong = guess != test.labels
    length_rows = by_length(test, wrong, run.cfg.text.max_len)
    rating_rows = by_rating(test, wrong)
    texts = dict(zip(splits.test.ids, splits.test.texts, strict=True)) if splits else {}
    examples_path = run.folder / runs.EXAMPLES
    examples = read_json(examples_path) if examples_path.exists() else []
    section = {
        "threshold": threshold,
        "n_errors": int(wrong.sum()),
        "n_test": len(test.labels),
        "texts_message": texts_message,
        "length_rows": length_rows,
        "length_img": figure(
            plots.error_rates, length_rows, "Error rate by review length", "tokens"
        ),
        "rating_rows": rating_rows,
        "rating_img": figure(plots.error_rates, rating_rows, "Error rate by star rating", "stars")
        if rating_rows
        else None,
        "examples": [{**e, "text": _shorten(e["text"])} for e in examples],
    }
    if run.multi:
        return section | {"pairs": _error_pairs(run, texts), "n_pairs": multiclass.N_PAIRS}
    # Most confident mistakes: false positives with the highest probability, false
    # negatives with the lowest.
    fp = np.flatnonzero(wrong & (test.labels == 0))
    fn = np.flatnonzero(wrong & (test.labels == 1))
    fp = fp[np.argsort(-test.probs[fp])][:N_ERRORS]
    fn = fn[np.argsort(test.probs[fn])][:N_ERRORS]
    return section | {
        "false_positives": [_review(test, i, texts, run.classes) for i in fp],
        "false_negatives": [_review(test, i, texts, run.classes) for i in fn],
    }


def _error_pairs(run: Run, texts: dict[str, str]) -> list[dict]:
    """The (true, predicted) pairs with the most test errors, each with its most
    confident errors (their texts when the data is here)."""
    test = run.predictions["test"]
    return [
        {
            "true": run.classes[pair.true],
            "predicted": run.classes[pair.predicted],
            "errors": pair.errors,
            "reviews": [_review(test, i, texts, run.classes) for i in pair.shown],
        }
        for pair in multiclass.error_pairs(test.labels, test.probs)
    ]


def _review(test: SplitPredictions, i: int, texts: dict[str, str], classes: tuple) -> dict:
    """One test review for display; `probability` is P(second class) for two classes,
    P(predicted class) for more, with P(true class) beside it."""
    text = texts.get(test.ids[i])
    probs = test.probs[i]
    label = int(test.labels[i])
    shown = {
        "id": test.ids[i],
        "true": classes[label],
        "probability": float(probs) if probs.ndim == 0 else float(probs.max()),
        "rating": int(test.ratings[i]),
        "tokens": int(test.tokens[i]),
        "text": _shorten(text) if text is not None else None,
    }
    if probs.ndim:
        shown.update(predicted=classes[int(probs.argmax())], p_true=float(probs[label]))
    return shown


def _shorten(text: str) -> str:
    """Review text for display: IMDB's `<br />` tags as line breaks, long reviews cut."""
    text = text.replace("<br /><br />", "\n").replace("<br />", "\n")
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS].rstrip() + " […]"
