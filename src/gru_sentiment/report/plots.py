"""Every figure the tool draws (run folder, report, experiments, EDA), one PNG per function.

Matplotlib runs headless (Agg); figures are closed after saving so long runs do not leak.
Every function takes plain arrays, so a linear baseline's predictions draw like the GRU's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn import metrics as skm  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402

from ..data.corpus import CLASS_NAMES  # noqa: E402

# One run's test labels and probabilities, keyed by the run's name in legends.
Curves = dict[str, tuple[np.ndarray, np.ndarray]]


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def class_balance(counts: dict[str, Sequence[int]], path: Path) -> Path:
    """Grouped bars: reviews per class for each split, `counts[split] = (neg, pos)`."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.8 / len(counts)
    for i, (split, values) in enumerate(counts.items()):
        xs = np.arange(len(CLASS_NAMES)) + i * width
        ax.bar(xs, values, width, label=split)
    ax.set_xticks(np.arange(len(CLASS_NAMES)) + width * (len(counts) - 1) / 2, CLASS_NAMES)
    ax.set_ylabel("reviews")
    ax.set_title("Class balance")
    ax.legend()
    return _save(fig, path)


def length_histogram(lengths: np.ndarray, max_len: int, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(lengths, bins=60, color="#E17055", edgecolor="black", alpha=0.8)
    ax.axvline(max_len, color="blue", linestyle="--", label=f"max_len={max_len}")
    ax.set_title("Review length (tokens)")
    ax.set_xlabel("tokens")
    ax.set_ylabel("reviews")
    ax.legend()
    return _save(fig, path)


def rating_bars(ratings_by_label: dict[str, dict[int, int]], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for label, counts in ratings_by_label.items():
        stars = sorted(counts)
        ax.bar(stars, [counts[s] for s in stars], label=label)
    ax.set_xticks(range(1, 11))
    ax.set_xlabel("star rating")
    ax.set_ylabel("reviews")
    ax.set_title("Star ratings per label")
    ax.legend()
    return _save(fig, path)


def learning_curves(history: dict[str, list[float]], path: Path) -> Path:
    """Loss and accuracy per epoch, train against validation."""
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        ax.plot(epochs, history[metric], marker="o", label=f"train {metric}")
        ax.plot(epochs, history[f"val_{metric}"], marker="o", label=f"validation {metric}")
        ax.set_xlabel("epoch")
        ax.set_title(f"{metric} per epoch")
        ax.legend()
    return _save(fig, path)


def lm_perplexity(rows: Sequence[dict], path: Path) -> Path:
    """Held-out perplexity of the forward and backward language models against the tokens
    read so far (log scale: it falls fast, then slowly)."""
    tokens = [row["tokens"] / 1e6 for row in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for direction in ("forward", "backward"):
        ax.plot(tokens, [row[direction] for row in rows], marker="o", label=direction)
    ax.set_yscale("log")
    ax.set_xlabel("tokens read (millions)")
    ax.set_ylabel("held-out perplexity")
    ax.set_title("Language model")
    ax.legend()
    return _save(fig, path)


def confusion(matrix: np.ndarray, path: Path) -> Path:
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(5, 4))
    sns.heatmap(
        matrix,
        annot=True,
        fmt="d",
        cmap="Blues",
        cbar=False,
        ax=ax,
        xticklabels=CLASS_NAMES,
        yticklabels=CLASS_NAMES,
    )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (test)")
    return _save(fig, path)


def roc(fpr: np.ndarray, tpr: np.ndarray, auc: float, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot(fpr, tpr, label=f"ROC (AUC={auc:.4f})")
    ax.plot([0, 1], [0, 1], linestyle="--", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC curve (test)")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def roc_and_pr(curves: Curves, path: Path) -> Path:
    """ROC (left) and precision-recall (right) curves of every run, on test."""
    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(12, 5))
    for name, (labels, probs) in curves.items():
        fpr, tpr, _ = skm.roc_curve(labels, probs)
        roc_ax.plot(fpr, tpr, label=f"{name} (AUC={skm.roc_auc_score(labels, probs):.4f})")
        precision, recall, _ = skm.precision_recall_curve(labels, probs)
        ap = skm.average_precision_score(labels, probs)
        pr_ax.plot(recall, precision, label=f"{name} (AP={ap:.4f})")
    roc_ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test)")
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (test)")
    pr_ax.set_ylim(0, 1.02)
    for ax in (roc_ax, pr_ax):
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right" if ax is roc_ax else "lower left")
    return _save(fig, path)


def threshold_curves(sweeps: dict[str, dict[str, np.ndarray]], chosen: float, path: Path) -> Path:
    """Accuracy, precision, recall and F1 against the threshold, one panel per split;
    the dashed line is the threshold chosen on validation."""
    fig, axes = plt.subplots(1, len(sweeps), figsize=(6 * len(sweeps), 4.5), squeeze=False)
    for ax, (split, sweep) in zip(axes[0], sweeps.items(), strict=True):
        for metric in ("accuracy", "precision", "recall", "f1"):
            ax.plot(sweep["threshold"], sweep[metric], label=metric)
        ax.axvline(chosen, color="black", linestyle="--", label=f"chosen: {chosen:.2f}")
        ax.set(xlabel="threshold", ylim=(0, 1.02), title=f"{split}")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower center")
    return _save(fig, path)


def reliability(curves: Curves, path: Path, bins: int = 10) -> Path:
    """Reliability diagram (observed share of positives per probability bin) above a
    histogram of the probabilities; a calibrated model follows the diagonal."""
    fig, (ax, hist_ax) = plt.subplots(
        2, 1, figsize=(6, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for name, (labels, probs) in curves.items():
        observed, predicted = calibration_curve(labels, probs, n_bins=bins, strategy="uniform")
        ax.plot(predicted, observed, marker="o", label=name)
        hist_ax.hist(probs, bins=bins, range=(0, 1), histtype="step", linewidth=1.5, label=name)
    ax.set(ylabel="share of positives", title="Reliability diagram (test)")
    ax.grid(alpha=0.3)
    ax.legend()
    hist_ax.set(xlabel="predicted probability of positive", ylabel="reviews")
    return _save(fig, path)


def error_rates(rows: Sequence[dict], title: str, xlabel: str, path: Path) -> Path:
    """Bars of the error rate per group (`rows`: group, reviews, rate), reviews on top."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    xs = np.arange(len(rows))
    bars = ax.bar(xs, [r["rate"] for r in rows], color="#E17055")
    ax.bar_label(bars, labels=[f"n={r['reviews']}" for r in rows], fontsize=8)
    ax.set_xticks(xs, [str(r["group"]) for r in rows])
    ax.set(xlabel=xlabel, ylabel="error rate", title=title)
    ax.set_ylim(0, max([r["rate"] for r in rows] + [0.1]) * 1.2)
    return _save(fig, path)


def experiment_bars(rows: Sequence[dict], metrics: dict[str, str], title: str, path: Path) -> Path:
    """One panel per metric (`metrics`: key -> axis label), a bar per variant with its
    standard deviation over seeds as the error bar."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), squeeze=False)
    xs = np.arange(len(rows))
    for ax, (key, label) in zip(axes[0], metrics.items(), strict=True):
        means = [r[key]["mean"] for r in rows]
        ax.bar(xs, means, yerr=[r[key]["std"] for r in rows], capsize=4, color="#74B9FF")
        ax.set_xticks(xs, [r["variant"] for r in rows], rotation=20, ha="right")
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
        if key == "accuracy":
            # Accuracies differ by points, not tens of points: zoom in.
            low = min(m - r[key]["std"] for m, r in zip(means, rows, strict=True))
            ax.set_ylim(max(0.0, low - 0.05), 1.0)
    fig.suptitle(title)
    return _save(fig, path)
