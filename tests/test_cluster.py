"""Scaling out on a real Ray: `predict --engine ray` on a local Ray and on a head started
with `ray start --head` on 127.0.0.1, `tune` (Optuna + ASHA) against that head,
interrupted and resumed, and its best preset trained with `train --preset-file`.

Every Ray command runs as its own process; a test that kills one ends all it started, by
process id, so that no Ray process outlives the tests.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import CLI, TINY, free_port, review, wait_until
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.cluster.presets import read_preset
from gru_sentiment.io.files import read_json

runner = CliRunner()
COLUMNS = ["predicted", "probability", "truncated", "kept", "error"]


def process_tree(pid: int) -> list[int]:
    """`pid` and every process below it, parents first."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):  # gone meanwhile
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    tree = [pid]
    for member in tree:
        tree.extend(children.get(member, []))
    return tree


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a process we started and all it started (a killed Ray driver's agents
    would linger for a minute, a `ray start` head drain for 30 seconds)."""
    for pid in process_tree(process.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()


def cli(*args: str, env: dict | None = None, timeout: int = 240) -> subprocess.CompletedProcess:
    out = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    """3,005 rows in a CSV, a JSONL and a Parquet shard (the JSONL's texts again); bad
    rows in the JSONL (not JSON, not an object, no text, empty text) and the CSV (bytes
    that are not UTF-8)."""
    folder = tmp_path_factory.mktemp("shards")
    rng = np.random.default_rng(7)
    texts = [review(rng, i % 2, int(rng.integers(5, 80))) for i in range(2000)]
    with (folder / "a.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text"])
        writer.writerows(enumerate(texts[:1000]))
    with (folder / "a.csv").open("ab") as f:
        f.write(b"1000,bad \xff bytes\n")
    lines = [json.dumps({"id": i, "text": t}) for i, t in enumerate(texts[1000:2000])]
    lines[10:10] = ["not json", "[1, 2]", json.dumps({"id": -1}), json.dumps({"text": " "})]
    (folder / "b.jsonl").write_text("\n".join(lines) + "\n")
    pq.write_table(pa.table({"id": range(1000), "text": texts[1000:]}), folder / "c.parquet")
    (folder / "_SUCCESS").write_text("")  # a folder's marker files are no shards
    return folder


@pytest.fixture(scope="module")
def local_ray_output(pooled_run, shards, tmp_path_factory) -> Path:
    """The shards scored by `predict --engine ray` on a local Ray (2 workers)."""
    out = tmp_path_factory.mktemp("scored") / "local-ray"
    args = ["--engine", "ray", "--input", str(shards), "--output", str(out)]
    cli("predict", str(pooled_run), *args)
    return out


def local_predict(run_dir: Path, source: Path, output: Path) -> list[dict]:
    args = ["predict", str(run_dir), "--input", str(source), "--output", str(output)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    if output.suffix == ".csv":
        with output.open(newline="", encoding="utf-8", errors="replace") as f:
            return list(csv.DictReader(f))
    return [json.loads(line) for line in output.read_text().splitlines()]


def as_text(value: object) -> str | None:
    return None if value is None else str(value)


def assert_same(ray_rows: list[dict], local_rows: list[dict]) -> None:
    """Same rows, same order, same predictions (probabilities to 1e-6)."""
    assert len(ray_rows) == len(local_rows)
    for ours, theirs in zip(ray_rows, local_rows, strict=True):
        assert as_text(ours["id"]) == as_text(theirs.get("id"))  # Parquet: JSONL's ids as text
        assert ours["error"] == (theirs["error"] or None)
        assert ours["predicted"] == (theirs["predicted"] or None)
        if ours["error"] is None:
            assert ours["probability"] == pytest.approx(float(theirs["probability"]), abs=1e-6)
            assert ours["truncated"] == bool(int(theirs["truncated"]))
            assert ours["kept"] == theirs["kept"]


def test_ray_predict_equals_local_predict_on_mixed_shards(
    pooled_run, shards, local_ray_output, tmp_path
):
    files = sorted(p.name for p in local_ray_output.iterdir())
    assert files == ["part-00000-a.parquet", "part-00001-b.parquet", "part-00002-c.parquet"]
    read = {name: pq.read_table(local_ray_output / name) for name in files}
    for table in read.values():  # the input's columns, then the prediction's
        assert table.column_names == ["id", "text", *COLUMNS]

    a = read["part-00000-a.parquet"].to_pylist()
    assert_same(a, local_predict(pooled_run, shards / "a.csv", tmp_path / "a.csv"))
    assert a[-1]["error"] == "undecodable bytes (the text is not UTF-8)"
    assert a[-1]["text"] == "bad \ufffd bytes"  # Parquet text is UTF-8

    b = read["part-00001-b.parquet"].to_pylist()
    local_b = local_predict(pooled_run, shards / "b.jsonl", tmp_path / "b.jsonl")
    assert_same(b, local_b)
    assert [row["error"].split(":")[0] for row in b[10:14]] == [
        "invalid JSON",
        "invalid JSON",
        "no 'text' field",
        "empty text",
    ]
    # c.parquet holds b's texts: the same probabilities, read from Parquet.
    c = read["part-00002-c.parquet"].to_pylist()
    assert_same(c, [row for row in local_b if row.get("id") is not None and row["id"] >= 0])


@pytest.mark.slow
def test_predict_on_a_started_head_after_a_killed_run_leaves_nothing_behind(
    pooled_run, shards, local_ray_output, head, tmp_path
):
    # A run killed mid-way: its output never appears, only a hidden temporary folder.
    rng = np.random.default_rng(3)
    big = tmp_path / "big"
    big.mkdir()
    for name, n in (("a.jsonl", 50), ("b.jsonl", 20_000)):
        texts = (json.dumps({"text": review(rng, 1, 30)}) for _ in range(n))
        (big / name).write_text("\n".join(texts) + "\n")
    out = tmp_path / "scored"
    args = ["predict", str(pooled_run), "--engine", "ray", "--input", str(big)]
    killed = subprocess.Popen(
        [*CLI, *args, "--output", str(out), "--batch", "32"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: list(tmp_path.glob(".scored.tmp-*/part-00000-a.parquet")),
            120,
            "the run to write its first shard",
            process=killed,
        )
    finally:
        kill_tree(killed)
    assert not out.exists()

    # The same output from a cluster joined at its address: complete, the temporary gone.
    joined = {**os.environ, "RAY_AUTH_MODE": "token"}  # Ray sends a token to "auto" only
    address = ["--address", head["address"], "--input", str(shards), "--output", str(out)]
    done = cli("predict", str(pooled_run), "--engine", "ray", *address, env=joined)
    assert "wrote 3,005 rows (5 not predicted) in 3 shards" in done.stderr
    assert "not predicted: 2 rows, invalid JSON" in done.stderr
    assert [p.name for p in tmp_path.glob(".scored.tmp-*")] == []
    for shard in local_ray_output.iterdir():
        ours, theirs = pq.read_table(out / shard.name), pq.read_table(shard)
        assert ours.column("probability").to_pylist() == theirs.column("probability").to_pylist()


def test_ray_commands_without_the_extra_fail_in_one_line(tmp_path, monkeypatch):
    # In this process, as a fresh one would be without Ray: its import fails (None in
    # sys.modules), whatever an earlier test imported.
    monkeypatch.setitem(sys.modules, "ray", None)
    for args in (
        ["predict", str(tmp_path), "--engine", "ray", "--input", "x.csv", "--output", "out"],
        ["tune", "--out", str(tmp_path / "tune")],
    ):
        out = runner.invoke(app, args)
        assert out.exit_code == 2
        assert out.stderr.strip().splitlines() == [
            f"gru-sentiment: error: {args[0] if args[0] == 'tune' else '--engine ray'} needs "
            "the cluster extra (ray is missing): pip install -e '.[cluster]'"
        ]


RAY = str(Path(sys.executable).with_name("ray"))


def offers_cpus(address: str, cpus: int, env: dict) -> bool:
    """Whether the cluster at `address` is up with its raylet registered: `ray status`
    lists its `cpus` CPUs."""
    command = [RAY, "status", "--address", address]
    try:
        status = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False
    return status.returncode == 0 and f"/{cpus:.1f} CPU" in status.stdout


@pytest.fixture(scope="module")
def head(test_home):
    """A Ray head started with `ray start --head` on 127.0.0.1 (3 CPUs), yielded once it
    offers them, stopped after (or when it fails to start)."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # sockets need a short path
    command = [RAY, "start", "--head", "--block"]
    command += [f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=3"]
    command += ["--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"]
    env = {**os.environ, "RAY_AUTH_MODE": "token", "GRU_SENTIMENT_HOME": str(test_home)}
    log = temp / "ray-start.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        try:
            ready = lambda: offers_cpus(address, 3, env)  # noqa: E731
            wait_until(ready, 120, f"the Ray head at {address}", process=process, interval=0.5)
        except BaseException:
            print(f"ray start said:\n{log.read_text()[-3000:]}")  # shown with the failure
            raise
        yield {"address": address}
    finally:
        kill_tree(process)
        shutil.rmtree(temp, ignore_errors=True)


TUNE_BASE = ["--preset", "tutorial", "--epochs", "2", *TINY]
TUNE_BASE += [
    "--set",
    "network.arch=pooled",
    "--set",
    "network.mask=true",
    "--set",
    "fit.learning_rate=0.005",
]


@pytest.mark.slow
def test_tune_interrupted_resumes_and_its_best_preset_trains(head, tmp_path, corpus_jsonl):
    corpus = corpus_jsonl
    space = tmp_path / "space.yaml"
    space.write_text("network.units: [4, 8]\nnetwork.dense_units: {low: 4, high: 16, log: true}\n")
    out = tmp_path / "tune"
    args = ["tune", *TUNE_BASE, "--data", str(corpus), "--space", str(space), "--out", str(out)]
    # Two trials, one at a time (2 of the head's 3 CPUs each): the first completes before
    # Ctrl+C, the second is left to --resume.
    args += ["--trials", "2", "--cpus-per-trial", "2", "--address", head["address"]]
    joined = {**os.environ, "RAY_AUTH_MODE": "token"}
    log = tmp_path / "tune.log"  # a file, not a pipe: nothing reads it while Tune runs
    with log.open("w") as printed:
        search = subprocess.Popen([*CLI, *args], env=joined, stdout=printed, stderr=printed)
    try:
        done = wait_until(
            lambda: [p for p in out.glob("search/*/result.json") if "complete" in p.read_text()],
            600,  # a hang guard: slow or busy machines take minutes
            "a trial to finish",
            process=search,
            interval=0.2,
        )
    except BaseException:
        kill_tree(search)
        print(f"tune said:\n{log.read_text()[-3000:]}")  # shown with the failure
        raise
    search.send_signal(signal.SIGINT)  # Ctrl+C: Tune saves its state and stops
    search.wait(timeout=120)
    output = log.read_text()
    assert search.returncode == 0, output[-3000:]
    assert re.search(r"\n1 of 2 trials complete", output), output[-3000:]
    finished = {path: path.read_text() for path in done}

    resumed = cli("tune", "--out", str(out), "--resume", "--address", head["address"], env=joined)
    assert "Best: trial" in resumed.stdout
    assert {path: path.read_text() for path in finished} == finished  # not trained again
    trials = read_json(out / "trials.json")
    assert len(trials["trials"]) == 2
    assert {t["status"] for t in trials["trials"]} <= {"complete", "stopped"}
    assert all(t["config"]["network.units"] in (4, 8) for t in trials["trials"])
    assert 4 <= trials["best"]["config"]["network.dense_units"] <= 16
    assert (out / "best.png").stat().st_size > 0 and (out / "trials.md").is_file()
    for run_dir in trials["best"]["runs"]:  # ordinary run folders, validation as objective
        metrics = read_json(Path(run_dir) / "metrics.json")
        assert trials["best"]["validation_accuracy"] == metrics["validation_accuracy"]

    # The best config round-trips through a preset file into `train`.
    preset = read_preset(out / "best-preset.json")
    assert preset.network.units == trials["best"]["config"]["network.units"]
    run = ["train", "--preset-file", str(out / "best-preset.json"), "--data", str(corpus)]
    result = runner.invoke(app, [*run, "--out", str(tmp_path / "best")])
    assert result.exit_code == 0, result.output
    assert read_json(tmp_path / "best" / "config.json")["config"] == preset.to_dict()


@pytest.mark.slow
def test_experiment_on_ray_trains_the_runs_local_experiment_reuses(head, tmp_path, corpus_jsonl):
    corpus = corpus_jsonl
    # cell with 1 seed: three runs (GRU, two LSTMs) that train in parallel
    args = ["experiment", "cell", "--data", str(corpus), "--epochs", "1", "--seeds", "1"]
    args += ["--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "cell"), *TINY]
    joined = {**os.environ, "RAY_AUTH_MODE": "token"}
    done = cli(*args, "--engine", "ray", "--address", head["address"], env=joined, timeout=600)
    assert "training 3 runs on Ray" in done.stdout
    assert len(list((tmp_path / "runs").glob("*/seed-42/manifest.json"))) == 3
    ray_results = read_json(tmp_path / "cell" / "results.json")

    # The driver recorded each run as it finished; without the records, the local engine
    # reuses the run folders Ray's workers wrote.
    records = sorted((tmp_path / "records").glob("*-seed-42.json"))
    assert len(records) == 3
    for record in records:
        record.unlink()
    local = runner.invoke(app, args)
    assert local.exit_code == 0, local.output
    assert local.output.count("already holds a complete run") == 3
    assert ray_results["rows"] == read_json(tmp_path / "cell" / "results.json")["rows"]
