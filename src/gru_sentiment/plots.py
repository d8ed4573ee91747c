"""Every figure the tool draws, each a small function writing one PNG.

Matplotlib runs headless (Agg); figures are closed after saving so long runs do not leak.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .data import CLASS_NAMES  # noqa: E402


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
