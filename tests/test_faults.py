"""Fault injection: `train` killed with SIGKILL at many points (inside an epoch, inside a
checkpoint's zip, between the state and the deletion of old files, before and after the
manifest) leaves a folder that is resumable or complete, never complete-but-broken, and
never loses a finished epoch. And two processes never write the same folder at once."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CLI, TINY, wait_until

from gru_sentiment import SentimentModel
from gru_sentiment.data import imdb
from gru_sentiment.io import runs
from gru_sentiment.io.files import TEMP_PREFIX, locked, read_json
from gru_sentiment.model.training import STATE_FILE

# Runs the CLI with `MODULE:ATTRIBUTE` wrapped so that its N-th call (counting only calls
# whose first argument ends with SUFFIX) kills the process (SIGKILL: no handler, no
# cleanup, as `kill -9` or the OOM killer would).
KILLER = """
import importlib, os, signal, sys
target, n, suffix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
module, _, path = target.partition(":")
*owners, name = path.split(".")
owner = importlib.import_module(module)
for attribute in owners:
    owner = getattr(owner, attribute)
original, calls = getattr(owner, name), [0]
def killing(*args, **kwargs):
    if str(args[0] if args else "").endswith(suffix):
        calls[0] += 1
        if calls[0] == n:
            os.kill(os.getpid(), signal.SIGKILL)
    return original(*args, **kwargs)
setattr(owner, name, killing)
from gru_sentiment.cli import app
app(sys.argv[4:], prog_name="gru-sentiment")
"""

# (what is killed, at which call[, of those on a path ending so]): in order, each resuming
# what the previous left.
KILLS = [
    # inside epoch 2: Keras 3.15 reads train batches 0-1 for its input signature, then
    # epoch 1's 4 and the validation batch twice (call 7 was that one, still in epoch 1)
    ("gru_sentiment.model.batching:PaddedBatches.__getitem__", 10),
    ("zipfile:ZipFile.writestr", 3),  # inside a checkpoint's .keras archive
    # after the epoch's new checkpoints are saved, before the state that names them
    ("gru_sentiment.model.training:write_json", 1),
    ("gru_sentiment.io.runs:write_manifest", 1),  # final writes, before the manifest
    # after the manifest, before the checkpoints go (Keras' own saving calls rmtree on
    # its temporary folders first); the next train tidies the complete folder
    ("shutil:rmtree", 1, f"/{runs.CHECKPOINTS}"),
]


def assert_resumable_or_complete(run_dir):
    """The invariant; returns the finished epochs the folder holds."""
    if runs.is_complete(run_dir):
        runs.verify(run_dir)
        return len((run_dir / runs.HISTORY).read_text().splitlines()) - 1
    state_path = run_dir / runs.CHECKPOINTS / STATE_FILE
    if not state_path.exists():
        return 0
    state = read_json(state_path)
    for name in (state["last_model"], state["best_model"]):
        assert (run_dir / runs.CHECKPOINTS / name).is_file(), f"the state names a lost {name}"
    return state["epochs_done"]


@pytest.mark.slow
def test_train_killed_anywhere_resumes_to_the_same_complete_run(tmp_path, corpus_jsonl):
    corpus = corpus_jsonl  # 80 training and 40 test reviews
    run_dir = tmp_path / "run"
    args = ["train", "--preset", "tutorial", "--data", str(corpus), "--out", str(run_dir)]
    args += ["--epochs", "3", *TINY, "--set", "fit.patience=5"]
    # Each of the six processes traces its network again: the pooled arch without dropout
    # (one BiGRU) traces faster than the tutorial's stacked BiGRU + GRU.
    args += ["--set", "network.arch=pooled", "--set", "network.dropout=0.0"]
    done = 0
    for target, n, *suffix in KILLS:
        call = [target, str(n), "".join(suffix)]
        killed = subprocess.run([sys.executable, "-c", KILLER, *call, *args])
        if runs.is_complete(run_dir):
            assert killed.returncode in (0, -9)
        else:
            assert killed.returncode == -9, f"{target} call {n} was never reached"
        epochs = assert_resumable_or_complete(run_dir)
        assert epochs >= done, f"killed at {target}: finished epochs lost"
        if target == KILLS[0][0]:
            assert epochs == 1, f"{target} call {n} was not inside epoch 2"
        done = epochs
    assert (run_dir / runs.CHECKPOINTS).is_dir()  # killed after the manifest: tidied below
    finished = subprocess.run([*CLI, *args], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert runs.is_complete(run_dir) and not (run_dir / runs.CHECKPOINTS).exists()
    history = (run_dir / runs.HISTORY).read_text().splitlines()
    assert [row.split(",")[0] for row in history[1:]] == ["1", "2", "3"]
    model = SentimentModel.load(run_dir)  # verified, loadable
    assert model.predict(["a wonderful film"])[0].label in ("negative", "positive")


def waits_for_lock(pid: int, path) -> bool:
    """Whether process `pid` is blocked waiting for a lock on the file `path` (Linux's
    /proc/locks lists a blocked request as `N: -> FLOCK ... PID MAJ:MIN:INODE ...`)."""
    inode = f":{path.stat().st_ino} "
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if fields[1:2] == ["->"] and fields[5:6] == [str(pid)] and inode in line:
            return True
    return False


def test_a_second_extraction_waits_for_the_first(imdb_archive, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("GRU_SENTIMENT_HOME", str(home))
    cache = home / "datasets"
    cache.mkdir(parents=True)
    key = imdb._archive_key(imdb_archive)
    stale = cache / f".extracting-{key}"  # what a killed extraction leaves
    (stale / "junk").mkdir(parents=True)
    code = "import sys; from gru_sentiment.data import imdb\n"
    code += "print(imdb.resolve_imdb_root(sys.argv[1]))"
    lock = cache / f".{key}.lock"
    with locked(lock):  # another process is extracting
        second = subprocess.Popen(
            [sys.executable, "-c", code, str(imdb_archive)], stdout=subprocess.PIPE, text=True
        )
        # It waits for the lock, blocked (not done, not failed): no fixed sleep can tell.
        wait_until(
            lambda: waits_for_lock(second.pid, lock),
            120,
            "the second extraction to wait for the lock",
            process=second,
        )
        assert stale.exists()  # nothing done while it waits
    out, _ = second.communicate(timeout=60)
    assert second.returncode == 0
    assert out.strip() == str(imdb.resolve_imdb_root(imdb_archive))
    assert not stale.exists()
    assert sorted(p.name for p in cache.iterdir()) == sorted([key, f".{key}.lock"])


def test_a_run_folder_being_trained_is_refused_to_a_second_train(tmp_path, corpus_jsonl):
    corpus = corpus_jsonl
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / runs.MARKER).touch()
    (run_dir / runs.CONFIG).write_text(json.dumps({"config": {}}))
    args = ["train", "--preset", "tutorial", "--data", str(corpus), "--out", str(run_dir)]
    with locked(run_dir / runs.MARKER):  # as a training process holds it
        second = subprocess.run(
            [*CLI, *args, *TINY, "--force"],
            capture_output=True,
            text=True,
        )
    assert second.returncode == 2
    assert "being written by another gru-sentiment process" in second.stderr
    assert (run_dir / runs.CONFIG).read_text() == json.dumps({"config": {}})


def test_cached_token_ids_killed_mid_write_are_redone_without_leftovers(
    tmp_path, monkeypatch, corpus_jsonl
):
    from gru_sentiment.data.prepared import prepare_ids
    from gru_sentiment.data.splits import DataSpec, load_splits

    monkeypatch.setenv("GRU_SENTIMENT_HOME", str(tmp_path / "home"))
    splits = load_splits(DataSpec(str(corpus_jsonl)), seed=1, val_fraction=0.2, unlabeled=False)
    _, first = prepare_ids(splits, 100, log=lambda _: None)
    (folder,) = (tmp_path / "home" / "prepared").iterdir()
    # what a process killed while writing ids.npy leaves: no "done", a hidden temporary
    (folder / "done").unlink()
    (folder / f"{TEMP_PREFIX}ids.npy.k1ll3d.npy").write_bytes(b"half")
    lines = []
    _, again = prepare_ids(splits, 100, log=lines.append)
    assert "tokenized and encoded" in lines[0]
    assert not list(folder.glob(".*")) and (folder / "done").exists()
    assert all((a == b).all() for a, b in zip(first["test"], again["test"], strict=True))
