import json
import re
import subprocess
import sys

import pytest
import typer.main
from conftest import CLI, make_imdb
from typer.testing import CliRunner

from gru_sentiment.cli import app

runner = CliRunner()
# Every command registered on the app, as `--help` lists them: a new command is checked
# (help example, listing) without editing this file.
COMMANDS = list(typer.main.get_command(app).commands)


def test_the_command_list_is_the_apps():
    assert {"train", "predict", "serve", "export"} <= set(COMMANDS)
    assert len(COMMANDS) == len(app.registered_commands)


def test_help_lists_commands_without_heavy_imports():
    heavy = {"keras", "tensorflow", "sklearn", "matplotlib", "scipy", "pandas"}
    code = (
        "import sys; from typer.testing import CliRunner; from gru_sentiment.cli import app;"
        "r = CliRunner().invoke(app, ['--help']); print(r.output);"
        f"print(sorted({heavy!r} & set(sys.modules)) or 'LIGHT')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().endswith("LIGHT")
    for command in COMMANDS:
        assert re.search(rf"\b{command}\b", out.stdout), command


def test_no_cuda_driver_noise_on_a_machine_without_a_gpu():
    from gru_sentiment.runtime import gpu_present

    if gpu_present():
        pytest.skip("this machine has a GPU: CUDA messages are real there")
    command = [*CLI, "params", "--preset", "tutorial"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "cuInit" not in out.stderr and "cuda" not in out.stderr.lower()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert f"Example: gru-sentiment {command}" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--preset", "nope"], "unknown preset 'nope'"),
        (["train", "--epochs", "-1"], "--epochs must be a positive number"),
        (["train", "--data", "/does/not/exist"], "data path does not exist"),
        (["train", "--set", "colour=blue"], "--set expects FIELD=VALUE"),
        (["train", "--set", "network.dropout=2"], "dropout must be in [0, 1)"),
        (["evaluate", "/does/not/exist"], "no run folder"),
    ],
)
def test_bad_options_fail_in_one_line(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_eda_writes_numbers_and_plots(tmp_path, corpus_jsonl):
    out = tmp_path / "eda"
    result = runner.invoke(
        app,
        [
            "eda",
            "--data",
            str(corpus_jsonl),
            "--out",
            str(out),
            "--max-len",
            "40",
            "--vocab-size",
            "12",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "eda.json").read_text())
    assert summary["split_counts"] == {"train": 80, "test": 40}
    assert summary["class_counts"]["train"] == {"negative": 40, "positive": 40}
    assert 0 < summary["share_longer_than_max_len"] < 1
    assert 0 < summary["share_unknown_tokens"] < 1
    assert summary["example"]["decoded"].startswith("<start>")
    for png in ("class_balance.png", "lengths.png", "ratings.png"):
        assert (out / png).stat().st_size > 1000


def test_eda_on_imdb_layout_reports_ratings(tmp_path):
    from gru_sentiment.data.imdb import load_imdb
    from gru_sentiment.report import eda

    corpus = load_imdb(make_imdb(tmp_path), expected_counts=None)
    summary = eda.describe(corpus, tmp_path / "eda", max_len=30, vocab_size=50)
    assert summary["split_counts"]["unsup"] == 10
    assert set(summary["ratings_by_label"]["positive"]) <= {7, 8, 9, 10}  # before JSON
    assert "unsup" not in summary["class_counts"]
