"""Shared fixtures: tiny synthetic datasets made in temp folders, and the real archive."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REPO = Path(__file__).resolve().parents[1]
REAL_ARCHIVE = REPO.parent / "shared" / "data" / "aclImdb.tar.gz"
T = TypeVar("T")
CLI = [sys.executable, "-m", "gru_sentiment"]  # the command, in a process of its own

POSITIVE = ["great", "wonderful", "loved", "brilliant", "superb", "moving", "excellent"]
NEGATIVE = ["awful", "boring", "hated", "terrible", "dull", "waste", "worst"]
FILLER = ["the", "movie", "film", "plot", "actor", "scene", "story", "was", "and", "a", "it"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "backend: the subset CI runs again on another Keras backend (KERAS_BACKEND=jax): "
        "train, resume, predict, explain, serve, language-model pretraining",
    )


def review(rng: np.random.Generator, label: int, n_words: int = 30) -> str:
    """A review whose sentiment words all agree with `label`, in filler text."""
    cues = POSITIVE if label == 1 else NEGATIVE
    words = [rng.choice(cues) if rng.random() < 0.2 else rng.choice(FILLER) for _ in range(n_words)]
    return " ".join(words).capitalize() + ".<br /><br />" + rng.choice(cues) + "!"


def make_imdb(root: Path, per_folder: int = 20, unsup: int = 10, seed: int = 0) -> Path:
    """A synthetic aclImdb/ folder in the canonical layout; returns the aclImdb path."""
    rng = np.random.default_rng(seed)
    base = root / "aclImdb"
    folders = {"train/neg": 0, "train/pos": 1, "test/neg": 0, "test/pos": 1, "train/unsup": None}
    for rel, label in folders.items():
        folder = base / rel
        folder.mkdir(parents=True)
        count = unsup if label is None else per_folder
        for i in range(count):
            stars = rng.integers(7, 11) if label else rng.integers(1, 5)
            rating = 0 if label is None else int(stars)
            text = review(
                rng,
                label if label is not None else int(rng.integers(0, 2)),
                int(rng.integers(10, 60)),
            )
            (folder / f"{i}_{rating}.txt").write_text(text, encoding="utf-8")
    return base


def counts(per_folder: int, unsup: int) -> dict[str, int]:
    return {
        "train/neg": per_folder,
        "train/pos": per_folder,
        "test/neg": per_folder,
        "test/pos": per_folder,
        "train/unsup": unsup,
    }


def make_archive(folder: Path, archive: Path) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="aclImdb")
    return archive


@pytest.fixture(scope="session")
def test_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(autouse=True)
def isolated_home(test_home, monkeypatch):
    """Tests cache extracted archives in one temp folder (keyed by archive), never ~/.cache."""
    monkeypatch.setenv("GRU_SENTIMENT_HOME", str(test_home))
    monkeypatch.delenv("GRU_SENTIMENT_DATA", raising=False)


@pytest.fixture
def imdb_dir(tmp_path) -> Path:
    return make_imdb(tmp_path / "data")


@pytest.fixture
def imdb_archive(tmp_path, imdb_dir) -> Path:
    return make_archive(imdb_dir, tmp_path / "aclImdb_v1.tar.gz")


@pytest.fixture(scope="session")
def real_archive() -> Path:
    """The real IMDB archive; without it the real-data tests skip, unless
    GRU_SENTIMENT_REQUIRE_DATA=1 (CI sets it) turns the skip into a failure."""
    if not REAL_ARCHIVE.exists():
        reason = (
            f"the real IMDB archive is not at {REAL_ARCHIVE}: put aclImdb_v1.tar.gz from "
            "https://ai.stanford.edu/~amaas/data/sentiment/ there to run these tests"
        )
        if os.environ.get("GRU_SENTIMENT_REQUIRE_DATA") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return REAL_ARCHIVE


def make_jsonl(path: Path, n_train: int = 80, n_test: int = 40, seed: int = 0) -> Path:
    """A labeled JSONL corpus with a split column, learnable in one epoch."""
    import json

    rng = np.random.default_rng(seed)
    lines = []
    for split, n in (("train", n_train), ("test", n_test)):
        for i in range(n):
            label = i % 2
            text = review(rng, label, int(rng.integers(10, 60)))
            lines.append(
                json.dumps({"id": f"{split}-{i}", "text": text, "label": label, "split": split})
            )
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def corpus_jsonl(tmp_path) -> Path:
    return make_jsonl(tmp_path / "corpus.jsonl")


# Three classes, each with its own cue words (a topic corpus rather than sentiment).
CLASS_CUES = {
    "music": ["guitar", "song", "album", "band", "singer", "melody"],
    "sport": ["goal", "match", "team", "coach", "league", "score"],
    "cooking": ["recipe", "oven", "flour", "sauce", "chef", "spice"],
}


def make_multiclass_jsonl(path: Path, n_train: int = 150, n_test: int = 60, seed: int = 0) -> Path:
    """A labeled JSONL corpus of the three CLASS_CUES classes (labels are their names),
    with a split column, learnable in a couple of epochs."""
    import json

    rng = np.random.default_rng(seed)
    names = list(CLASS_CUES)
    lines = []
    for split, n in (("train", n_train), ("test", n_test)):
        for i in range(n):
            label = names[i % len(names)]
            words = [
                rng.choice(CLASS_CUES[label]) if rng.random() < 0.25 else rng.choice(FILLER)
                for _ in range(int(rng.integers(10, 40)))
            ]
            row = {"id": f"{split}-{i}", "text": " ".join(words), "label": label, "split": split}
            lines.append(json.dumps(row))
    path.write_text("\n".join(lines) + "\n")
    return path


def tiny_network(arch: str = "stacked"):
    """A tiny GRU network's Config without dropout: the same start and batch give the same
    gradients (checks of optimizers and training steps)."""
    from gru_sentiment.config import Config, Fit, Network, Text

    network = Network(arch=arch, embed_dim=4, units=3, dense_units=4, dropout=0.0)
    if arch == "stacked":  # the only architecture with a second recurrent layer
        network = dataclasses.replace(network, units2=3)
    return Config(
        text=Text(vocab_size=30, max_len=12),
        network=dataclasses.replace(network, dense_dropout=0.0),
        fit=Fit(batch_size=8, patience=10),
    )


def assert_predicts_as_scored(run_dir: Path, corpus: Path) -> None:
    """The run reloaded predicts the corpus's test reviews as its predictions.csv says it
    scored them."""
    import csv

    from gru_sentiment import SentimentModel
    from gru_sentiment.io import runs

    rows = [json.loads(line) for line in corpus.read_text().splitlines()]
    test = [r for r in rows if r["split"] == "test"]
    with (run_dir / runs.PREDICTIONS).open() as f:
        stored = {
            r["id"]: float(r["probability"]) for r in csv.DictReader(f) if r["split"] == "test"
        }
    model = SentimentModel.load(run_dir)
    predicted = [p.probability for p in model.predict([r["text"] for r in test])]
    assert predicted == pytest.approx([stored[r["id"]] for r in test], abs=1e-5)


TINY = [
    "--set",
    "text.vocab_size=100",
    "--set",
    "network.embed_dim=8",
    "--set",
    "network.units=4",
    "--set",
    "network.dense_units=4",
    "--set",
    "fit.batch_size=16",
    "--set",
    "text.max_len=48",
]


# A masked, max+mean pooled GRU learns the cue words in 2 epochs (test accuracy 1.0), and
# stays far enough from 0 and 1 for single words to move it. (With dense_units=4 the
# ReLU layer can die on one side: every positive review then gets the same probability.)
POOLED = ["--epochs", "2", "--set", "network.arch=pooled", "--set", "network.mask=true"]
POOLED += [
    "--set",
    "network.units=8",
    "--set",
    "network.dense_units=16",
    "--set",
    "fit.learning_rate=0.005",
]


@pytest.fixture(scope="session")
def pooled_run(tmp_path_factory) -> Path:
    """A tiny pooled run trained once per test session (explain, predict, serve, page)."""
    from typer.testing import CliRunner

    from gru_sentiment.cli import app

    out = tmp_path_factory.mktemp("pooled")
    corpus = make_jsonl(out / "corpus.jsonl", n_train=400, n_test=40)
    args = ["train", "--preset", "tutorial", "--data", str(corpus), "--out", str(out / "run")]
    result = CliRunner().invoke(app, [*args, *TINY, *POOLED])
    assert result.exit_code == 0, result.output
    return out / "run"


@pytest.fixture(scope="module")
def model(pooled_run):
    """The tiny pooled run loaded (explain, serve)."""
    from gru_sentiment import SentimentModel

    return SentimentModel.load(pooled_run)


@pytest.fixture(scope="session")
def multiclass_run(tmp_path_factory) -> Path:
    """A tiny pooled hybrid (n-gram branch and stack) on the three-class corpus, trained
    once per test session (predict, explain, serve, page, report)."""
    from typer.testing import CliRunner

    from gru_sentiment.cli import app

    out = tmp_path_factory.mktemp("multiclass")
    corpus = make_multiclass_jsonl(out / "corpus.jsonl", n_train=450, n_test=60)
    args = ["train", "--preset", "tutorial", "--data", str(corpus), "--out", str(out / "run")]
    args += ["--set", "network.ngrams=true"]
    result = CliRunner().invoke(app, [*args, *TINY, *POOLED])
    assert result.exit_code == 0, result.output
    return out / "run"


# Each preset's architecture at toy size, one epoch; the student learns from the hybrid.
SMALL = [*TINY, "--epochs", "1", "--set", "distill.unlabeled=40", "--set", "init.word2vec_epochs=1"]


@pytest.fixture(scope="session")
def preset_runs(tmp_path_factory, test_home) -> dict[str, Path]:
    """One toy run of every preset, trained once per test session (train, export)."""
    from typer.testing import CliRunner

    from gru_sentiment.cli import app
    from gru_sentiment.config import PRESETS
    from gru_sentiment.data import imdb

    root = tmp_path_factory.mktemp("presets")
    data = make_imdb(root, per_folder=60, unsup=40)
    folders = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRU_SENTIMENT_HOME", str(test_home))  # session fixtures precede autouse
        for folder, count in counts(60, 40).items():  # the layout of IMDB, smaller
            patch.setitem(imdb.IMDB_COUNTS, folder, count)
        for name in PRESETS:
            folders[name] = root / name
            extra = ["--set", f"distill.teacher={folders['hybrid']}"] if name == "student" else []
            args = ["train", "--preset", name, "--data", str(data), "--out", str(folders[name])]
            result = CliRunner().invoke(app, [*args, *SMALL, *extra])
            assert result.exit_code == 0, result.output
    return folders


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(condition: Callable[[], T], timeout: float, interval: float = 0.1) -> T | None:
    """The first truthy value `condition()` returns within `timeout` seconds (it is
    called at least once, and once more at the deadline); None when none does."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value or None
        time.sleep(interval)


def process_output(process: subprocess.Popen) -> str:
    """The end of what a stopped `process` printed, when its output was piped."""
    try:
        out, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:  # a child of it still holds the pipe
        return "(its output is still held open by a process it started)"
    return "".join(part or "" for part in (out, err))[-3000:]


def wait_until(
    condition: Callable[[], T],
    timeout: float,
    what: str,
    process: subprocess.Popen | None = None,
    interval: float = 0.1,
) -> T:
    """Polls `condition()` until it returns a truthy value, and returns that value: the
    way to wait for another process or thread (never a fixed sleep). Fails the test,
    naming `what`, when `timeout` seconds pass first, or when `process` exits first (with
    the end of its output, when piped)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            pytest.fail(
                f"waiting for {what}: the process exited first (code {process.returncode})\n"
                + process_output(process)
            )
        if time.monotonic() >= deadline:
            pytest.fail(f"waited {timeout:g} s for {what}, in vain")
        time.sleep(interval)


def is_warm(url: str) -> bool:
    """Whether the server at `url` reports its forward pass compiled (False while it is
    not listening yet)."""
    import httpx

    try:
        return bool(httpx.get(f"{url}/health", timeout=5).json()["warm"])
    except httpx.HTTPError:
        return False


def wait_until_warm(url: str, seconds: float = 120) -> bool:
    """Polls /health until the server reports its forward pass compiled (`warm`); False
    when `seconds` pass first. A first request sent before that waits for the
    compilation, which can pass a client's timeout on a slow machine."""
    return bool(poll(lambda: is_warm(url), seconds))


@dataclass
class ServeProcess:
    """A `gru-sentiment serve` subprocess: its port, its process, and what it printed (set
    once it has stopped)."""

    port: int
    process: subprocess.Popen
    output: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def serve_process(run_dir: Path, *options: str):
    """`gru-sentiment serve run_dir *options` in a subprocess on a free port, yielded once
    warm (its output in the failure otherwise); terminated on exit."""
    port = free_port()
    command = [*CLI, "serve", str(run_dir), "--port", str(port)]
    process = subprocess.Popen(
        [*command, *options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    served = ServeProcess(port, process)
    try:
        wait_until(lambda: is_warm(served.url), 120, "serve to warm up", process=process)
        yield served
    finally:
        process.terminate()
        served.output = process.communicate(timeout=30)[0]


@contextmanager
def running(app):
    """A real uvicorn server for `app` in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(
        lambda: server.started or not thread.is_alive(), 30, f"uvicorn to start on port {port}"
    )
    assert server.started, f"uvicorn stopped before it started on port {port}"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
