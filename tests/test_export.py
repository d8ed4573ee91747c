"""export: ONNX / SavedModel bundles, and the portable scorer that reads them without
TensorFlow, checked against the run's own SentimentModel for every preset."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import review
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.config import PRESETS
from gru_sentiment.errors import RunError
from gru_sentiment.inference.model import SentimentModel
from gru_sentiment.io import runs
from gru_sentiment.portable import PortableModel


def reviews(n: int, seed: int = 1) -> list[str]:
    """`n` synthetic reviews from 3 to 150 words: most run past max_len (48 ids)."""
    rng = np.random.default_rng(seed)
    return [review(rng, int(rng.integers(0, 2)), int(rng.integers(3, 150))) for _ in range(n)]


@pytest.mark.parametrize("name", list(PRESETS))
def test_portable_gives_the_runs_probabilities_for_every_preset(preset_runs, tmp_path, name):
    run = preset_runs[name]
    result = CliRunner().invoke(app, ["export", str(run), "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert "match the run's within" in result.output
    texts = reviews(1000)
    model = SentimentModel.load(run)
    expected, _ = model.score(texts, model.cfg.keep)
    portable = PortableModel.load(tmp_path / "b")
    got = portable.probabilities(texts)
    assert np.abs(got - expected).max() <= 1e-5
    assert [p["label"] for p in portable.predict(texts[:50])] == [
        p.label for p in model.predict(texts[:50])
    ]
    spec = json.loads((tmp_path / "b" / "bundle.json").read_text())
    assert (spec["ngrams"] is not None) == PRESETS[name].ngram_branch
    assert spec["text"]["keep"] == PRESETS[name].keep
    # Weights only: float32 parameters plus a little graph, no optimizer state.
    params = model.model.count_params()
    assert (tmp_path / "b" / "network.onnx").stat().st_size < params * 4 * 1.1 + 20_000


def test_portable_scorer_imports_neither_tensorflow_nor_keras(preset_runs, tmp_path):
    bundle = tmp_path / "hybrid-onnx"
    CliRunner().invoke(app, ["export", str(preset_runs["hybrid"]), "--out", str(bundle)])
    script = (
        "import sys; from gru_sentiment.portable import PortableModel;"
        f"print(PortableModel.load({str(bundle)!r}).predict(['a great, moving film'])[0]['label']);"
        "print(sorted(m for m in ('tensorflow', 'keras', 'sklearn', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    label, loaded = out.stdout.splitlines()
    assert label in ("negative", "positive")
    assert loaded == "[]"


def test_portable_command_scores_lines_and_reports_bad_ones(preset_runs, tmp_path):
    bundle = tmp_path / "b"
    CliRunner().invoke(app, ["export", str(preset_runs["tutorial"]), "--out", str(bundle)])
    out = subprocess.run(
        [sys.executable, "-m", "gru_sentiment.portable", str(bundle)],
        input="A great, moving film!\n   \nDull and boring.\n",
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["error"] for r in rows] == [None, "empty text", None]
    assert all(0 <= r["probability"] <= 1 for r in (rows[0], rows[2]))
    missing = subprocess.run(
        [sys.executable, "-m", "gru_sentiment.portable", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "not an exported bundle" in missing.stderr


def test_savedmodel_serving_default_gives_the_networks_probabilities(preset_runs, tmp_path):
    run = preset_runs["recurrent"]
    result = CliRunner().invoke(
        app, ["export", str(run), "--format", "savedmodel", "--out", str(tmp_path / "sm")]
    )
    assert result.exit_code == 0, result.output
    import keras
    import tensorflow as tf

    serve = tf.saved_model.load(str(tmp_path / "sm" / "savedmodel")).signatures["serving_default"]
    model = SentimentModel.load(run)
    ids = np.zeros((3, 20), np.int32)
    ids[:, 0], ids[0, 1:5], ids[1, 1:20] = 1, 7, 9
    got = serve(ids=tf.constant(ids))["probability"].numpy()  # (3, 1)
    expected = keras.ops.convert_to_numpy(model.model(ids, training=False))
    assert np.abs(got - expected).max() <= 1e-6
    with pytest.raises(RunError, match="reads ONNX bundles"):
        PortableModel.load(tmp_path / "sm")


def test_export_refuses_tampered_runs_and_foreign_or_existing_folders(preset_runs, tmp_path):
    from gru_sentiment.export.bundle import export_run

    run = tmp_path / "run"
    import shutil

    shutil.copytree(preset_runs["tutorial"], run)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(RunError, match="not a bundle"):
        export_run(run, "onnx", tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    export_run(run, "onnx", tmp_path / "b")
    with pytest.raises(RunError, match="--force"):
        export_run(run, "onnx", tmp_path / "b")
    export_run(run, "onnx", tmp_path / "b", force=True)
    with (run / runs.METRICS).open("a") as f:
        f.write(" ")
    result = CliRunner().invoke(app, ["export", str(run), "--out", str(tmp_path / "c")])
    assert result.exit_code == 2 and "metrics.json" in result.output
    assert not (tmp_path / "c").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_portable_refuses_a_changed_bundle(preset_runs, tmp_path):
    bundle = tmp_path / "b"
    CliRunner().invoke(app, ["export", str(preset_runs["hybrid"]), "--out", str(bundle)])
    weights = bundle / "ngram_weights.f32"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(RunError, match="ngram_weights.f32 is missing or changed"):
        PortableModel.load(bundle)


def test_export_names_a_layer_it_cannot_translate():
    import keras

    from gru_sentiment.export.to_onnx import to_onnx

    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4)(ids)
    x = keras.layers.LayerNormalization(name="norm")(x)
    model = keras.Model(ids, keras.layers.GlobalAveragePooling1D()(x))
    with pytest.raises(RunError, match="'norm' \\(LayerNormalization\\)"):
        to_onnx(model)
