"""export: ONNX / SavedModel bundles, and the portable scorer that reads them without
TensorFlow, checked against the run's own SentimentModel for every preset and for a
three-class hybrid."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import CLASS_CUES, FILLER, review
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


def topic_texts(n: int, seed: int = 1) -> list[str]:
    """`n` synthetic texts of the three CLASS_CUES topics (sometimes two mixed, so that
    the classes compete), from 3 to 150 words: most run past max_len (48 ids)."""
    rng = np.random.default_rng(seed)
    topics = list(CLASS_CUES)
    texts = []
    for _ in range(n):
        cues = CLASS_CUES[topics[rng.integers(3)]] + CLASS_CUES[topics[rng.integers(3)]]
        words = [
            rng.choice(cues) if rng.random() < 0.25 else rng.choice(FILLER)
            for _ in range(int(rng.integers(3, 150)))
        ]
        texts.append(" ".join(words))
    return texts


def export(run, out, *options: str):
    """`gru-sentiment export run --out out *options`, checked here: a failed export fails
    with its own output, not at a later use of the bundle. Returns its output."""
    result = CliRunner().invoke(app, ["export", str(run), "--out", str(out), *options])
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (" in result.output
    if "savedmodel" not in options:  # ONNX: it checked its own bundle against the run
        assert "match the run's within" in result.output
    return result.output


def portable_command(bundle, text: str) -> list[dict]:
    """`python -m gru_sentiment.portable bundle` on the lines of `text`: its JSON lines
    (its stderr in the failure when it fails)."""
    command = [sys.executable, "-m", "gru_sentiment.portable", str(bundle)]
    out = subprocess.run(command, input=text, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def assert_same_predictions(got: list[dict], expected: list) -> None:
    """The portable scorer's predictions are SentimentModel's, field by field (the
    probabilities within 1e-5, rounding included)."""
    assert len(got) == len(expected)
    for mine, theirs in zip(got, (p.to_dict() for p in expected), strict=True):
        assert mine.keys() == theirs.keys()
        for key in ("label", "truncated", "tokens", "error"):
            assert mine[key] == theirs[key], key
        if theirs["error"] is not None:
            assert mine["probability"] is mine["probabilities"] is None
            continue
        assert abs(mine["probability"] - theirs["probability"]) <= 1e-5
        assert mine["probabilities"].keys() == theirs["probabilities"].keys()
        for name, prob in theirs["probabilities"].items():
            assert abs(mine["probabilities"][name] - prob) <= 1e-5


@pytest.mark.parametrize("name", list(PRESETS))
def test_portable_gives_the_runs_probabilities_for_every_preset(preset_runs, tmp_path, name):
    run = preset_runs[name]
    export(run, tmp_path / "b")
    texts = reviews(1000)
    model = SentimentModel.load(run)
    expected, _ = model.score(texts, model.cfg.text.keep)
    portable = PortableModel.load(tmp_path / "b")
    got = portable.probabilities(texts)
    assert np.abs(got - expected).max() <= 1e-5
    assert_same_predictions(portable.predict(texts[:50]), model.predict(texts[:50]))
    spec = json.loads((tmp_path / "b" / "bundle.json").read_text())
    assert (spec["ngrams"] is not None) == PRESETS[name].network.ngrams
    assert spec["text"]["keep"] == PRESETS[name].text.keep
    # Weights only: float32 parameters plus a little graph, no optimizer state.
    params = model.model.count_params()
    assert (tmp_path / "b" / "network.onnx").stat().st_size < params * 4 * 1.1 + 20_000


def test_portable_scorer_imports_neither_tensorflow_nor_keras(preset_runs, tmp_path):
    bundle = tmp_path / "hybrid-onnx"
    export(preset_runs["hybrid"], bundle)
    script = (
        "import sys; from gru_sentiment.portable import PortableModel;"
        f"print(PortableModel.load({str(bundle)!r}).predict(['a great, moving film'])[0]['label']);"
        "print(sorted(m for m in ('tensorflow', 'keras', 'sklearn', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    label, loaded = out.stdout.splitlines()
    assert label in ("negative", "positive")
    assert loaded == "[]"


def test_portable_command_scores_lines_and_reports_bad_ones(preset_runs, tmp_path):
    bundle = tmp_path / "b"
    export(preset_runs["tutorial"], bundle)
    rows = portable_command(bundle, "A great, moving film!\n   \nDull and boring.\n")
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
    export(run, tmp_path / "sm", "--format", "savedmodel")
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
    export(preset_runs["hybrid"], bundle)
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


def test_portable_gives_a_multiclass_runs_probabilities_and_labels(multiclass_run, tmp_path):
    import onnx

    bundle = tmp_path / "b"
    assert "3 classes: cooking, music, sport" in export(multiclass_run, bundle)
    spec = json.loads((bundle / "bundle.json").read_text())
    assert spec["classes"] == ["cooking", "music", "sport"]
    assert spec["threshold"] is None and spec["version"] == 2
    features = spec["ngrams"]["features"]
    assert spec["ngrams"]["shape"] == [features, 3] and len(spec["ngrams"]["bias"]) == 3
    assert (bundle / "ngram_weights.f32").stat().st_size == features * 3 * 4
    assert np.array(spec["stack"]["coef"]).shape == (3, 6)
    assert len(spec["stack"]["intercept"]) == 3
    # The softmax head is a Softmax node over the last axis; the output is (batch, 3).
    graph = onnx.load(bundle / "network.onnx").graph
    (softmax,) = [node for node in graph.node if node.op_type == "Softmax"]
    assert [(a.name, a.i) for a in softmax.attribute] == [("axis", -1)]
    assert [d.dim_param or d.dim_value for d in graph.output[0].type.tensor_type.shape.dim] == [
        "batch",
        3,
    ]

    texts = topic_texts(300)
    model = SentimentModel.load(multiclass_run)
    expected, _ = model.score(texts, model.cfg.text.keep)  # (300, 3)
    portable = PortableModel.load(bundle)
    got = portable.probabilities(texts)
    assert got.shape == expected.shape == (300, 3)
    assert np.abs(got - expected).max() <= 1e-5
    assert np.array_equal(got.argmax(1), expected.argmax(1))
    assert len(set(got.argmax(1).tolist())) == 3  # the texts reach every class
    assert any(len(t.split()) > 60 for t in texts)  # and run past max_len
    texts[5] = "   "  # an error among them
    assert_same_predictions(portable.predict(texts), model.predict(texts))


def test_portable_command_prints_every_class_probability(multiclass_run, tmp_path):
    bundle = tmp_path / "b"
    export(multiclass_run, bundle)
    rows = portable_command(bundle, "recipe oven flour sauce\n\nguitar song album and the band\n")
    assert [r["label"] for r in rows] == ["cooking", None, "music"]
    assert rows[1]["error"] == "empty text" and rows[1]["probabilities"] is None
    for row in (rows[0], rows[2]):
        assert list(row["probabilities"]) == ["cooking", "music", "sport"]
        assert abs(sum(row["probabilities"].values()) - 1) <= 1e-5
        assert row["probability"] == max(row["probabilities"].values())


def test_savedmodel_of_a_multiclass_run_gives_every_class(multiclass_run, tmp_path):
    export(multiclass_run, tmp_path / "s", "--format", "savedmodel")
    import keras
    import tensorflow as tf

    serve = tf.saved_model.load(str(tmp_path / "s" / "savedmodel")).signatures["serving_default"]
    ids = np.zeros((4, 20), np.int32)
    ids[:, 0], ids[0, 1:5], ids[1, 1:20], ids[3, 1:3] = 1, 7, 9, 11
    got = serve(ids=tf.constant(ids))["probability"].numpy()
    assert got.shape == (4, 3)
    model = SentimentModel.load(multiclass_run)
    assert np.abs(got - keras.ops.convert_to_numpy(model.model(ids, training=False))).max() <= 1e-6
    spec = json.loads((tmp_path / "s" / "bundle.json").read_text())
    assert spec["classes"] == ["cooking", "music", "sport"] and spec["threshold"] is None


def test_binary_bundles_keep_their_format_and_older_ones_load(preset_runs, tmp_path):
    bundle = tmp_path / "b"
    export(preset_runs["hybrid"], bundle)
    spec = json.loads((bundle / "bundle.json").read_text())
    assert spec["version"] == 1 and spec["classes"] == ["negative", "positive"]
    assert 0 <= spec["threshold"] <= 1 and isinstance(spec["ngrams"]["bias"], float)
    assert sorted(spec["stack"]) == ["bias", "w_linear", "w_recurrent"]
    texts = reviews(100)
    expected = PortableModel.load(bundle).probabilities(texts)
    assert expected.shape == (100,)
    # A bundle written before multi-class runs: no weight shape (bundle.json has no checksum).
    del spec["ngrams"]["shape"]
    (bundle / "bundle.json").write_text(json.dumps(spec))
    old = PortableModel.load(bundle)
    assert np.array_equal(old.probabilities(texts), expected)
    assert [p["label"] for p in old.predict(texts)] == [
        "positive" if p >= spec["threshold"] else "negative" for p in expected
    ]
