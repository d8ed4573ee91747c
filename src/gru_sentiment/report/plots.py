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


def class_balance(
    counts: dict[str, Sequence[int]], path: Path, classes: Sequence[str] = CLASS_NAMES
) -> Path:
    """Grouped bars: reviews per class for each split, `counts[split][i]` of `classes[i]`."""
    k = len(classes)
    # Wider with more classes, up to the report's width (11 inches at 100 dpi).
    fig, ax = plt.subplots(figsize=(min(max(6, 0.5 * k + 2), 11), 3.5))
    width = 0.8 / len(counts)
    for i, (split, values) in enumerate(counts.items()):
        xs = np.arange(k) + i * width
        ax.bar(xs, values, width, label=split)
    ax.set_xticks(np.arange(k) + width * (len(counts) - 1) / 2, _tick_labels(classes))
    _rotate_if_crowded(ax, classes)
    ax.set_ylabel("reviews")
    ax.set_title("Class balance")
    ax.legend()
    return _save(fig, path)


def _tick_labels(classes: Sequence[str], chars: int = 18) -> list[str]:
    """Class names short enough for an axis (a user's class may be a sentence)."""
    return [c if len(c) <= chars else c[: chars - 1] + "…" for c in classes]


def _rotate_if_crowded(ax, classes: Sequence[str], axis: str = "x") -> None:
    # Past a handful of classes, or with long names, horizontal labels overlap (star
    # ratings, "1" to "10", never do).
    longest = max(len(c) for c in classes)
    if longest > 10 or (len(classes) > 6 and longest > 3):
        labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
        plt.setp(labels, rotation=45, ha="right", rotation_mode="anchor")


def length_histogram(lengths: np.ndarray, max_len: int | None, path: Path) -> Path:
    """Review lengths; `max_len` marked when the model reads only that many tokens."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(lengths, bins=60, color="#E17055", edgecolor="black", alpha=0.8)
    if max_len is not None:
        ax.axvline(max_len, color="blue", linestyle="--", label=f"max_len={max_len}")
        ax.legend()
    ax.set_title("Review length (tokens)")
    ax.set_xlabel("tokens")
    ax.set_ylabel("reviews")
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


def confusion(matrix: np.ndarray, path: Path, classes: Sequence[str] = CLASS_NAMES) -> Path:
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(5, 4))
    sns.heatmap(
        matrix,
        annot=True,
        fmt="d",
        cmap="Blues",
        cbar=False,
        ax=ax,
        xticklabels=classes,
        yticklabels=classes,
    )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (test)")
    return _save(fig, path)


def confusion_grid(
    matrix: np.ndarray, classes: Sequence[str], path: Path, near: np.ndarray | None = None
) -> Path:
    """k x k confusion matrix (rows: true class) as counts and as shares of each true class
    (rows sum to 1: the recall on the diagonal). Up to 8 classes side by side, more one
    above the other so that 20 classes still read at the report's width. `near`: (k, k)
    bool, cells outlined as near misses (ordinal classes: within one of the true class)."""
    k = len(classes)
    side = max(4.5, 0.5 * k + 2)
    wide = k <= 8
    fig, axes = plt.subplots(
        1 if wide else 2, 2 if wide else 1, figsize=(2 * side, side) if wide else (side, 2 * side)
    )
    totals = matrix.sum(axis=1, keepdims=True)
    # A class without test reviews has no row to normalise: NaN cells are left blank.
    shares = np.divide(matrix, totals, out=np.full(matrix.shape, np.nan), where=totals > 0)
    # Off-diagonal zeros left blank: with many classes the few confusions stand out.
    shown = (matrix > 0) | np.eye(k, dtype=bool)
    texts = (
        np.where(shown, matrix.astype(str), ""),
        np.where(shown & (totals > 0), np.char.mod("%.0f%%", np.nan_to_num(shares) * 100), ""),
    )
    panels = ((matrix, "counts"), (shares, "share of the true class"))
    for ax, (values, title), text in zip(axes, panels, texts, strict=True):
        _heatmap(ax, values, text, _tick_labels(classes))
        ax.set(xlabel="predicted", ylabel="true", title=f"Confusion matrix, {title} (test)")
        _rotate_if_crowded(ax, classes)
        if near is not None:
            for i, j in zip(*np.nonzero(near & ~np.eye(k, dtype=bool)), strict=True):
                box = plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="#E17055", lw=1.5)
                ax.add_patch(box)
    return _save(fig, path)


def _heatmap(ax, values: np.ndarray, text: np.ndarray, names: Sequence[str]) -> None:
    """Cells coloured by value, each with its text (dark cells: white text). Plain
    matplotlib: seaborn's heatmap takes seconds for 20 x 20 annotated cells."""
    k = len(names)
    top = np.nanmax(values) if np.isfinite(values).any() and np.nanmax(values) > 0 else 1
    ax.imshow(np.ma.masked_invalid(values), cmap="Blues", vmin=0, vmax=top, aspect="auto")
    size = 10 if k <= 8 else 8 if k <= 14 else 7
    for (i, j), label in np.ndenumerate(text):
        if label:
            dark = values[i, j] > top / 2
            ax.text(
                j,
                i,
                label,
                ha="center",
                va="center",
                fontsize=size,
                color="white" if dark else "black",
            )
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


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


def reliability_bins(bins: Sequence[dict], binary: bool, path: Path) -> Path:
    """Reliability diagram of equal-mass bins (`calibration.reliability`): mean forecast
    against observed rate, one point per bin; a calibrated model follows the diagonal."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    said = [b["mean_probability"] for b in bins]
    ax.plot(said, [b["observed"] for b in bins], marker="o", label="equal-size bins")
    what = "P(positive)" if binary else "confidence of the predicted class"
    seen = "share of positives" if binary else "accuracy"
    ax.set(xlabel=f"mean {what}", ylabel=seen, xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title("Reliability")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    return _save(fig, path)


def _class_colours(k: int) -> list:
    # The default cycle repeats after 10 colours; tab20 keeps 20 classes apart.
    cmap = plt.get_cmap("tab10" if k <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(k)]


def one_vs_rest(labels: np.ndarray, probs: np.ndarray, classes: Sequence[str], path: Path) -> Path:
    """ROC (left) and precision-recall (right) of each class against the others, on test:
    `probs` (n, k). A class without test reviews has no curve (its recall is undefined)."""
    k = len(classes)
    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(12, 5 if k <= 10 else 6))
    for i, (name, colour) in enumerate(zip(_tick_labels(classes), _class_colours(k), strict=True)):
        positive = labels == i
        if not positive.any() or positive.all():
            continue
        fpr, tpr, _ = skm.roc_curve(positive, probs[:, i])
        auc = skm.roc_auc_score(positive, probs[:, i])
        roc_ax.plot(fpr, tpr, color=colour, label=f"{name} (AUC={auc:.3f})")
        precision, recall, _ = skm.precision_recall_curve(positive, probs[:, i])
        ap = skm.average_precision_score(positive, probs[:, i])
        pr_ax.plot(recall, precision, color=colour, label=f"{name} (AP={ap:.3f})")
    roc_ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    roc_ax.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        title="ROC, each class against the rest (test)",
    )
    pr_ax.set(
        xlabel="recall",
        ylabel="precision",
        title="Precision-recall, each class against the rest (test)",
    )
    pr_ax.set_ylim(0, 1.02)
    legend = {"fontsize": 8 if k <= 10 else 6, "ncol": 1 if k <= 10 else 2}
    for ax in (roc_ax, pr_ax):
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right" if ax is roc_ax else "lower left", **legend)
    return _save(fig, path)


def confidence_reliability(curves: Curves, path: Path, bins: int = 10) -> Path:
    """Reliability of the predicted class: accuracy per bin of its probability (the
    model's confidence) above a histogram of the confidences. `curves[name]` = (correct
    (n,) bool, confidence (n,)); a calibrated model follows the diagonal."""
    fig, (ax, hist_ax) = plt.subplots(
        2, 1, figsize=(6, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for name, (correct, confidence) in curves.items():
        observed, predicted = calibration_curve(correct, confidence, n_bins=bins)
        ax.plot(predicted, observed, marker="o", label=name)
        hist_ax.hist(confidence, bins=bins, range=(0, 1), histtype="step", linewidth=1.5)
    ax.set(ylabel="accuracy", title="Reliability of the predicted class (test)")
    ax.grid(alpha=0.3)
    ax.legend()
    hist_ax.set(xlabel="probability of the predicted class (confidence)", ylabel="reviews")
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


def overlaid_curves(curves: dict[str, Sequence[float]], title: str, path: Path) -> Path:
    """One line per variant (`curves`: label -> validation accuracy by epoch)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return _save(fig, path)


def accuracy_against_time(
    points: dict[str, Sequence[tuple[str, float, float]]], path: Path
) -> Path:
    """Test accuracy against seconds per epoch: a colour per experiment, a labelled point
    per variant (`points`: experiment -> (variant, seconds, accuracy))."""
    fig, ax = plt.subplots(figsize=(9, 6))
    for name, found in points.items():
        _, seconds, accuracy = zip(*found, strict=True)
        ax.scatter(seconds, accuracy, label=name, s=30)
        for variant, x, y in found:
            ax.annotate(variant, (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("seconds per epoch (log scale)")
    ax.set_ylabel("test accuracy (mean over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Every variant of every experiment: accuracy against cost")
    return _save(fig, path)
