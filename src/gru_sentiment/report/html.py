"""One self-contained HTML report of a run folder: data, model, training, test metrics,
threshold, calibration and error analysis, figures inlined as base64 PNGs.

Two classes: metrics at a threshold, the threshold chosen on validation, the most
confident false positives / negatives. More classes (multiclass.py): per-class metrics,
a k x k confusion matrix, one-vs-rest curves, the calibration of the predicted class and
the most confident errors per (true, predicted) pair; MAE when the classes are numbers.

It reads only the run folder (plus the reviews' texts for the error analysis, reloaded
from the data the run recorded). A linear-baseline folder (no model, no history) gets
the same report without the sections it cannot have.

The sections live in run_sections.py (data, configuration, training, language model),
metric_sections.py (test metrics, threshold, calibration) and error_sections.py (error
analysis); run_files.py reads the run folder. This module puts them together and renders.
"""

from __future__ import annotations

import datetime
import tempfile
from pathlib import Path

from ..data.splits import Splits
from ..evaluation import metrics
from ..io import runs
from ..io.destinations import check_output_file
from ..io.files import read_json, sha256, write_json, write_text
from . import multiclass
from .error_sections import by_length, by_rating, error_section
from .figures import Figures
from .metric_sections import calibration_section, metrics_section, threshold_section
from .run_files import Run, load_run, load_run_splits
from .run_sections import (
    configuration_section,
    data_section,
    language_model_section,
    training_section,
)

__all__ = ["REPORT", "by_length", "by_rating", "write_report"]

REPORT = "report.html"


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
    run = load_run(run_dir)
    base = load_run(Path(baseline)) if baseline else None
    out = Path(out) if out else run_dir / REPORT
    # never a file of a tool's folder but the run's own report
    check_output_file(out, "the report", allowed=run_dir / REPORT)
    texts_message = None
    if splits is None:
        splits, texts_message = load_run_splits(run)
    with tempfile.TemporaryDirectory() as tmp:
        figure = Figures(Path(tmp))
        context = {
            "title": run_dir.resolve().name,
            "summary": _summary(run, base),
            "run_path": str(run_dir),
            "baseline_name": base.name if base else None,
            "generated": datetime.datetime.now().isoformat(timespec="seconds"),
            "neural": run.neural,
            "multi": run.multi,
            "classes": run.classes,
            "data": data_section(run, splits, figure),
            "configuration": configuration_section(run),
            "training": training_section(run, figure),
            "language_model": language_model_section(run, figure),
            "test": metrics_section(run, base, figure),
            "threshold": None if run.multi else threshold_section(run, figure),
            "calibration": calibration_section(run, base, figure),
            "errors": error_section(run, splits, texts_message, figure),
        }
        html = _render(context)
    write_text(out, html)
    _update_manifest(out)
    return out


def _summary(run: Run, base: Run | None) -> dict:
    """The report's first screen: headline metrics (beside the baseline's), the verdict,
    and what the model is."""
    cfg = run.cfg
    if run.neural:
        cell = cfg.network.cell.upper()
        text, network = cfg.text, cfg.network
        model = f"{network.arch} {cell} network ({network.units} units per direction"
        model += f", vocabulary {text.vocab_size:,}, {text.max_len} tokens, keeps the {text.keep})"
        if cfg.network.ngrams:
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
