import json
from pathlib import Path

import pytest
from conftest import TINY, make_jsonl
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.io import runs
from gru_sentiment.train.experiments import VARIANTS

runner = CliRunner()
ROWS = {**{name: len(v) for name, v in VARIANTS.items()}, "embeddings": 2, "threshold": 6}
# The base every experiment here varies: tiny, and equal to three variants (max_len=100,
# units 32/16, dropout 0.0), whose rows then reuse its run instead of training their own.
# Whole splits in one batch, padded to their longest review: few graphs, few steps.
BASE = [*TINY, "--set", "max_len=100", "--set", "units=32", "--set", "units2=16"]
BASE += ["--set", "dropout=0.0", "--set", "batch_size=128", "--set", "bucket=true"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_jsonl(tmp_path_factory.mktemp("data") / "corpus.jsonl", 120, 60)


@pytest.fixture(scope="module")
def experiments_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("experiments")


def experiment(name, corpus, out, *extra):
    args = ["experiment", name, "--data", str(corpus), "--out", str(out), "--epochs", "1"]
    args += ["--runs-dir", str(out.parent / "runs")]
    result = runner.invoke(app, [*args, "--seeds", "1", *BASE, *extra])
    assert result.exit_code == 0, result.output
    return result, json.loads((out / "results.json").read_text())


@pytest.mark.parametrize("name", ["maxlen", "cell", "units", "conv-gru", "embeddings", "threshold"])
def test_experiment_writes_its_table_and_plot(name, corpus, experiments_dir):
    out = experiments_dir / name
    result, results = experiment(name, corpus, out)
    assert len(results["rows"]) == ROWS[name]
    # Variations of the tutorial's model (masked, and tiny here), whatever the default preset.
    assert {"preset", "arch", "cell"}.isdisjoint(results["base"]) and results["base"]["mask"]
    table = (out / "results.md").read_text()
    assert table.count("\n| ") == ROWS[name] + 1  # heading + one line per row
    assert " ± " in table and (out / f"{name}.png").stat().st_size > 5000
    for row in results["rows"]:
        assert {"mean", "std"} <= set(row["accuracy"])
    if name == "cell":
        gru, lstm = results["rows"]
        assert gru["params"]["mean"] < lstm["params"]["mean"]
    if name == "maxlen":
        folders = [Path(run["run"]) for row in results["rows"] for run in row["runs"]]
        configs = [json.loads((f / runs.CONFIG).read_text())["config"] for f in folders]
        assert [c["max_len"] for c in configs] == [100, 200, 300, 500]
    if name == "embeddings":
        assert [r["changes"] for r in results["rows"]] == [{}, {"pretrain_word2vec": True}]


def test_embeddings_from_a_vectors_file(corpus, experiments_dir, tmp_path):
    """GloVe / fastText text format: the embedding takes the file's dimension (8, the tiny
    model's, so the from-scratch row is the base run trained above)."""
    words = ["great", "awful", "movie", "the", "plot"]
    lines = [w + "".join(f" {(i + j) / 10:.1f}" for j in range(8)) for i, w in enumerate(words)]
    vectors = tmp_path / "tiny.vec"
    vectors.write_text(f"{len(words)} 8\n" + "\n".join(lines) + "\n")
    result, results = experiment(
        "embeddings", corpus, experiments_dir / "vectors", "--vectors", str(vectors)
    )
    scratch, pretrained = (r["changes"] for r in results["rows"])
    assert scratch == {"embed_dim": 8}
    assert pretrained == {"embed_dim": 8, "vectors": str(vectors.resolve())}
    assert "embedding initialised from" in result.output


def test_threshold_chosen_on_validation_is_the_one_train_stored(corpus, experiments_dir):
    """Sweeping a trained run's predictions chooses the threshold train stored for predict."""
    _, swept = experiment("threshold", corpus, experiments_dir / "threshold")
    trained = Path(swept["runs"][0])
    out = experiments_dir / "threshold-run"
    _, results = experiment("threshold", corpus, out, "--run", str(trained))
    stored = json.loads((trained / runs.METRICS).read_text())["decision_threshold"]
    assert results["chosen"] == [{"run": str(trained), "chosen": stored, "stored": stored}]
    assert results["rows"][-1]["variant"] == "chosen on validation"
    assert results["rows"][-1]["threshold"]["mean"] == pytest.approx(stored)


def test_rows_are_means_over_seeds_and_runs_are_reused(corpus, experiments_dir):
    """Seed 42's runs (trained above, the base by several experiments) are reused."""
    out = experiments_dir / "conv-gru-2-seeds"
    first, results = experiment("conv-gru", corpus, out, "--seeds", "2")
    assert first.output.count("complete, reusing it") == 2
    assert [r["variant"] for r in results["rows"]] == ["GRU (stacked)", "Conv1D + GRU"]
    for row in results["rows"]:
        assert [r["seed"] for r in row["runs"]] == [42, 43]
        accuracies = [r["accuracy"] for r in row["runs"]]
        assert row["accuracy"]["mean"] == pytest.approx(sum(accuracies) / 2)
    again, rerun = experiment("conv-gru", corpus, out, "--seeds", "2")
    assert again.output.count("complete, reusing it") == 4 and "loading data" not in again.output
    assert rerun["rows"] == results["rows"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope"], "unknown experiment 'nope'"),
        (["maxlen", "--full", "--train-limit", "10"], "--full uses all the data"),
        (["maxlen", "--run", "."], "--run applies to the threshold experiment only"),
        (["threshold", "--run", "/does/not/exist"], "is not a run folder"),
        (["embeddings", "--vectors", "/does/not/exist.vec"], "vectors file does not exist"),
        (["units", "--seeds", "0"], "--seeds must be a positive number"),
        (["units", "--set", "colour=blue"], "--set expects FIELD=VALUE"),
    ],
)
def test_bad_experiment_input_is_one_clear_error(args, message):
    result = runner.invoke(app, ["experiment", *args])
    assert result.exit_code == 2 and message in result.output
