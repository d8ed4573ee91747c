"""Atomic writes and the run-folder rules: nothing the tool did not create is deleted."""

import json

import pytest

from gru_sentiment.errors import RunError
from gru_sentiment.io import runs
from gru_sentiment.io.files import read_json, write_atomic, write_json

RECORD = {"config": {"seed": 1}, "data": {"path": "x"}}


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = write_json(tmp_path / "a.json", {"v": 1})

    def broken(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomic(path, broken)
    assert read_json(path) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_claim_creates_a_marked_folder(tmp_path):
    assert runs.claim(tmp_path / "run", RECORD) is False
    assert runs.is_run_folder(tmp_path / "run")


def test_claim_refuses_a_folder_of_user_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="not a run"):
        runs.claim(tmp_path, RECORD, force=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_claim_refuses_a_file_or_a_symlink(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path)
    for target in ("file", "link"):
        with pytest.raises(RunError, match="file or a symlink"):
            runs.claim(tmp_path / target, RECORD, force=True)


def test_complete_runs_need_force_and_unfinished_ones_resume(tmp_path):
    run_dir = tmp_path / "run"
    runs.claim(run_dir, RECORD)
    (run_dir / runs.CONFIG).write_text(json.dumps(RECORD))
    assert runs.claim(run_dir, RECORD) is True  # same record, unfinished: resume
    with pytest.raises(RunError, match="another configuration"):
        runs.claim(run_dir, {**RECORD, "config": {"seed": 2}})
    runs.write_manifest(run_dir)
    with pytest.raises(RunError, match="complete run; pass --force"):
        runs.claim(run_dir, RECORD)
    assert runs.claim(run_dir, RECORD, force=True) is False
    assert not (run_dir / runs.CONFIG).exists()
