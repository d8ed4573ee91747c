"""Integration tests on the real IMDB archive (../shared/data/aclImdb.tar.gz)."""

import json

import pytest
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.data.imdb import load_imdb
from gru_sentiment.io import runs

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_real_archive_has_the_canonical_splits(real_archive):
    corpus = load_imdb(real_archive)
    sizes = {name: len(split) for name, split in corpus.splits.items()}
    assert sizes == {"train": 25_000, "test": 25_000, "unsup": 50_000}
    assert not corpus.skipped
    for name in ("train", "test"):
        assert int(corpus[name].labels.sum()) == 12_500


def test_eda_numbers_are_sane(real_archive, tmp_path):
    result = runner.invoke(app, ["eda", "--data", str(real_archive), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "eda.json").read_text())
    assert summary["split_counts"] == {"train": 25_000, "test": 25_000, "unsup": 50_000}
    lengths = summary["length_tokens"]
    assert 220 < lengths["mean"] < 320 and 150 < lengths["median"] < 250
    assert 0.3 < summary["share_longer_than_max_len"] < 0.6
    assert 0.02 < summary["share_unknown_tokens"] < 0.1
    assert {int(k) for k in summary["ratings_by_label"]["negative"]} == {1, 2, 3, 4}


def test_tutorial_preset_on_a_subset_writes_the_whole_run_folder(real_archive, tmp_path):
    run_dir = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "train",
            "--preset",
            "tutorial",
            "--data",
            str(real_archive),
            "--out",
            str(run_dir),
            "--epochs",
            "1",
            "--train-limit",
            "2000",
            "--test-limit",
            "2000",
        ],
    )
    assert result.exit_code == 0, result.output
    runs.verify(run_dir)
    for name in ("plots/learning_curves.png", "plots/confusion_matrix.png", "plots/roc.png"):
        assert (run_dir / name).exists()
    metrics = json.loads((run_dir / runs.METRICS).read_text())
    assert metrics["n_test"] == 2000 and 0.4 < metrics["accuracy"] < 1
    assert metrics["params"] == 1_371_137
    record = json.loads((run_dir / runs.CONFIG).read_text())
    assert record["sizes"] == {"train": 1600, "validation": 400, "test": 2000}
