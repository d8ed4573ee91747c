"""Every command that writes a file of its own (predict --output, explain --html,
report --out) refuses, before it writes or loads anything, a destination inside a folder
the tool made for something else, a folder or a symlink; nothing the user or the tool
made changes."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.io import runs

COMMANDS = {  # name -> (its arguments writing to DEST, the suffix its file takes)
    "predict": (["predict", "{run}", "a fine film", "--output", "{dest}"], ".csv"),
    "explain": (["explain", "{run}", "a fine film", "--html", "{dest}"], ".html"),
    "report": (["report", "{run}", "--out", "{dest}"], ".html"),
}
# A hostile destination: where it lies, built from the folders below and the suffix.
DESTINATIONS = {
    "a run's own file": lambda f, s: (
        f["run"] / ("predictions.csv" if s == ".csv" else "model.keras")
    ),
    "a new file in a run": lambda f, s: f["run"] / f"notes{s}",
    "a run's subfolder": lambda f, s: f["run"] / "sub" / f"notes{s}",
    "another run's report": lambda f, s: f["other"] / f"report{s}",
    "an export bundle": lambda f, s: f["bundle"] / f"notes{s}",
    "an evaluation folder": lambda f, s: f["evaluation"] / f"notes{s}",
    "a symlink to a user's file": lambda f, s: f["mine"] / f"link{s}",
    "a folder": lambda f, s: f["mine"] / f"folder{s}",
}


@pytest.fixture
def folders(pooled_run, tmp_path) -> dict[str, Path]:
    run = Path(shutil.copytree(pooled_run, tmp_path / "run"))
    (run / "sub").mkdir()
    other = Path(shutil.copytree(pooled_run, tmp_path / "other"))
    bundle, evaluation, mine = tmp_path / "bundle", tmp_path / "evaluation", tmp_path / "mine"
    for folder, marker in ((bundle, "bundle.json"), (evaluation, ".gru-sentiment-evaluation")):
        folder.mkdir()
        (folder / marker).write_text("{}")
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    for suffix in {suffix for _, suffix in COMMANDS.values()}:
        (mine / f"link{suffix}").symlink_to(mine / "notes.txt")
        (mine / f"folder{suffix}").mkdir()
    return {"run": run, "other": other, "bundle": bundle, "evaluation": evaluation, "mine": mine}


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("where", DESTINATIONS)
@pytest.mark.parametrize("command", COMMANDS)
def test_no_command_writes_into_a_folder_it_does_not_own(command, where, folders, tmp_path):
    args, suffix = COMMANDS[command]
    dest = DESTINATIONS[where](folders, suffix)
    before = snapshot(tmp_path)
    result = CliRunner().invoke(app, [a.format(run=folders["run"], dest=dest) for a in args])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("gru-sentiment: error: ")
    assert "refusing" in result.stderr or "a folder or a symlink" in result.stderr
    assert snapshot(tmp_path) == before
    runs.verify(folders["run"])


def test_the_report_of_its_own_run_and_a_file_elsewhere_are_written(folders, tmp_path):
    own = CliRunner().invoke(app, ["report", str(folders["run"])])
    assert own.exit_code == 0, own.output
    runs.verify(folders["run"])  # the manifest follows the rewritten report
    elsewhere = tmp_path / "elsewhere" / "e.html"
    elsewhere.parent.mkdir()
    args = ["explain", str(folders["run"]), "a fine film", "--html", str(elsewhere)]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert "<html" in elsewhere.read_text().lower()


def test_a_user_folder_with_a_config_json_is_not_a_run_even_with_force(corpus_jsonl, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"config": {"preset": "tutorial"}}')
    (mine / ".hidden").write_text("mine too")
    before = snapshot(mine)
    args = ["train", "--preset", "tutorial", "--data", str(corpus_jsonl), "--out", str(mine)]
    result = CliRunner().invoke(app, [*args, "--force", "--epochs", "1"])
    assert result.exit_code == 2 and "holds files that are not a run" in result.stderr
    assert snapshot(mine) == before


def test_export_force_replaces_its_own_bundle_never_a_users_folder_with_a_bundle_json(
    folders, tmp_path
):
    mine = folders["bundle"]  # a user's folder that happens to hold a bundle.json
    before = snapshot(mine)
    args = ["export", str(folders["run"]), "--out", str(mine), "--force"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "is not a bundle `export` made" in result.stderr
    assert snapshot(mine) == before
    ours = tmp_path / "ours"
    for _ in range(2):  # made, then replaced with --force
        args = ["export", str(folders["run"]), "--out", str(ours), "--force"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
    assert (ours / "bundle.json").is_file()
