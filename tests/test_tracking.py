"""`train --tensorboard` and `train --mlflow-uri`: a run killed after its first epoch and
resumed is one TensorBoard log and one MLflow run (local file store), read back with
their own readers; a missing extra is one line that names it."""

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.config import Config
from gru_sentiment.io import runs
from gru_sentiment.train.tracking import Tracking

# The CLI with the epoch-state write wrapped so that its 2nd call SIGKILLs the process:
# epoch 1 is checkpointed and logged, epoch 2 is trained but neither saved nor logged.
KILLED_IN_EPOCH_2 = """
import os, signal, sys
from gru_sentiment.model import training
original, calls = training.write_json, []
def killing(*args, **kwargs):
    calls.append(args)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(*args, **kwargs)
training.write_json = killing
from gru_sentiment.cli import app
app(sys.argv[1:], prog_name="gru-sentiment")
"""
EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds")


def summaries(folder: Path, plugin: str) -> list[tuple[str, bytes, object]]:
    """(tag, plugin data, event: step, tensor_proto) of every summary of `plugin` in one
    TensorBoard run folder (TF2 summaries are tensors, scalars too)."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    found = ea.EventAccumulator(str(folder), size_guidance={ea.TENSORS: 0})
    found.Reload()
    return [
        (tag, metadata.plugin_data.content, event)
        for tag in found.Tags()["tensors"]
        if (metadata := found.SummaryMetadata(tag)).plugin_data.plugin_name == plugin
        for event in found.Tensors(tag)
    ]


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value), ...]} of the scalars in one TensorBoard run folder."""
    from tensorboard.util import tensor_util

    found = {}
    for tag, _, event in summaries(folder, "scalars"):
        value = float(tensor_util.make_ndarray(event.tensor_proto))
        found.setdefault(tag, []).append((event.step, value))
    return found


def test_a_killed_and_resumed_run_is_one_tensorboard_log_and_one_mlflow_run(
    tmp_path, corpus_jsonl, monkeypatch
):
    run_dir, store = tmp_path / "run", tmp_path / "mlruns"
    args = ["train", "--preset", "tutorial", "--data", str(corpus_jsonl), "--out", str(run_dir)]
    args += ["--epochs", "2", *TINY, "--set", "fit.patience=5", "--tensorboard"]
    args += ["--mlflow-uri", str(store)]  # a plain folder: a local file store
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_ALLOW_FILE_STORE"}
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_IN_EPOCH_2, *args], env=env, capture_output=True, timeout=300
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # what train sets for a file store
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store.as_uri())
    experiment = client.get_experiment_by_name("gru-sentiment")
    (first,) = client.search_runs([experiment.experiment_id])
    assert first.info.status == "RUNNING"  # SIGKILL: nobody could say otherwise
    assert [m.step for m in client.get_metric_history(first.info.run_id, "loss")] == [1]
    tensorboard = run_dir / "tensorboard"
    assert [step for step, _ in scalars(tensorboard / "train")["epoch_loss"]] == [1]

    resumed = CliRunner().invoke(app, args)
    assert resumed.exit_code == 0, resumed.output
    assert "resuming after epoch 1 of 2" in resumed.output
    runs.verify(run_dir)  # the TensorBoard files are in the manifest, unchanged since
    config = Config.from_dict(json.loads((run_dir / runs.CONFIG).read_text())["config"]).paths()
    history = list(csv.DictReader((run_dir / runs.HISTORY).open()))
    metrics = json.loads((run_dir / runs.METRICS).read_text())

    # MLflow: the same run, finished, with the config, both epochs, the test, the folder.
    (run,) = client.search_runs([experiment.experiment_id])
    run_id = run.info.run_id
    assert run_id == first.info.run_id and run.info.status == "FINISHED"
    assert run.data.params == {k: str(v) for k, v in config.items()}
    assert {k: run.data.tags[k] for k in ("preset", "data", "seed")} == {
        "preset": "tutorial",
        "data": str(corpus_jsonl),
        "seed": str(config["seed"]),
    }
    for name in EPOCH_METRICS:
        column = "lr" if name == "learning_rate" else name
        logged = [(m.step, m.value) for m in client.get_metric_history(run_id, name)]
        assert logged == [
            (int(row["epoch"]), pytest.approx(float(row[column]), rel=1e-6)) for row in history
        ], name
    for name in ("accuracy", "f1", "roc_auc"):
        assert run.data.metrics[f"test_{name}"] == pytest.approx(metrics[name])
    assert run.data.metrics["train_seconds"] == pytest.approx(metrics["train_seconds"])

    def files(path=None):
        for item in client.list_artifacts(run_id, path):
            yield from files(item.path) if item.is_dir else [item.path]

    assert sorted(files()) == sorted([*runs.read_manifest(run_dir), runs.MANIFEST])
    assert any(name.startswith("tensorboard/train/") for name in files())

    # TensorBoard: per-epoch scalars from both processes (steps = history.csv's epochs),
    # the config as hparams written once, the model graph, the test metrics.
    train, validation = scalars(tensorboard / "train"), scalars(tensorboard / "validation")
    for found, prefix in ((train, ""), (validation, "val_")):
        for name in ("loss", "accuracy"):
            assert found[f"epoch_{name}"] == [
                (int(row["epoch"]), pytest.approx(float(row[prefix + name]), rel=1e-6))
                for row in history
            ], prefix + name
    assert [v for _, v in train["epoch_learning_rate"]] == [
        pytest.approx(float(row["lr"]), rel=1e-6) for row in history
    ]
    assert [v for _, v in train["epoch_seconds"]] == [
        pytest.approx(float(row["seconds"]), rel=1e-6) for row in history
    ]
    assert scalars(tensorboard)["test_accuracy"] == [(2, pytest.approx(metrics["accuracy"]))]
    from tensorboard.plugins.hparams import plugin_data_pb2

    (session,) = summaries(tensorboard, "hparams")  # written once, not again on resuming
    assert session[0] == "_hparams_/session_start_info"
    hparams = plugin_data_pb2.HParamsPluginData.FromString(session[1]).session_start_info.hparams
    assert hparams["preset"].string_value == "tutorial"
    assert hparams["network.units"].number_value == config["network.units"] == 4
    assert hparams["network.mask"].bool_value is config["network.mask"]
    assert set(hparams) == {k for k, v in config.items() if v is not None}
    graphs = summaries(tensorboard / "train", "graph_keras_model")  # the conceptual graph
    assert graphs and all(b'"embedding"' in e.tensor_proto.string_val[0] for *_, e in graphs)


@pytest.mark.parametrize(
    ("option", "module", "message"),
    [
        (
            "--mlflow",
            "mlflow",
            "--mlflow needs the mlflow extra (mlflow is missing): pip install -e '.[mlflow]'",
        ),
        (
            "--tensorboard",
            "tensorboard",
            "--tensorboard needs the tensorboard extra (tensorboard is missing): "
            "pip install -e '.[tensorboard]'",
        ),
    ],
)
def test_a_missing_tracking_extra_is_one_line_before_any_work(
    tmp_path, corpus_jsonl, monkeypatch, option, module, message
):
    # The package cannot be imported here, as on a machine without it (None in
    # sys.modules fails its import even when an earlier test imported it).
    monkeypatch.setitem(sys.modules, module, None)
    run_dir = tmp_path / "run"
    args = ["train", "--data", str(corpus_jsonl), "--out", str(run_dir), option]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 2
    assert out.stderr.splitlines() == [f"gru-sentiment: error: {message}"]
    assert not run_dir.exists()


def test_tracking_options_resolve_to_a_folder_and_a_uri(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run_dir = Path("runs/a")
    assert Tracking.from_options(run_dir) == Tracking(None, None)
    default = Tracking.from_options(run_dir, tensorboard=True, mlflow=True)
    assert default == Tracking(run_dir / "tensorboard", (tmp_path / "mlruns").as_uri())
    # A folder or URI alone implies its flag; a path becomes an absolute file store URI.
    given = Tracking.from_options(run_dir, tensorboard_dir=Path("tb"), mlflow_uri="store")
    assert given == Tracking(Path("tb"), (tmp_path / "store").as_uri())
    server = "http://127.0.0.1:5000"
    assert Tracking.from_options(run_dir, mlflow_uri=server).mlflow == server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    assert Tracking.from_options(run_dir, mlflow=True).mlflow == "sqlite:///mlflow.db"
