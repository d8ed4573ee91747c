import base64
import csv
import json
import re
import shutil
from html.parser import HTMLParser

import numpy as np
import pytest
from conftest import TINY, make_jsonl
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.evaluation import calibration, metrics, thresholds
from gru_sentiment.evaluation.predictions import SplitPredictions, read_predictions
from gru_sentiment.io import runs
from gru_sentiment.report.html import by_length, by_rating, write_report

runner = CliRunner()
SECTIONS = [
    "Data",
    "Configuration and model",
    "Training",
    "Test metrics",
    "Decision threshold",
    "Calibration",
    "Error analysis",
]
BUCKETS = ["1-10", "11-30", "31-100", "101-400", ">400"]  # calibration.LENGTH_BUCKETS


class Page(HTMLParser):
    """Headings, image sources, every URL-carrying attribute and the text by element id."""

    def __init__(self, html: str):
        super().__init__()
        self.h2, self.images, self.urls, self.tags = [], [], [], set()
        self.by_id, self.text = {}, []
        self._stack = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        self.urls += [v for k, v in attrs.items() if k in ("src", "href", "action") and v]
        self._stack.append((tag, attrs.get("id")))
        self.by_id.setdefault(attrs.get("id"), "")

    def handle_endtag(self, tag):
        while self._stack and self._stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        self.text.append(data)
        for _, ident in self._stack:
            if ident:
                self.by_id[ident] += data
        if self._stack and self._stack[-1][0] == "h2":
            self.h2.append(data.strip())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A learnable corpus with every 7th label flipped, so the model makes mistakes."""
    path = make_jsonl(tmp_path_factory.mktemp("data") / "corpus.jsonl", 240, 120)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for i, row in enumerate(rows):
        if i % 7 == 0:
            row["label"] = 1 - row["label"]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, {r["id"]: r["text"] for r in rows}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, corpus):
    run_dir = tmp_path_factory.mktemp("runs") / "run"
    args = ["train", "--data", str(corpus[0]), "--out", str(run_dir), "--epochs", "2", *TINY]
    args += ["--set", "network.mask=true", "--set", "fit.learning_rate=0.01"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return run_dir


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory, tiny_run):
    """A folder shaped like a linear baseline's: config, metrics, predictions; no model."""
    base = tmp_path_factory.mktemp("runs") / "baseline"
    base.mkdir()
    record = json.loads((tiny_run / runs.CONFIG).read_text())
    record["config"]["preset"] = "baseline"
    (base / runs.CONFIG).write_text(json.dumps(record))
    rows = list(csv.DictReader((tiny_run / runs.PREDICTIONS).open()))
    rng = np.random.default_rng(0)
    for row in rows:
        prob = np.clip(0.3 + 0.4 * int(row["label"]) + rng.normal(0, 0.2), 0, 1)
        row["probability"] = f"{prob:.6f}"
    with (base / runs.PREDICTIONS).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    test = [r for r in rows if r["split"] == "test"]
    labels = np.array([int(r["label"]) for r in test])
    probs = np.array([float(r["probability"]) for r in test])
    found = metrics.test_metrics(labels, probs)
    found.update(decision_threshold=0.5, at_decision_threshold=found.copy())
    (base / runs.METRICS).write_text(json.dumps(found))
    return base


def test_report_has_every_section_inlined_and_offline(tiny_run, baseline_run, corpus, tmp_path):
    out = tmp_path / "report.html"
    result = runner.invoke(
        app, ["report", str(tiny_run), "--baseline", str(baseline_run), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = Page(out.read_text())
    assert page.h2 == SECTIONS
    # Every figure is an inlined PNG; nothing is fetched from anywhere.
    assert len(page.images) >= 8
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
    assert not [u for u in page.urls if not u.startswith(("data:", "#"))]
    assert not {"link", "script", "iframe"} & page.tags

    metrics = json.loads((tiny_run / runs.METRICS).read_text())
    # The first screen answers: headline accuracy and the verdict, before any section.
    html = out.read_text()
    assert html.index('id="summary"') < html.index("<h2>Data</h2>")
    assert page.by_id["headline-accuracy"] == f"{metrics['accuracy']:.2%}"
    assert "baseline (baseline)" in page.by_id["summary-metrics"]
    # The threshold shown is the one chosen on validation and stored for predict.
    assert page.by_id["decision-threshold"] == f"{metrics['decision_threshold']:.2f}"
    assert "baseline (baseline)" in page.by_id["metrics"]
    assert "GRU" in page.by_id["cells"] and "LSTM" in page.by_id["cells"]
    assert "Bidirectional(GRU)" in page.by_id["layers"]
    assert "accuracy points" in "".join(page.text)
    assert "not comparable" not in "".join(page.text)  # the same test reviews

    # The most confident mistakes are shown with their texts.
    text = "".join(page.text)
    predictions = list(csv.DictReader((tiny_run / runs.PREDICTIONS).open()))
    threshold = metrics["decision_threshold"]
    wrong = [
        r
        for r in predictions
        if r["split"] == "test" and (float(r["probability"]) >= threshold) != (r["label"] == "1")
    ]
    assert wrong, "the tiny run should make mistakes"
    worst = max(wrong, key=lambda r: abs(float(r["probability"]) - 0.5))
    assert worst["id"] in text
    assert corpus[1][worst["id"]].split("<br />")[0] in text
    assert "Review texts are not shown" not in text
    for example in json.loads((tiny_run / runs.EXAMPLES).read_text()):
        assert example["id"] in text


def test_ece_and_accuracy_by_length_in_metrics_and_report(tiny_run, baseline_run, tmp_path):
    """metrics.json of a new run has the test set's ECE and accuracy by fixed length
    bucket; the report shows the same numbers, computed from predictions.csv."""
    found = json.loads((tiny_run / runs.METRICS).read_text())
    test = read_predictions(tiny_run)["test"]
    threshold = found["decision_threshold"]
    expected = calibration.by_length(test.labels, test.probs, test.tokens, threshold)
    assert [row["bucket"] for row in found["by_length"]] == BUCKETS
    assert [row["n"] for row in found["by_length"]] == [row["n"] for row in expected]
    assert sum(row["n"] for row in found["by_length"]) == found["n_test"]
    for row in found["by_length"]:
        assert {"accuracy", "mean_p_of_negative", "mean_p_of_positive"} <= set(row)
    ece = calibration.ece(test.labels, test.probs)  # of the rounded probabilities
    assert 0 <= found["ece"] <= 1 and found["ece"] == pytest.approx(ece, abs=1e-3)

    out = write_report(tiny_run, baseline=baseline_run, out=tmp_path / "report.html")
    page = Page(out.read_text())
    table = page.by_id["brier"]
    assert "ECE" in table and f"{ece:.4f}" in table
    base = read_predictions(baseline_run)["test"]
    assert f"{calibration.ece(base.labels, base.probs):.4f}" in table  # the baseline's row
    assert "expected calibration error" in page.by_id["calibration"]
    by_length = page.by_id["accuracy-by-length"]
    for row in expected:
        accuracy = "—" if row["accuracy"] is None else f"{row['accuracy']:.2%}"
        assert f"{row['bucket']}{row['n']:,}{accuracy}" in by_length
    assert "by-length" in page.by_id  # the error analysis keeps its max_len-relative table


def test_report_in_a_complete_run_keeps_its_manifest_true(tiny_run):
    result = runner.invoke(app, ["report", str(tiny_run)])
    assert result.exit_code == 0, result.output
    runs.verify(tiny_run, (*runs.REQUIRED, "report.html"))


@pytest.mark.parametrize("name", [runs.MODEL, runs.MANIFEST, runs.CONFIG])
def test_report_never_overwrites_a_run_folders_own_files(tiny_run, name):
    before = (tiny_run / name).read_bytes()
    result = runner.invoke(app, ["report", str(tiny_run), "--out", str(tiny_run / name)])
    assert (
        result.exit_code == 2
        and "is a run folder, whose files only the tool writes" in result.output
    )
    assert (tiny_run / name).read_bytes() == before


def test_baseline_folder_gets_the_sections_it_can_have(baseline_run):
    html = write_report(baseline_run).read_text()
    page = Page(html)
    assert page.h2 == SECTIONS
    text = "".join(page.text)
    assert "No training history" in text and "No model.keras" in text
    assert "with max_len marked" not in html  # a linear model reads every token
    assert "layers" not in page.by_id and "by-length" in page.by_id


def test_report_says_when_the_data_is_gone(tiny_run, tmp_path):
    moved = tmp_path / "run"
    shutil.copytree(tiny_run, moved, ignore=shutil.ignore_patterns(runs.MANIFEST))
    record = json.loads((moved / runs.CONFIG).read_text())
    record["data"]["path"] = record["source"] = str(tmp_path / "gone.jsonl")
    (moved / runs.CONFIG).write_text(json.dumps(record))
    page = Page(write_report(moved).read_text())
    assert page.h2 == SECTIONS
    assert "Review texts are not shown" in "".join(page.text)


def test_report_refuses_a_folder_that_is_not_a_run(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "is not a run folder" in result.output


def test_threshold_sweep_agrees_with_test_metrics():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    probs = np.clip(0.5 * labels + rng.uniform(0, 0.6, 300), 0, 1)
    sweep = thresholds.sweep(labels, probs)
    for threshold in (0.1, 0.5, 0.72):
        i = int(np.argmin(np.abs(sweep["threshold"] - threshold)))
        expected = metrics.test_metrics(labels, probs, threshold)
        for key in ("accuracy", "precision", "recall", "f1"):
            assert sweep[key][i] == pytest.approx(expected[key]), (threshold, key)


def test_error_rates_by_length_bucket_and_star_rating():
    test = SplitPredictions(
        ids=[str(i) for i in range(6)],
        labels=np.array([0, 0, 1, 1, 1, 0]),
        probs=np.zeros(6),
        ratings=np.array([1, 4, 7, 7, 10, 4]),
        tokens=np.array([50, 150, 199, 250, 900, 100]),
        truncated=np.zeros(6, bool),
    )
    wrong = np.array([False, True, True, False, False, True])
    assert by_length(test, wrong, max_len=200) == [
        {"group": "1-100", "reviews": 2, "errors": 1, "rate": 0.5},
        {"group": "101-200", "reviews": 2, "errors": 2, "rate": 1.0},
        {"group": "201-400", "reviews": 1, "errors": 0, "rate": 0.0},
        {"group": ">800", "reviews": 1, "errors": 0, "rate": 0.0},
    ]
    assert [(r["group"], r["errors"], r["reviews"]) for r in by_rating(test, wrong)] == [
        (1, 0, 1),
        (4, 2, 2),
        (7, 1, 2),
        (10, 0, 1),
    ]


def test_report_summary_is_on_the_first_screen(tiny_run, baseline_run, tmp_path):
    """Opened from disk in a real browser, the summary box (headline accuracy, verdict
    against the baseline, metrics) is visible without scrolling."""
    from playwright.sync_api import expect, sync_playwright
    from test_page import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, save_screenshot

    out = write_report(tiny_run, baseline=baseline_run, out=tmp_path / "report.html")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(out.resolve().as_uri())
            for ident in ("summary", "headline-accuracy"):
                box = page.locator(f"#{ident}")
                expect(box).to_be_visible()
                bounds = box.bounding_box()
                assert bounds["y"] >= 0 and bounds["y"] + bounds["height"] <= VIEWPORT["height"]
            expect(page.locator("#headline-accuracy")).to_have_text(re.compile(r"\d+\.\d\d%"))
            save_screenshot(page, "report.png")
        finally:
            browser.close()
