import csv
import json

import pytest
from conftest import TINY, counts, make_imdb
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.config import PRESETS
from gru_sentiment.io import runs

runner = CliRunner()
# A network that traces faster than the tutorial's stacked BiGRU + GRU (each training
# traces its graphs again), for tests about what a run reuses, not about its network.
QUICK = ["--set", "network.arch=pooled", "--set", "network.dropout=0.0"]
METRIC_KEYS = {
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "confusion_matrix",
    "threshold",
    "n_test",
    "train_seconds",
    "seconds_per_epoch",
}


def test_params_match_the_tutorial():
    from gru_sentiment.config import preset
    from gru_sentiment.model.networks import params_table

    gru, lstm = params_table(preset("tutorial"))
    assert (gru["params"], lstm["params"]) == (1_371_137, 1_400_513)
    assert round(gru["saving"] * 100, 2) == 2.10
    result = runner.invoke(app, ["params", "--preset", "tutorial"])
    assert "1,371,137" in result.output and "2.10%" in result.output


def test_train_evaluate_and_reload_give_the_same_metrics(tmp_path, corpus_jsonl):
    import keras

    run_dir = tmp_path / "run"
    args = ["train", "--data", str(corpus_jsonl), "--out", str(run_dir), "--epochs", "1", *TINY]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "precision    recall  f1-score" in result.output  # the classification report
    for name in runs.REQUIRED + (
        "plots/learning_curves.png",
        "plots/confusion_matrix.png",
        "plots/roc.png",
        runs.MANIFEST,
    ):
        assert (run_dir / name).exists(), name
    assert not (run_dir / runs.CHECKPOINTS).exists()
    metrics = json.loads((run_dir / runs.METRICS).read_text())
    assert set(metrics) >= METRIC_KEYS and metrics["n_test"] == 40
    record = json.loads((run_dir / runs.CONFIG).read_text())
    assert (
        record["config"]["text"]["vocab_size"] == 100
        and record["backend"] == keras.backend.backend()
    )
    assert record["device"] in ("cpu", "gpu") and "keras" in record["versions"]
    rows = list(csv.DictReader((run_dir / runs.HISTORY).open()))
    assert len(rows) == 1
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"} <= set(rows[0])
    examples = json.loads((run_dir / runs.EXAMPLES).read_text())
    assert len(examples) == 5 and {"text", "true", "predicted", "probability"} <= set(examples[0])

    again = runner.invoke(app, ["evaluate", str(run_dir)])
    assert again.exit_code == 0, again.output
    from gru_sentiment.train.pipeline import evaluate_run

    reloaded = evaluate_run(run_dir, log=lambda _: None)
    assert reloaded["confusion_matrix"] == metrics["confusion_matrix"]
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert reloaded[key] == pytest.approx(metrics[key], abs=1e-6), key

    # A complete run is kept without --force, and refused when tampered with.
    kept = runner.invoke(app, args)
    assert kept.exit_code == 0 and "already holds a complete run" in kept.output
    other = runner.invoke(app, [*args, "--set", "network.units=5"])
    assert other.exit_code == 2
    assert "a complete run of another configuration (config.network.units differ)" in other.output
    (run_dir / runs.TOKENIZER).write_text("{}")
    broken = runner.invoke(app, ["evaluate", str(run_dir)])
    assert broken.exit_code == 2 and "does not match its checksum" in broken.output


def test_unfinished_run_with_another_config_is_not_mixed(tmp_path, corpus_jsonl):
    run_dir = tmp_path / "run"
    (run_dir).mkdir()
    (run_dir / runs.MARKER).write_text("")  # the tool's folder, of an unfinished run
    (run_dir / runs.CONFIG).write_text(json.dumps({"config": {"seed": 1}, "data": {}}))
    result = runner.invoke(
        app, ["train", "--data", str(corpus_jsonl), "--out", str(run_dir), "--epochs", "1", *TINY]
    )
    assert result.exit_code == 2 and "another configuration" in result.output


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_trains_and_reloads(preset_runs, name, monkeypatch):
    from gru_sentiment.data import imdb

    for folder, count in counts(60, 40).items():  # evaluate reads preset_runs' small IMDB
        monkeypatch.setitem(imdb.IMDB_COUNTS, folder, count)
    run_dir = preset_runs[name]  # the student learnt from the hybrid run's labels
    metrics = json.loads((run_dir / runs.METRICS).read_text())
    record = json.loads((run_dir / runs.CONFIG).read_text())
    assert record["config"]["preset"] == name
    if PRESETS[name].network.ngrams:
        assert metrics["recurrent"]["n_test"] == metrics["ngram"]["n_test"] == 120
        assert (run_dir / "linear.npy").exists() and (run_dir / "stack.json").exists()
    from gru_sentiment.train.pipeline import evaluate_run

    again = evaluate_run(run_dir, log=lambda _: None)
    assert again["accuracy"] == pytest.approx(metrics["accuracy"], abs=1e-6)


def test_second_run_reuses_the_prepared_ids(tmp_path, corpus_jsonl):
    args = ["train", "--data", str(corpus_jsonl), "--epochs", "1", "--preset", "tutorial", *TINY]
    args += QUICK
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "a"), "--seed", "5"])
    second = runner.invoke(app, [*args, "--out", str(tmp_path / "b"), "--seed", "5"])
    assert "tokenized and encoded" in first.output
    assert "using cached token ids" in second.output
    assert (tmp_path / "a" / "tokenizer.json").read_text() == (
        tmp_path / "b" / "tokenizer.json"
    ).read_text()


@pytest.mark.parametrize(("monitor", "best_epoch"), [("val_loss", 2), ("val_accuracy", 4)])
def test_early_stopping_keeps_the_best_epoch_of_its_monitor(tmp_path, monitor, best_epoch):
    import keras

    from gru_sentiment.config import Config
    from gru_sentiment.model.training import ResumableTraining

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    cfg = Config().set({"fit.monitor": monitor, "fit.patience": 3, "fit.lr_patience": 1})
    callback = ResumableTraining(cfg, tmp_path, None, log=lambda _: None)
    callback.set_model(model)
    # An overconfident model: val_loss is best at epoch 2, val_accuracy keeps rising to 4.
    epochs = [(0.40, 0.84), (0.30, 0.88), (0.32, 0.89), (0.35, 0.90), (0.36, 0.89)]
    for epoch, (val_loss, val_accuracy) in enumerate(epochs):
        callback.on_epoch_begin(epoch)
        logs = {"loss": 0.1, "accuracy": 0.9, "val_loss": val_loss, "val_accuracy": val_accuracy}
        callback.on_epoch_end(epoch, logs)
    state = callback.state
    assert state["best_epoch"] == best_epoch
    assert state["best_model"] == f"best-{best_epoch}.keras"
    assert (tmp_path / state["best_model"]).exists()
    # The learning rate follows val_loss whatever the monitor: halved after epochs 3 and 4.
    assert state["history"][-1]["lr"] == pytest.approx(cfg.fit.learning_rate / 4)


def test_distillation_adds_unlabeled_reviews_with_the_teachers_soft_labels():
    import numpy as np

    from gru_sentiment.config import Config
    from gru_sentiment.data.corpus import Split
    from gru_sentiment.data.splits import Splits
    from gru_sentiment.train.examples import training_data

    rng = np.random.default_rng(0)
    # token 5 means positive, 6 negative; the rest is filler
    labels = rng.integers(0, 2, 200).astype(np.int8)
    seqs = [np.r_[1, rng.integers(7, 20, 10), 5 if y else 6].astype(np.int32) for y in labels]
    unlabeled = [np.r_[1, rng.integers(7, 20, 10), 5 + i % 2].astype(np.int32) for i in range(50)]
    split = Split("train", [str(i) for i in range(200)], ["x"] * 200, labels, labels * 0)
    splits = Splits(split, split, split, "memory", {}, [])
    encoded = {"train": seqs, "unlabeled": unlabeled}
    plain_seqs, plain_labels, weights = training_data(Config(), splits, encoded, print)
    assert plain_seqs is seqs and set(plain_labels) == {0.0, 1.0} and weights is None
    lines = []
    cfg = Config().set({"distill.unlabeled": 30})
    taught, soft, _ = training_data(cfg, splits, encoded, lines.append)
    assert len(taught) == 230 and taught[:200] == seqs
    assert all(any(t is u for u in unlabeled) for t in taught[200:])
    for seq, p in zip(taught[200:], soft[200:], strict=True):  # the teacher's side is right
        assert 0 < p < 1 and (p > 0.5) == (seq[-1] == 5)
    assert lines and "30 unlabeled reviews labelled" in lines[0]


def test_sentence_crops_join_the_training_data_with_their_reviews_labels():
    import numpy as np

    from gru_sentiment.config import Config
    from gru_sentiment.data.corpus import Split
    from gru_sentiment.data.splits import Splits
    from gru_sentiment.data.text import TextEncoder
    from gru_sentiment.train.examples import crop_examples, training_data

    # five sentences each: a crop (one to three of them) is always shorter than its review
    texts = [
        f"Review {i}. It starts. It is {'good' if i % 2 else 'bad'}. It goes on. The end."
        for i in range(40)
    ]
    labels = (np.arange(40) % 2).astype(np.int8)
    split = Split("train", [str(i) for i in range(40)], texts, labels, labels * 0)
    splits = Splits(split, split, split, "memory", {}, [])
    encoder = TextEncoder.fit(texts, 100)
    encoded = {"train": encoder.encode(texts), "unlabeled": []}
    assert crop_examples(Config(), splits, encoder) is None  # crops are off by default
    cfg = Config().set({"fit.crops": 0.5})
    crops = crop_examples(cfg, splits, encoder)
    assert len(crops.seqs) == 20 and len(set(crops.parents)) == 20
    for seq, parent in zip(crops.seqs, crops.parents, strict=True):
        words = encoder.decode(seq).split()  # one to three whole sentences of its review
        assert 0 < len(words) < len(encoder.decode(encoded["train"][parent]).split())
        assert set(words) <= set(encoder.decode(encoded["train"][parent]).split())
    seqs, target, _ = training_data(cfg, splits, encoded, print, crops=crops)
    assert len(seqs) == 60 and seqs[40:] == crops.seqs
    assert target[40:].tolist() == target[crops.parents].tolist()


@pytest.mark.backend
def test_a_run_folder_can_be_the_teacher(pooled_run):
    import numpy as np

    from gru_sentiment import SentimentModel
    from gru_sentiment.config import Config
    from gru_sentiment.data.corpus import Split
    from gru_sentiment.data.splits import Splits
    from gru_sentiment.train.examples import training_data

    texts = ["great wonderful film", "awful boring plot", "loved it", "dull and terrible"]
    labels = np.array([1, 0], np.int8)
    split = Split("train", ["a", "b"], texts[:2], labels, labels * 0)
    splits = Splits(split, split, split, "memory", {}, texts)
    ids = [np.array([1, 5], np.int32), np.array([1, 6], np.int32)]
    encoded = {"train": ids, "unlabeled": [np.array([1, i], np.int32) for i in range(4)]}
    cfg = Config(seed=7).set({"distill.unlabeled": 4})
    lines = []
    taught, soft, _ = training_data(cfg, splits, encoded, lines.append, teacher=pooled_run)
    order = np.random.default_rng(7).permutation(4)  # the reviews it picked, in order
    assert [int(seq[1]) for seq in taught[2:]] == list(order)
    expected = [p.probability for p in SentimentModel.load(pooled_run).predict(texts)]
    assert soft[2:] == pytest.approx([expected[i] for i in order], abs=1e-5)
    assert f"labelled by the model of {pooled_run}" in lines[-1]


def test_a_teacher_preset_is_trained_once_and_reused(tmp_path, monkeypatch):
    from gru_sentiment.config import parse_overrides
    from gru_sentiment.data import imdb

    for folder, count in counts(40, 20).items():  # the layout of IMDB, smaller
        monkeypatch.setitem(imdb.IMDB_COUNTS, folder, count)
    monkeypatch.setenv("GRU_SENTIMENT_HOME", str(tmp_path / "home"))
    data = make_imdb(tmp_path / "imdb", per_folder=40, unsup=20)
    # The teacher is its preset as defined, not the student's --set: a tutorial preset at
    # the student's toy size, one epoch (the full one trains 8 epochs of a 1.4M network).
    small = [*TINY[1::2], *QUICK[1::2], "fit.epochs=1"]
    monkeypatch.setitem(PRESETS, "tutorial", parse_overrides(PRESETS["tutorial"], small))
    common = ["train", "--preset", "tutorial", "--data", str(data), "--epochs", "1", *TINY]
    common += [*QUICK, "--set", "distill.teacher=tutorial", "--set", "distill.unlabeled=20"]
    first = runner.invoke(app, [*common, "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    assert "the teacher: preset tutorial, seed 42" in first.output
    assert first.output.count("loading data ...") == 2  # the teacher, then the student
    assert "20 unlabeled reviews labelled by the model of" in first.output
    (teacher,) = (tmp_path / "home" / "teachers").iterdir()
    assert runs.is_complete(teacher)
    second = runner.invoke(app, [*common, "--out", str(tmp_path / "b")])
    assert second.exit_code == 0, second.output
    assert f"{teacher} already holds a complete run" in second.output
    assert second.output.count("loading data ...") == 1  # the student's only


def test_train_refuses_the_current_folder_before_reading_data(tmp_path, monkeypatch):
    (tmp_path / "mine.txt").write_text("keep me")
    monkeypatch.chdir(tmp_path)
    for out in (".", str(tmp_path.parent)):
        result = runner.invoke(app, ["train", "--data", "missing.csv", "--out", out, "--force"])
        assert result.exit_code == 2
    result = runner.invoke(app, ["train", "--out", ".", "--force", *TINY])
    assert result.exit_code == 2 and "the current, a parent or the home folder" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


@pytest.mark.parametrize(
    "setting, message",
    [
        ("init.vectors={vectors}", "has 3-dimensional vectors; pass --set network.embed_dim=3"),
        (
            "distill.teacher={tmp}",
            "is neither a preset (tutorial, recurrent, hybrid, student) nor a",
        ),
    ],
)
def test_a_bad_start_is_refused_before_the_run_folder_is_touched(
    setting, message, tmp_path, corpus_jsonl
):
    vectors = tmp_path / "three.vec"
    vectors.write_text("2 3\ngood 0.1 0.2 0.3\nbad 0.3 0.2 0.1\n")
    out = tmp_path / "run"
    args = ["train", "--data", str(corpus_jsonl), "--out", str(out), *TINY, *QUICK]
    args += ["--set", "distill.unlabeled=10"]  # a teacher needs reviews to label
    args += ["--set", setting.format(vectors=vectors, tmp=tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists()
