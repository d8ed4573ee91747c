import json

from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.io import runs


def test_baseline_writes_a_comparable_run_folder(tmp_path, corpus_jsonl):
    run_dir = tmp_path / "baseline"
    result = CliRunner().invoke(
        app, ["baseline", "--data", str(corpus_jsonl), "--out", str(run_dir)]
    )
    assert result.exit_code == 0, result.output
    runs.verify(run_dir, (runs.CONFIG, runs.METRICS, runs.PREDICTIONS, runs.EXAMPLES))
    metrics = json.loads((run_dir / runs.METRICS).read_text())
    assert metrics["n_test"] == 40 and metrics["accuracy"] > 0.8  # the cue words are linear
    assert 0 < metrics["decision_threshold"] < 1
    record = json.loads((run_dir / runs.CONFIG).read_text())
    assert record["config"]["preset"] == "baseline"
    assert record["sizes"] == {"train": 64, "validation": 16, "test": 40}
    assert (run_dir / "plots" / "roc.png").exists()


def test_baseline_never_replaces_a_run_without_force(tmp_path, corpus_jsonl):
    run_dir = tmp_path / "run"
    args = ["baseline", "--data", str(corpus_jsonl), "--out", str(run_dir)]
    assert CliRunner().invoke(app, args).exit_code == 0
    manifest = (run_dir / runs.MANIFEST).read_bytes()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "pass --force" in result.output
    assert (run_dir / runs.MANIFEST).read_bytes() == manifest
    assert CliRunner().invoke(app, [*args, "--force"]).exit_code == 0


def test_baseline_never_deletes_files_it_did_not_create(tmp_path, corpus_jsonl):
    (tmp_path / "thesis.tex").write_text("years of work")
    args = ["baseline", "--data", str(corpus_jsonl), "--out", str(tmp_path), "--force"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "not a run" in result.output
    assert (tmp_path / "thesis.tex").read_text() == "years of work"
