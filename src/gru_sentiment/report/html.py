"""One self-contained HTML report of a run folder: data, model, training, test metrics,
threshold, calibration and error analysis, figures inlined as base64 PNGs.

Two classes: metrics at a threshold, the threshold chosen on validation, the most
confident false positives / negatives. More classes (multiclass.py): per-class metrics,
a k x k confusion matrix, one-vs-rest curves, the calibration of the predicted class and
the most confident errors per (true, predicted) pair; MAE when the classes are numbers.

It reads only the run folder (plus the reviews' texts for the error analysis, reloaded
from the data the run recorded). A linear-baseline folder (no model, no history) gets
the same report without the sections it cannot have.
"""

from __future__ import annotations

import base64
import csv
import datetime
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import brier_score_loss

from ..config import Config, preset
from ..data.corpus import CLASS_NAMES, class_values
from ..data.splits import DataSpec, Splits, load_splits
from ..errors import DataError, RunError
from ..evaluation import metrics
from ..evaluation.predictions import SplitPredictions, read_predictions
from ..evaluation.thresholds import sweep
from ..io import runs
from ..io.files import read_json, sha256, write_json, write_text
from . import multiclass, plots

REPORT = "report.html"
N_ERRORS = 5  # most confident false positives / negatives shown
TEXT_CHARS = 1200  # characters of a review shown before it is cut
# How each metrics.json key reads in the report's tables.
METRIC_NAMES = {
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "roc_auc": "ROC-AUC",
    "balanced_accuracy": "balanced accuracy",
    "macro_f1": "macro F1",
    "weighted_f1": "weighted F1",
    "mae": "mean absolute error (classes as numbers)",
    "within_one": "within one of the true class",
}


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


def write_report(
    run_dir: Path,
    baseline: Path | None = None,
    out: Path | None = None,
    splits: Splits | None = None,
) -> Path:
    """Write the HTML report of `run_dir` (default `run_dir/report.html`) and return its path.

    `baseline`: another run folder shown beside this one. `splits`: the run's Splits
    when already in memory (train passes them); otherwise the texts are reloaded from the
    data recorded in config.json. When `out` lies in a complete run folder, its manifest
    entry is updated; no other file of a run folder is ever overwritten.
    """
    run_dir = Path(run_dir)
    run = _load_run(run_dir)
    base = _load_run(Path(baseline)) if baseline else None
    out = Path(out) if out else run_dir / REPORT
    _check_output(out)
    texts_message = None
    if splits is None:
        splits, texts_message = _load_splits(run)
    with tempfile.TemporaryDirectory() as tmp:
        figure = _Figures(Path(tmp))
        context = {
            "title": run_dir.resolve().name,
            "summary": _summary(run, base),
            "run_path": str(run_dir),
            "baseline_name": base.name if base else None,
            "generated": datetime.datetime.now().isoformat(timespec="seconds"),
            "neural": run.neural,
            "multi": run.multi,
            "classes": run.classes,
            "data": _data_section(run, splits, figure),
            "configuration": _configuration_section(run),
            "training": _training_section(run, figure),
            "language_model": _language_model_section(run, figure),
            "test": _test_section(run, base, figure),
            "threshold": None if run.multi else _threshold_section(run, figure),
            "calibration": _calibration_section(run, base, figure),
            "errors": _error_section(run, splits, texts_message, figure),
        }
        html = _render(context)
    write_text(out, html)
    _update_manifest(out)
    return out


def _check_output(out: Path) -> None:
    """Refuse to write the report over a file of a run folder (model, manifest, ...)."""
    folder = out.resolve().parent
    if out.name != REPORT and (runs.is_run_folder(folder) or out.name == runs.MANIFEST):
        raise RunError(f"refusing to write the report over {out}: a run folder's own file")
    if out.is_dir():
        raise RunError(f"{out} is a folder; give the report's file name (e.g. report.html)")


def _summary(run: _Run, base: _Run | None) -> dict:
    """The report's first screen: headline metrics (beside the baseline's), the verdict,
    and what the model is."""
    cfg = run.cfg
    if run.neural:
        cell = cfg.cell.upper()
        model = f"{cfg.arch} {cell} network ({cfg.units} units per direction"
        model += f", vocabulary {cfg.vocab_size:,}, {cfg.max_len} tokens, keeps the {cfg.keep})"
        if cfg.ngram_branch:
            model += ", stacked with an n-gram logistic regression"
    else:
        model = run.record.get("model", "linear baseline")
    rows = [
        {
            "metric": key,
            "run": run.metrics.get(key),
            "baseline": base.metrics.get(key) if base else None,
        }
        for key in metrics.headline(run.metrics)
    ]
    return {
        "model": model,
        "preset": run.record["config"].get("preset"),
        "n_test": run.metrics.get("n_test"),
        "rows": rows,
        "accuracy": run.metrics["accuracy"],
        "decision_threshold": run.metrics.get("decision_threshold"),
        "imbalance": multiclass.imbalance(run.metrics, metrics.IMBALANCED),
    }


# ---------------------------------------------------------------------------------------
# Reading a run folder.
# ---------------------------------------------------------------------------------------


@dataclass
class _Run:
    folder: Path
    name: str
    record: dict  # config.json
    cfg: Config
    metrics: dict
    predictions: dict[str, SplitPredictions]
    neural: bool  # has a model and a training history (not a linear baseline)
    classes: tuple[str, ...]  # label i is classes[i] (config.json; older runs: binary)

    @property
    def multi(self) -> bool:
        return len(self.classes) > 2


def _load_run(run_dir: Path) -> _Run:
    """Read a run folder; a complete one must still match its manifest."""
    for name in (runs.CONFIG, runs.METRICS, runs.PREDICTIONS):
        if not (run_dir / name).is_file():
            raise RunError(f"{run_dir} is not a run folder: {name} is missing")
    if runs.is_complete(run_dir):
        present = (runs.CONFIG, runs.METRICS, runs.PREDICTIONS, runs.HISTORY, runs.EXAMPLES)
        runs.verify(run_dir, tuple(n for n in present if (run_dir / n).exists()))
    record = read_json(run_dir / runs.CONFIG)
    return _Run(
        folder=run_dir,
        name=f"{run_dir.resolve().name} ({record['config'].get('preset', '?')})",
        record=record,
        cfg=Config.from_dict(record["config"]),
        metrics=read_json(run_dir / runs.METRICS),
        predictions=read_predictions(run_dir),
        neural=(run_dir / runs.MODEL).exists() and (run_dir / runs.HISTORY).exists(),
        classes=tuple(record.get("classes", CLASS_NAMES)),
    )


def _load_splits(run: _Run) -> tuple[Splits | None, str | None]:
    """The run's splits reloaded from its recorded data, or a one-line reason why not."""
    spec = DataSpec.of_run(run.record)
    if not (spec.path and Path(spec.path).exists()):
        return None, f"the data of this run ({spec.path or run.record.get('source')}) is not here"
    try:
        return load_splits(spec, run.cfg.seed, run.cfg.val_fraction, unlabeled=False), None
    except DataError as err:
        return None, f"the data of this run could not be loaded: {err}"


class _Figures:
    """Draws a figure into a temporary PNG and returns it as a data: URI."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0

    def __call__(self, draw: Callable[..., Path], *args, **kwargs) -> str:
        self.count += 1
        path = draw(*args, self.folder / f"figure-{self.count}.png", **kwargs)
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


# ---------------------------------------------------------------------------------------
# Sections: each returns the values its part of the template shows.
# ---------------------------------------------------------------------------------------


def _data_section(run: _Run, splits: Splits | None, figure: _Figures) -> dict:
    preds = run.predictions
    k = len(run.classes)
    balance = {name: np.bincount(p.labels, minlength=k).tolist() for name, p in preds.items()}
    if splits is not None:
        balance = {"train": np.bincount(splits.train.labels, minlength=k).tolist(), **balance}
    sizes = run.record.get("sizes", {})
    rows = [
        {"split": name, "reviews": sizes.get(name, sum(balance.get(name, []))), "counts": counts}
        for name, counts in balance.items()
    ]
    lengths = np.concatenate([p.tokens for p in preds.values()])
    test = preds["test"]
    max_len = run.cfg.max_len if run.neural else None  # a linear baseline reads every token
    dropped = np.maximum(test.tokens - run.cfg.max_len, 0).sum() / test.tokens.sum()  # networks
    kept = {
        "head": "the beginning (the end is dropped)",
        "tail": "the end (the beginning is dropped)",
        "head+tail": "the beginning and the end (the middle is dropped)",
    }
    # Many classes read better as rows (one per class) than as columns.
    class_rows = [
        {"class": name, "counts": [counts[i] for counts in balance.values()]}
        for i, name in enumerate(run.classes)
    ]
    return {
        "rows": rows,
        "class_names": run.classes,
        "class_rows": class_rows,
        "split_names": list(balance),
        "source": run.record.get("source", "?"),
        "skipped": run.record.get("skipped", {}),
        "balance_img": figure(plots.class_balance, balance, classes=run.classes),
        "length_img": figure(plots.length_histogram, lengths, max_len),
        "length_median": float(np.median(lengths)),
        "length_p90": float(np.percentile(lengths, 90)),
        "max_len": max_len,
        "truncated_share": float(test.truncated.mean()),
        "dropped_share": float(dropped),
        "kept": kept[run.cfg.keep],
    }


def _configuration_section(run: _Run) -> dict:
    tutorial = preset("tutorial").to_dict()
    config_rows = [
        {"field": k, "value": v, "changed": k in tutorial and tutorial[k] != v}
        for k, v in run.record["config"].items()
    ]
    section = {
        "rows": config_rows,
        "seed": run.record.get("seed"),
        "backend": run.record.get("backend"),
        "device": run.record.get("device"),
        "versions": run.record.get("versions", {}),
        "params": run.metrics.get("params"),
        "layers": None,
        "cells": None,
    }
    if run.neural:
        section.update(layers=_layers(run.folder), cells=_cells(run.cfg))
    return section


def _layers(run_dir: Path) -> list[dict]:
    """Name, type, output shape and parameters of each layer of model.keras."""
    from ..inference.model import load_network

    model = load_network(run_dir)
    rows = []
    for layer in model.layers:
        kind = type(layer).__name__
        if hasattr(layer, "forward_layer"):
            kind += f"({type(layer.forward_layer).__name__})"
        rows.append(
            {
                "name": layer.name,
                "type": kind,
                "shape": str(tuple(layer.output.shape)),
                "params": layer.count_params(),
            }
        )
    return rows


def _cells(cfg: Config) -> list[dict]:
    from ..model.networks import params_table

    return params_table(cfg)


def _training_section(run: _Run, figure: _Figures) -> dict | None:
    if not run.neural:
        return None
    with (run.folder / runs.HISTORY).open(newline="") as f:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    history = {key: [row[key] for row in rows] for key in rows[0]}
    best = run.metrics.get("best_epoch")
    return {
        "curves_img": figure(plots.learning_curves, history),
        "rows": rows,
        "epochs_run": len(rows),
        "max_epochs": run.cfg.epochs,
        "best_epoch": best,
        "restored": best is not None and best < len(rows),
        "seconds_per_epoch": run.metrics.get("seconds_per_epoch"),
        "train_seconds": run.metrics.get("train_seconds"),
        "patience": run.cfg.patience,
    }


def _language_model_section(run: _Run, figure: _Figures) -> dict | None:
    """The LM the run started from (lm.json, written by train when it used one)."""
    path = run.folder / runs.LANGUAGE_MODEL
    if not path.is_file():
        return None
    lm = read_json(path)
    last = lm["history"][-1]
    return {
        "params": lm["params"],
        "encoder_params": run.metrics.get("encoder_params"),
        "tokens": int(last["tokens"]),
        "reviews": lm["corpus"]["reviews"],
        "tokens_per_s": int(np.mean([row["tokens_per_s"] for row in lm["history"]])),
        "forward": last["forward"],
        "backward": last["backward"],
        "curve_img": figure(plots.lm_perplexity, lm["history"]),
        "samples": lm["samples"],
    }


def _test_curves(run: _Run, base: _Run | None) -> plots.Curves:
    """Test labels and probabilities of the run, and of the baseline when its
    probabilities have the same shape (the same number of classes)."""
    test = run.predictions["test"]
    curves = {run.name: (test.labels, test.probs)}
    other = base.predictions.get("test") if base is not None else None
    if other is not None and other.probs.shape[1:] == test.probs.shape[1:]:
        curves[base.name] = (other.labels, other.probs)
    return curves


def _test_section(run: _Run, base: _Run | None, figure: _Figures) -> dict:
    decision = run.metrics.get("at_decision_threshold", {})
    # A hybrid run also records the test metrics of each of its parts alone (threshold 0.5).
    parts = multiclass.parts(run.metrics)
    keys = metrics.headline(run.metrics)
    if run.multi:
        keys += ("roc_auc",)  # one-vs-rest macro: not a headline, still worth a row
    rows = [
        {
            "metric": METRIC_NAMES.get(key, key),
            "run": run.metrics.get(key),
            "decision": decision.get(key),
            "parts": [part.get(key) for part in parts.values()],
            "baseline": base.metrics.get(key) if base else None,
        }
        for key in keys
    ]
    if run.multi:
        rows[-1]["metric"] = "ROC-AUC (one-vs-rest, macro)"
    imbalance = multiclass.imbalance(run.metrics, metrics.IMBALANCED)
    if imbalance:
        # What accuracy is worth on these classes: the score of a constant answer.
        reference = "accuracy of always predicting the most frequent class"
        majority = {"run": imbalance["majority_accuracy"], "decision": None, "baseline": None}
        rows.insert(1, {"metric": reference, **majority, "parts": [None] * len(parts)})
    verdict = None
    if base is not None:
        gap = (run.metrics["accuracy"] - base.metrics["accuracy"]) * 100
        # Only a comparison on the very same test reviews means anything.
        same = set(base.predictions["test"].ids) == set(run.predictions["test"].ids)
        verdict = {"gap": abs(gap), "beats": gap > 0, "baseline": base.name, "same_test": same}
    section = {
        "rows": rows,
        "parts": list(parts),
        "n_test": run.metrics.get("n_test"),
        "threshold": run.metrics.get("threshold", 0.5),
        "decision_threshold": run.metrics.get("decision_threshold"),
        "verdict": verdict,
        "confusion": run.metrics["confusion_matrix"],
        "class_names": run.classes,
        "per_class": None,
    }
    if run.multi:
        return section | _classes_section(run, figure)
    matrix = np.array(run.metrics["confusion_matrix"])
    return section | {
        "confusion_img": figure(plots.confusion, matrix, classes=run.classes),
        "curves_img": figure(plots.roc_and_pr, _test_curves(run, base)),
    }


def _classes_section(run: _Run, figure: _Figures) -> dict:
    """More than two classes: the per-class table, the k x k confusion matrix, one-vs-rest
    curves; star-rating-like classes add their MAE (per class too) and outline near misses."""
    values = class_values(run.classes)
    rows = multiclass.per_class_rows(run.metrics, run.classes, values)
    # The weakest class is worth naming only when the classes differ at all.
    tested = [r for r in rows if r["support"]]
    weakest = min(tested, key=lambda r: r["f1"]) if tested else None
    if weakest and weakest["f1"] == max(r["f1"] for r in tested):
        weakest = None
    test = run.predictions["test"]
    matrix = np.array(run.metrics["confusion_matrix"])
    near = multiclass.near_cells(values)
    return {
        "per_class": rows,
        "weakest": weakest,
        "ordinal": values is not None and "mae" in run.metrics,
        "mae": run.metrics.get("mae"),
        "within_one": run.metrics.get("within_one"),
        "confusion_img": figure(plots.confusion_grid, matrix, run.classes, near=near),
        "curves_img": figure(plots.one_vs_rest, test.labels, test.probs, run.classes),
    }


def _threshold_section(run: _Run, figure: _Figures) -> dict:
    chosen = run.metrics.get("decision_threshold", run.metrics.get("threshold", 0.5))
    sweeps = {
        f"{split} ({role})": sweep(run.predictions[split].labels, run.predictions[split].probs)
        for split, role in (("validation", "chooses"), ("test", "reports"))
        if split in run.predictions
    }
    at_decision = run.metrics.get("at_decision_threshold", {})
    return {
        "chosen": chosen,
        "img": figure(plots.threshold_curves, sweeps, chosen),
        "rows": [
            {"metric": key, "half": run.metrics[key], "chosen": at_decision.get(key)}
            for key in metrics.HEADLINE
            if key != "roc_auc"
        ],
    }


def _calibration_section(run: _Run, base: _Run | None, figure: _Figures) -> dict:
    curves = _test_curves(run, base)
    if run.multi:
        # A (n, k) probability has no single "P(positive)": calibrate the predicted class.
        confident = {}
        for name, (labels, probs) in curves.items():
            guess, conf = multiclass.confidence(probs)
            confident[name] = (guess == labels, conf)
        return {
            "img": figure(plots.confidence_reliability, confident),
            "rows": [multiclass.calibration_row(n, *c) for n, c in curves.items()],
            "uniform_brier": 1 - 1 / len(run.classes),
        }
    return {
        "img": figure(plots.reliability, curves),
        "brier": [
            {"run": name, "brier": float(brier_score_loss(labels, probs))}
            for name, (labels, probs) in curves.items()
        ],
    }


def _error_section(
    run: _Run, splits: Splits | None, texts_message: str | None, figure: _Figures
) -> dict:
    test = run.predictions["test"]
    threshold = run.metrics.get("decision_threshold")  # None: more than two classes
    if threshold is None:
        threshold = run.metrics.get("threshold", 0.5)
    guess = metrics.predicted(test.probs, threshold)
    wrong = guess != test.labels
    length_rows = by_length(test, wrong, run.cfg.max_len)
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


def _error_pairs(run: _Run, texts: dict[str, str]) -> list[dict]:
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


# ---------------------------------------------------------------------------------------
# Rendering.
# ---------------------------------------------------------------------------------------


def _render(context: dict) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("gru_sentiment.report", "templates"),
        autoescape=True,  # review texts are untrusted: every value is escaped
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: "—" if v is None else f"{v:.2%}"
    env.filters["num"] = lambda v, digits=4: "—" if v is None else f"{v:.{digits}f}"
    env.filters["count"] = lambda v: "—" if v is None else f"{v:,}"
    return env.get_template("report.html.j2").render(**context)


def _update_manifest(out: Path) -> None:
    """Keep a complete run folder's manifest true after (re)writing its report."""
    run_dir = out.resolve().parent
    if not runs.is_complete(run_dir):
        return
    manifest = read_json(run_dir / runs.MANIFEST)
    manifest[out.name] = sha256(out)
    write_json(run_dir / runs.MANIFEST, dict(sorted(manifest.items())))
