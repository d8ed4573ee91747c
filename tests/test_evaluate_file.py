"""`evaluate RUN --data FILE`: any labeled file scored, calibration and length measured;
and a baseline run folder as a model like any other (predict, explain, serve)."""

import csv
import json

import numpy as np
import pytest
from conftest import make_jsonl, review
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.evaluation import calibration
from gru_sentiment.io import runs


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("baseline")
    corpus = make_jsonl(out / "corpus.jsonl", n_train=200, n_test=40)
    args = ["baseline", "--data", str(corpus), "--out", str(out / "run")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out / "run"


def labeled_rows(n: int = 30, seed: int = 1) -> list[tuple[str, int]]:
    rng = np.random.default_rng(seed)
    return [(review(rng, i % 2, int(rng.integers(3, 40))), i % 2) for i in range(n)]


def write_csv(path, rows, labels=("negative", "positive"), column="sentiment"):
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["review", column])
        writer.writerows((text, labels[label]) for text, label in rows)
    return path


# --- calibration: the numbers themselves


def test_ece_is_zero_for_calibrated_and_the_gap_for_a_constant_forecast():
    labels = np.array([0, 1] * 500)
    # ties split across bins: each bin holds about as many of each class
    assert calibration.ece(labels, np.full(1000, 0.5)) == pytest.approx(0.0, abs=0.01)
    assert calibration.ece(labels, np.full(1000, 0.7)) == pytest.approx(0.2, abs=0.01)
    sure_and_right = labels.astype(float)
    assert calibration.ece(labels, sure_and_right) == pytest.approx(0.0)


def test_reliability_bins_hold_equal_numbers_of_texts():
    probs = np.linspace(0, 1, 150)
    bins = calibration.reliability((probs > 0.5).astype(int), probs)
    assert len(bins) == calibration.ECE_BINS and {b["n"] for b in bins} == {10}
    assert [b["mean_probability"] for b in bins] == sorted(b["mean_probability"] for b in bins)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1)), min_size=1, max_size=60))
def test_ece_is_a_share(pairs):
    labels, probs = (np.array(x) for x in zip(*pairs, strict=True))
    assert 0.0 <= calibration.ece(labels, probs.astype(float)) <= 1.0


def test_accuracy_by_length_buckets():
    tokens = np.array([1, 10, 11, 30, 31, 100, 101, 400, 401, 5000])
    labels = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
    probs = np.array([0.9, 0.1, 0.9, 0.9, 0.9, 0.1, 0.9, 0.1, 0.1, 0.1])
    rows = calibration.by_length(labels, probs, tokens)
    assert [r["bucket"] for r in rows] == ["1-10", "11-30", "31-100", "101-400", ">400"]
    assert [r["n"] for r in rows] == [2] * 5
    assert [r["accuracy"] for r in rows] == [1.0, 0.5, 1.0, 1.0, 0.5]
    assert rows[1]["mean_p_of_negative"] == pytest.approx(0.9)


# --- evaluate --data FILE


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_evaluate_scores_every_row_of_a_labeled_file(tmp_path, baseline_run, fmt):
    rows = labeled_rows()
    path = tmp_path / f"reviews.{fmt}"
    if fmt == "csv":
        write_csv(path, rows, labels=("neg", "pos"))
    else:
        records = [{"review": t, "sentiment": label} for t, label in rows]
        if fmt == "jsonl":
            path.write_text("".join(json.dumps(r) + "\n" for r in records))
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(records), path)
    out = tmp_path / "eval"
    args = ["evaluate", str(baseline_run), "--data", str(path), "--out", str(out)]
    args += ["--text-column", "review", "--label-column", "sentiment"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    found = json.loads((out / "metrics.json").read_text())
    assert found["n_test"] == 30 and found["accuracy"] > 0.8
    assert {"roc_auc", "f1", "ece", "reliability", "by_length", "confident_errors"} <= set(found)
    assert sum(row["n"] for row in found["by_length"]) == 30
    assert "<html" in (out / "report.html").read_text() and (out / "reliability.png").exists()


def test_unknown_label_values_are_one_error_naming_them(tmp_path, baseline_run):
    rows = labeled_rows(10)
    path = write_csv(tmp_path / "typo.csv", rows, labels=("negative", "postive"))
    out = tmp_path / "eval"
    args = ["evaluate", str(baseline_run), "--data", str(path), "--out", str(out)]
    result = CliRunner().invoke(
        app, [*args, "--text-column", "review", "--label-column", "sentiment"]
    )
    assert result.exit_code == 2
    assert "'postive'" in result.output and "--label-map" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_star_ratings_with_a_cut_and_a_label_map(tmp_path, baseline_run):
    rng = np.random.default_rng(3)
    stars = [1, 2, 3, 4, 5] * 6
    rows = [(review(rng, int(s >= 4), 20), s) for s in stars]
    path = tmp_path / "stars.jsonl"
    path.write_text("".join(json.dumps({"text": t, "stars": s}) + "\n" for t, s in rows))
    out = tmp_path / "cut"
    args = ["evaluate", str(baseline_run), "--data", str(path), "--label-column", "stars"]
    result = CliRunner().invoke(app, [*args, "--rating-cut", "2:4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    found = json.loads((out / "metrics.json").read_text())
    assert found["n_test"] == 24 and found["skipped"] == {"between the rating cut": 6}
    assert found["label_mapping"]["3"] == "skipped"
    mapped = ["--label-map", "1=negative,2=negative,3=negative,4=positive,5=positive"]
    result = CliRunner().invoke(app, [*args, *mapped, "--out", str(tmp_path / "map")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "map" / "metrics.json").read_text())["n_test"] == 30


def test_evaluate_never_writes_into_a_run_or_a_user_folder(tmp_path, baseline_run):
    path = write_csv(tmp_path / "r.csv", labeled_rows(10))
    before = runs.read_manifest(baseline_run)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    for out in (baseline_run / "eval", mine):
        args = ["evaluate", str(baseline_run), "--data", str(path), "--out", str(out)]
        args += ["--text-column", "review", "--label-column", "sentiment"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2 and "choose" in result.output
    assert not (baseline_run / "eval").exists() and (mine / "notes.txt").read_text() == "keep"
    assert runs.read_manifest(baseline_run) == before
    runs.verify(baseline_run, ())


def test_evaluate_a_gru_run_on_a_file(tmp_path, pooled_run):
    path = write_csv(tmp_path / "r.csv", labeled_rows(20), labels=("0", "1"))
    out = tmp_path / "eval"
    args = ["evaluate", str(pooled_run), "--data", str(path), "--out", str(out)]
    result = CliRunner().invoke(
        app, [*args, "--text-column", "review", "--label-column", "sentiment"]
    )
    assert result.exit_code == 0, result.output
    found = json.loads((out / "metrics.json").read_text())
    assert found["n_test"] == 20 and found["run"] == pooled_run.name and 0 <= found["ece"] <= 1


# --- a baseline run is a model like any other


def test_a_baseline_run_predicts_what_it_scored_on_test(baseline_run):
    from gru_sentiment.inference.baseline import BaselineModel, load_run

    model = load_run(baseline_run)
    assert isinstance(model, BaselineModel)
    corpus = baseline_run.parent / "corpus.jsonl"
    test = [json.loads(line) for line in corpus.read_text().splitlines()]
    with (baseline_run / runs.PREDICTIONS).open() as f:
        stored = {
            r["id"]: float(r["probability"]) for r in csv.DictReader(f) if r["split"] == "test"
        }
    texts = {r["id"]: r["text"] for r in test if r["split"] == "test"}
    assert set(stored) <= set(texts)
    ids = sorted(stored)
    probs, _ = model.score([texts[i] for i in ids], "head")
    assert np.allclose(probs, [stored[i] for i in ids], atol=1e-5)
    result = CliRunner().invoke(app, ["predict", str(baseline_run), "Great, wonderful!", "Awful."])
    assert result.exit_code == 0, result.output
    assert "positive" in result.output and "negative" in result.output


def test_a_baseline_run_explains_and_serves(baseline_run):
    from conftest import running

    from gru_sentiment.inference.baseline import load_run
    from gru_sentiment.serve.app import create_app

    model = load_run(baseline_run)
    explanation = model.explain("A wonderful film.<br />Truly great.")
    words = {t.text.lower(): t.contribution for t in explanation.tokens}
    assert words["wonderful"] > 0 and all(t.read for t in explanation.tokens)
    assert "br" not in words  # <br /> is no word of the text
    with running(create_app(model)) as url:
        import httpx

        health = httpx.get(f"{url}/health").json()
        assert health["arch"] == "tfidf_logistic" and health["cell"] is None
        answer = httpx.post(f"{url}/predict", json={"text": "Great, wonderful!"}).json()
        assert answer["predictions"][0]["label"] == "positive"
