"""The report of runs with more than two classes: the tiny trained 3-class hybrid
(`multiclass_run`) and synthetic predictions (imbalanced star ratings, 20 topics)."""

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import CLASS_CUES, make_multiclass_jsonl
from test_report import Page
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.data.corpus import RATINGS, Split
from gru_sentiment.data.splits import Splits, load_corpus
from gru_sentiment.evaluation import calibration, metrics
from gru_sentiment.evaluation.predictions import read_predictions
from gru_sentiment.io import runs
from gru_sentiment.report import eda, multiclass
from gru_sentiment.report.html import write_report

runner = CliRunner()
MULTI_SECTIONS = [
    "Data",
    "Configuration and model",
    "Training",
    "Test metrics",
    "Calibration",
    "Error analysis",
]
STARS = tuple(str(r) for r in RATINGS)
MARKUP = "<script>alert('review')</script> & more"  # untrusted text: must come out escaped


def synthetic_predictions(
    counts: list[int], accuracy: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(n,) labels, `counts[i]` of class i, and (n, k) probabilities whose most probable
    class is the true one for about `accuracy` of them, else a neighbouring class."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(counts)), counts)
    k = len(counts)
    logits = rng.normal(0, 1, (len(labels), k))
    wrong = rng.random(len(labels)) > accuracy
    step = rng.choice([-1, 1], len(labels))
    target = np.where(wrong, np.clip(labels + step, 0, k - 1), labels)
    logits[np.arange(len(labels)), target] += rng.uniform(1, 5, len(labels))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return labels, probs


def write_synthetic_run(folder: Path, classes: tuple[str, ...], counts: list[int], seed: int = 0):
    """A folder shaped like a multi-class linear baseline's (config, metrics, predictions;
    no model), and the Splits its texts come from (long texts with markup in them)."""
    folder.mkdir(parents=True)
    val_labels, val_probs = synthetic_predictions(counts, 0.7, seed + 1)
    labels, probs = synthetic_predictions(counts, 0.7, seed)
    found = metrics.test_metrics(labels, probs, 0.5, classes)
    found.update(decision_threshold=None, decision="argmax", validation_accuracy=0.7)
    (folder / runs.METRICS).write_text(json.dumps(found))
    record = {
        "config": {"preset": "baseline", "seed": 42, "val_fraction": 0.2},
        "data": {"path": None},
        "source": "synthetic",
        "classes": list(classes),
        "sizes": {"train": 0, "validation": len(val_labels), "test": len(labels)},
    }
    (folder / runs.CONFIG).write_text(json.dumps(record))
    columns = ["split", "id", "label", "predicted", "probability", "rating", "tokens"]
    columns += ["truncated", *(f"p_{c}" for c in classes)]
    with (folder / runs.PREDICTIONS).open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for split, y, p in (("validation", val_labels, val_probs), ("test", labels, probs)):
            for i, (label, row) in enumerate(zip(y, p, strict=True)):
                rating = int(classes[label]) if classes == STARS else 0
                writer.writerow(
                    [split, f"{split}-{i}", label, row.argmax(), f"{row.max():.6f}", rating]
                    + [20 + 37 * i % 700, 0, *(f"{v:.6f}" for v in row)]
                )
    test = Split(
        "test",
        [f"test-{i}" for i in range(len(labels))],
        [f"Review {i}: {MARKUP} " + "words " * 300 for i in range(len(labels))],
        labels.astype(np.int16),
        np.zeros(len(labels), np.int8),
    )
    train = Split("train", [], [], np.zeros(0, np.int16), np.zeros(0, np.int8))
    splits = Splits(train, train, test, "synthetic", {}, [], classes)
    return labels, probs, found, splits


@pytest.fixture(scope="module")
def stars_report(tmp_path_factory) -> tuple[Page, str, dict, np.ndarray, np.ndarray]:
    """An imbalanced star-rating run (8 numeric classes, 1 and 10 four times as common)."""
    folder = tmp_path_factory.mktemp("stars") / "run"
    counts = [40, 10, 10, 10, 10, 10, 10, 40]
    labels, probs, found, splits = write_synthetic_run(folder, STARS, counts)
    html = write_report(folder, splits=splits).read_text()
    return Page(html), html, found, labels, probs


@pytest.fixture(scope="module")
def multiclass_report(multiclass_run) -> tuple[Page, str]:
    """The report `train` wrote at the end of the tiny 3-class hybrid's training."""
    html = (multiclass_run / "report.html").read_text()
    return Page(html), html


def test_trained_multiclass_run_reports_every_class(multiclass_run, multiclass_report):
    page, html = multiclass_report
    assert page.h2 == MULTI_SECTIONS  # no decision threshold for more than two classes
    found = json.loads((multiclass_run / runs.METRICS).read_text())
    assert page.by_id["headline-accuracy"] == f"{found['accuracy']:.2%}"
    for key in metrics.headline(found):
        assert key in page.by_id["summary-metrics"]
    table = page.by_id["per-class"]
    for name in CLASS_CUES:
        assert name in table and name in page.by_id["class-counts"]
    # The hybrid's parts alone, beside the whole: overall and per class.
    for part in ("recurrent", "ngram"):
        assert f"{part} part alone" in page.by_id["metrics"]
        assert f"F1, {part} part alone" in table
    assert "confusion-matrix" in page.by_id and "one-vs-rest" in page.by_id
    assert "error-pairs" in page.by_id
    # A balanced run gets no imbalance note.
    assert found["imbalance"] <= metrics.IMBALANCED
    assert "imbalance" not in page.by_id and "imbalanced" not in html
    assert "threshold" not in page.by_id["metrics"]


def test_multiclass_ece_and_accuracy_by_length(multiclass_run, multiclass_report):
    """More classes: the ECE of the predicted class's confidence (the same in metrics.json
    and in the report) and accuracy by fixed length bucket, of the most probable class."""
    page, html = multiclass_report
    found = json.loads((multiclass_run / runs.METRICS).read_text())
    test = read_predictions(multiclass_run)["test"]
    ece = calibration.ece(test.labels, test.probs)
    assert found["ece"] == pytest.approx(ece, abs=1e-3)
    assert f"{ece:.4f}" in page.by_id["brier"]
    assert "equal size" in page.by_id["calibration"]  # which ECE the column shows
    expected = calibration.by_length(test.labels, test.probs, test.tokens)
    assert [row["bucket"] for row in found["by_length"]] == [
        "1-10",
        "11-30",
        "31-100",
        "101-400",
        ">400",
    ]
    assert [row["n"] for row in found["by_length"]] == [row["n"] for row in expected]
    assert "mean_p_of_positive" not in found["by_length"][0]
    for row in expected:
        accuracy = "—" if row["accuracy"] is None else f"{row['accuracy']:.2%}"
        assert f"{row['bucket']}{row['n']:,}{accuracy}" in page.by_id["accuracy-by-length"]


def test_report_command_on_a_multiclass_run(multiclass_run, tmp_path):
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(multiclass_run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = Page(out.read_text())
    assert page.h2 == MULTI_SECTIONS
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
    assert len(page.images) >= 7


def test_imbalanced_star_ratings_show_mae_and_the_majority_baseline(stars_report):
    page, html, found, labels, probs = stars_report
    assert page.h2 == MULTI_SECTIONS
    assert found["imbalance"] == 4.0
    note = page.by_id["imbalance"]
    assert "imbalanced" in note
    assert f"{found['majority_accuracy']:.2%}" in note and f"{found['accuracy']:.2%}" in note
    majority = f"always predicting the most frequent class{found['majority_accuracy']:.4f}"
    assert majority in page.by_id["metrics"]  # the reference row, beside the model's accuracy
    # Star ratings are numbers: their MAE and within-one, in the summary and the test section.
    assert "mae" in page.by_id["summary-metrics"]
    assert "within_one" in page.by_id["summary-metrics"]
    assert f"{found['mae']:.3f}" in page.by_id["ordinal"]
    assert f"{found['within_one']:.2%}" in page.by_id["ordinal"]
    assert "MAE" in page.by_id["per-class"]
    for name in STARS:
        assert f"<tr><td>{name}</td>" in html  # a per-class row (and a class-count row)


def test_errors_are_listed_by_class_pair_escaped_and_shortened(stars_report):
    page, html, found, labels, probs = stars_report
    guess = probs.argmax(1)
    pairs = Counter((int(t), int(p)) for t, p in zip(labels, guess, strict=True) if t != p)
    section = page.by_id["error-pairs"]
    (true, predicted), errors = pairs.most_common(1)[0]
    assert f"true {STARS[true]}, predicted {STARS[predicted]}: {errors} errors" in section
    shown = [line for line in section.splitlines() if line.startswith("true ")]
    assert len(shown) == min(len(pairs), multiclass.N_PAIRS)
    # The surest mistake of the top pair is shown first, with P(predicted) and P(true).
    members = [i for i in range(len(labels)) if (labels[i], guess[i]) == (true, predicted)]
    surest = max(members, key=lambda i: probs[i].max())
    assert f"test-{surest}:" in section
    assert f"P({STARS[true]}) = {probs[surest, true]:.3f}" in section
    # Review texts are untrusted: escaped, never markup; long ones are cut.
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "[…]" in section


def test_imbalanced_binary_run_gets_the_note_and_keeps_its_threshold(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1], [30, 90])
    probs = np.clip(0.3 + 0.4 * labels + rng.normal(0, 0.2, len(labels)), 0, 1)
    found = metrics.test_metrics(labels, probs)
    found.update(decision_threshold=0.5, at_decision_threshold=found.copy())
    (folder / runs.METRICS).write_text(json.dumps(found))
    config = {"preset": "baseline", "seed": 42, "val_fraction": 0.2}
    (folder / runs.CONFIG).write_text(json.dumps({"config": config, "data": {}}))
    with (folder / runs.PREDICTIONS).open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["split", "id", "label", "probability", "rating", "tokens", "truncated"])
        for split in ("validation", "test"):
            for i, (label, prob) in enumerate(zip(labels, probs, strict=True)):
                writer.writerow([split, f"{split}-{i}", label, f"{prob:.6f}", 0, 50 + i, 0])
    page = Page(write_report(folder).read_text())
    assert "Decision threshold" in page.h2
    assert f"{found['majority_accuracy']:.2%}" in page.by_id["imbalance"]
    assert "precision" in page.by_id["summary-metrics"]


def test_twenty_classes_render(tmp_path):
    classes = tuple(f"topic number {i}" for i in range(20))
    labels, probs, found, splits = write_synthetic_run(tmp_path / "run", classes, [12] * 20)
    page = Page(write_report(tmp_path / "run", splits=splits).read_text())
    assert page.h2 == MULTI_SECTIONS
    assert all(name in page.by_id["per-class"] for name in classes)
    assert "mae" not in page.by_id["summary-metrics"]  # topics are not numbers
    assert "ordinal" not in page.by_id and "imbalance" not in page.by_id


def test_error_pairs_most_errors_first_surest_first():
    labels = np.array([0, 0, 0, 1, 1, 2])
    probs = np.array(
        [
            [0.2, 0.7, 0.1],  # 0 -> 1, sure
            [0.3, 0.6, 0.1],  # 0 -> 1
            [0.3, 0.2, 0.5],  # 0 -> 2
            [0.1, 0.8, 0.1],  # right
            [0.9, 0.05, 0.05],  # 1 -> 0, surest of all, but its pair has one error
            [0.1, 0.1, 0.8],  # right
        ]
    )
    pairs = multiclass.error_pairs(labels, probs, n_pairs=2)
    assert [(p.true, p.predicted, p.errors, p.shown) for p in pairs] == [
        (0, 1, 2, [0, 1]),
        (1, 0, 1, [4]),
    ]


def test_calibration_numbers():
    labels = np.array([0, 1, 2, 2])
    probs = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0.5, 0.5, 0]])
    # Three sure and right (0), one split between two wrong classes: 0.25 + 0.25 + 1.
    assert multiclass.brier(labels, probs) == pytest.approx(1.5 / 4)
    row = multiclass.calibration_row("run", labels, probs)
    assert row["accuracy"] == 0.75 and row["confidence"] == pytest.approx(3.5 / 4)
    # Bin 0.5 (1 review, accuracy 0, confidence 0.5), bin 1.0 (3, accuracy 1, confidence 1).
    assert row["ece"] == pytest.approx(0.5 / 4)


def test_star_ratings_near_misses_and_mae_by_class():
    values = np.array([float(s) for s in STARS])
    near = multiclass.near_cells(values)
    assert near[3, 2] and not near[3, 4]  # 4 stars: 3 is near, 7 is not
    matrix = np.zeros((8, 8), int)
    matrix[0, 0], matrix[0, 1], matrix[3, 4] = 3, 1, 2  # 1 star: one off by 1; 4 as 7 twice
    assert multiclass.mae_by_class(matrix, values)[:4] == [0.25, None, None, 3.0]
    assert multiclass.near_cells(None) is None


def test_eda_counts_the_corpus_classes(tmp_path):
    corpus = load_corpus(make_multiclass_jsonl(tmp_path / "topics.jsonl", 30, 12))
    summary = eda.describe(corpus, tmp_path / "eda", max_len=30, vocab_size=50)
    assert summary["classes"] == sorted(CLASS_CUES)
    assert summary["class_counts"]["train"] == {name: 10 for name in sorted(CLASS_CUES)}
    assert summary["class_counts"]["test"] == {name: 4 for name in sorted(CLASS_CUES)}
    assert set(summary["ratings_by_label"]) == set(CLASS_CUES)
    assert (tmp_path / "eda" / "class_balance.png").stat().st_size > 1000
    assert "cooking 10" in eda.format_table(summary)
