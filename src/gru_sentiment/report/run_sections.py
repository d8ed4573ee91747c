"""The report's sections on what the run is: its data, configuration and model, training
and the language model it started from. Each returns the values its part of the
template shows."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..config import Config, preset
from ..data.splits import Splits
from ..io import runs
from ..io.files import read_json
from . import plots
from .figures import Figures
from .run_files import Run


def data_section(run: Run, splits: Splits | None, figure: Figures) -> dict:
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
    max_len = run.cfg.text.max_len if run.neural else None  # a linear baseline reads every token
    dropped = (
        np.maximum(test.tokens - run.cfg.text.max_len, 0).sum() / test.tokens.sum()
    )  # networks
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
        "kept": kept[run.cfg.text.keep],
    }


def configuration_section(run: Run) -> dict:
    tutorial = preset("tutorial").paths()
    config_rows = [
        {"field": k, "value": v, "changed": k in tutorial and tutorial[k] != v}
        for k, v in run.cfg.paths().items()
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


def training_section(run: Run, figure: Figures) -> dict | None:
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
        "max_epochs": run.cfg.fit.epochs,
        "best_epoch": best,
        "restored": best is not None and best < len(rows),
        "seconds_per_epoch": run.metrics.get("seconds_per_epoch"),
        "train_seconds": run.metrics.get("train_seconds"),
        "patience": run.cfg.fit.patience,
    }


def language_model_section(run: Run, figure: Figures) -> dict | None:
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
