"""Atomic writes and the run-folder rules: nothing the tool did not create is deleted."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gru_sentiment.errors import RunError
from gru_sentiment.io import runs
from gru_sentiment.io.files import TEMP_PREFIX, read_json, write_atomic, write_json

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


def claim(run_dir, record=RECORD, force=False) -> bool:
    with runs.claim(run_dir, record, force) as resume:
        return resume


def test_claim_creates_a_marked_folder(tmp_path):
    assert claim(tmp_path / "run") is False
    assert runs.is_run_folder(tmp_path / "run")


def test_claim_refuses_a_folder_of_user_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="not a run"):
        claim(tmp_path, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_claim_refuses_a_file_or_a_symlink(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path)
    for target in ("file", "link"):
        with pytest.raises(RunError, match="file or a symlink"):
            claim(tmp_path / target, force=True)


def test_claim_refuses_the_current_parent_home_and_repository_folders(tmp_path, monkeypatch):
    work = tmp_path / "work"
    (work / "repo" / ".git").mkdir(parents=True)
    (work / runs.CONFIG).write_text("{}")  # even when it looks like a run
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    for target, reason in [
        (".", "current, a parent or the home"),
        ("..", "current, a parent or the home"),
        (str(tmp_path / "home"), "current, a parent or the home"),
        ("repo", "is a repository"),
    ]:
        with pytest.raises(RunError, match=reason):
            claim(Path(target), force=True)
    assert (work / runs.CONFIG).exists() and (work / "repo" / ".git").is_dir()


def test_complete_runs_need_force_and_unfinished_ones_resume(tmp_path):
    run_dir = tmp_path / "run"
    claim(run_dir)
    (run_dir / runs.CONFIG).write_text(json.dumps(RECORD))
    (run_dir / f"{TEMP_PREFIX}model.keras.x1.keras").write_text("half")  # a killed write
    assert claim(run_dir) is True  # same record, unfinished: resume
    assert not (run_dir / f"{TEMP_PREFIX}model.keras.x1.keras").exists()
    with pytest.raises(RunError, match=r"another configuration \(config.seed differ\)"):
        claim(run_dir, {**RECORD, "config": {"seed": 2}})
    runs.write_manifest(run_dir)
    with pytest.raises(RunError, match="complete run; pass --force"):
        claim(run_dir)
    assert claim(run_dir, force=True) is False
    assert [p.name for p in run_dir.iterdir()] == [runs.MARKER]


def test_a_second_process_cannot_claim_a_folder_being_written(tmp_path):
    run_dir = tmp_path / "run"
    second = [
        sys.executable,
        "-c",
        "import sys; from gru_sentiment.io import runs\nwith runs.claim(sys.argv[1], {}): pass",
        str(run_dir),
    ]
    with runs.claim(run_dir, RECORD):
        (run_dir / runs.CONFIG).write_text(json.dumps(RECORD))
        busy = subprocess.run(second, capture_output=True, text=True)
        assert busy.returncode == 1
        assert "being written by another gru-sentiment process" in busy.stderr
        assert (run_dir / runs.CONFIG).exists()
    # released with the block (and with the process: a killed writer holds nothing)
    assert subprocess.run(second, capture_output=True).returncode == 0


def test_files_written_atomically_get_the_usual_permissions(tmp_path):
    write_json(tmp_path / "a.json", {})
    (tmp_path / "b.json").write_text("{}")
    assert (tmp_path / "a.json").stat().st_mode == (tmp_path / "b.json").stat().st_mode


def complete_run(tmp_path, files):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name, data in files.items():
        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (run_dir / name).write_bytes(data)
    runs.write_manifest(run_dir)
    return run_dir


def test_tidying_a_run_removes_the_tools_temporaries_and_no_hidden_file_of_the_user(tmp_path):
    run_dir = complete_run(tmp_path, {"a.txt": b"a", "sub/b.txt": b"b"})
    mine = {".notes": "mine", ".a.txt.swp": "an editor's", "sub/.b.txt.x1.txt": "mine too"}
    for name, text in mine.items():
        (run_dir / name).write_text(text)
    left = [run_dir / f"{TEMP_PREFIX}a.txt.k1ll3d.txt", run_dir / f"sub/{TEMP_PREFIX}b.txt.x.txt"]
    for path in left:  # what a process killed mid-write leaves
        path.write_text("half")
    runs.tidy(run_dir)
    assert not any(path.exists() for path in left)
    assert {name: (run_dir / name).read_text() for name in mine} == mine


def edit_manifest(run_dir, **entries):
    manifest = read_json(run_dir / runs.MANIFEST)
    (run_dir / runs.MANIFEST).write_text(json.dumps(manifest | entries))


@pytest.mark.parametrize(
    "name, message",
    [
        ("/dev/zero", "outside the run folder"),
        ("../outside.txt", "outside the run folder"),
        ("link", "outside the run folder"),
        ("inner_link", "not a regular file"),
        ("fifo", "not a regular file"),
        ("sub", "not a regular file"),
    ],
)
def test_manifest_entries_must_be_regular_files_inside_the_folder(tmp_path, name, message):
    (tmp_path / "outside.txt").write_text("secret")
    run_dir = complete_run(tmp_path, {"a.txt": b"a"})
    (run_dir / "link").symlink_to(tmp_path / "outside.txt")
    (run_dir / "inner_link").symlink_to(run_dir / "a.txt")
    os.mkfifo(run_dir / "fifo")  # opening it would wait forever for a writer
    (run_dir / "sub").mkdir()
    edit_manifest(run_dir, **{name: "0" * 64})
    with pytest.raises(RunError, match=message):
        runs.verify(run_dir, ())


@pytest.mark.parametrize("manifest", ["[1, 2]", "{}{", '{"a.txt": 3}', '{"a.txt": "beef"}'])
def test_a_manifest_of_the_wrong_shape_is_a_run_error(tmp_path, manifest):
    run_dir = complete_run(tmp_path, {"a.txt": b"a"})
    (run_dir / runs.MANIFEST).write_text(manifest)
    with pytest.raises(RunError, match=runs.MANIFEST):
        runs.verify(run_dir, ())


NAMES = st.text(alphabet="abcdefgh_-.", min_size=1, max_size=8).filter(
    lambda n: not n.startswith(".")
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    files=st.dictionaries(
        st.lists(NAMES, min_size=1, max_size=3).map("/".join), st.binary(max_size=64), min_size=1
    ),
    data=st.data(),
)
def test_the_manifest_accepts_its_own_run_and_no_altered_file(tmp_path_factory, files, data):
    # a name that is also a folder of another name cannot be a file: keep the deepest
    files = {n: b for n, b in files.items() if not any(o.startswith(n + "/") for o in files)}
    run_dir = complete_run(tmp_path_factory.mktemp("m"), files)
    runs.verify(run_dir, tuple(files))
    name = data.draw(st.sampled_from(sorted(files)))
    content = files[name]
    (run_dir / name).write_bytes(content + b"x" if not content else content[:-1])
    with pytest.raises(RunError, match="does not match its checksum"):
        runs.verify(run_dir, ())
