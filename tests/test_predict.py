"""SentimentModel and `gru-sentiment predict` on tiny runs shaped like the default preset
(hybrid: pooled GRU + n-gram branch, bucketed), like the tutorial, and a pooled pure GRU."""

import csv
import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import CLASS_CUES, TINY, make_jsonl
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.data.tables import Row
from gru_sentiment.errors import RunError
from gru_sentiment.inference.run_folder import RunFolder
from gru_sentiment.inference.scoring import predict_rows
from gru_sentiment.io import runs

runner = CliRunner()
LONG = " ".join(["great"] * 30 + ["the film was"] * 20 + ["awful"] * 30)  # > max_len=48


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_jsonl(tmp_path_factory.mktemp("data") / "corpus.jsonl", n_train=80, n_test=40)


def train(out, corpus, preset, *overrides):
    args = ["train", "--preset", preset, "--data", str(corpus), "--out", str(out)]
    result = runner.invoke(app, [*args, "--epochs", "1", *TINY, *overrides])
    assert result.exit_code == 0, result.output
    return out


# The default preset's shape, tiny: pooled masked GRU reading both ends of long reviews,
# length-bucketed batches, n-gram branch stacked on validation.
HYBRID = [
    "network.arch=pooled",
    "network.mask=true",
    "fit.bucket=true",
    "text.keep=head+tail",
    "network.ngrams=true",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, corpus):
    overrides = [arg for value in HYBRID for arg in ("--set", value)]
    return train(tmp_path_factory.mktemp("runs") / "hybrid", corpus, "tutorial", *overrides)


@pytest.fixture(scope="module")
def model(run_dir):
    from gru_sentiment import SentimentModel

    return SentimentModel.load(run_dir)


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory, corpus):
    from gru_sentiment import SentimentModel

    return SentimentModel.load(train(tmp_path_factory.mktemp("runs") / "tut", corpus, "tutorial"))


@pytest.fixture(scope="module")
def pooled(pooled_run):
    from gru_sentiment import SentimentModel

    return SentimentModel.load(pooled_run)


def test_import_is_light_and_exports_sentiment_model():
    code = (
        "import sys, gru_sentiment; light = 'keras' not in sys.modules;"
        "from gru_sentiment import SentimentModel; print(light, SentimentModel.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["True", "SentimentModel"]


@pytest.mark.parametrize("which", ["model", "tutorial", "pooled"])
def test_predictions_reproduce_the_run_on_its_test_set(request, which):
    model = request.getfixturevalue(which)
    corpus = model.folder.record["data"]["path"]
    rows = [json.loads(line) for line in Path(corpus).read_text().splitlines()]
    test = [r for r in rows if r["split"] == "test"]
    predictions = model.predict([r["text"] for r in test])
    with (model.run_dir / runs.PREDICTIONS).open() as f:
        stored = {r["id"]: r for r in csv.DictReader(f) if r["split"] == "test"}
    threshold = json.loads((model.run_dir / runs.METRICS).read_text())["decision_threshold"]
    assert model.threshold == threshold
    assert (model.ngram is not None) == (which == "model")
    for row, p in zip(test, predictions, strict=True):
        expected = stored[row["id"]]
        assert p.probability == pytest.approx(float(expected["probability"]), abs=1e-4)
        assert p.label == ("positive" if p.probability >= threshold else "negative")
        assert p.tokens == int(expected["tokens"]) and p.truncated == bool(
            int(expected["truncated"])
        )


@pytest.mark.backend
def test_one_review_at_a_time_matches_a_large_batch(model):
    # Large batches run uncompiled at their own width, single reviews XLA-compiled and
    # padded to a power of two: the same probabilities either way, in input order.
    corpus = Path(model.folder.record["data"]["path"]).read_text().splitlines()
    texts = [json.loads(line)["text"] for line in corpus][:40]
    together = [p.probability for p in model.predict(texts)]
    alone = [model.predict(text)[0].probability for text in texts[:8]]
    assert alone == pytest.approx(together[:8], abs=1e-5)


def test_bad_texts_get_their_own_error_and_the_others_are_predicted(model):
    texts = ["great wonderful", "", "   \n", "bad \udcff bytes", LONG, 42]
    predictions = model.predict(texts)
    assert [p.error for p in predictions] == [
        None,
        "empty text",
        "empty text",
        "undecodable bytes (the text is not UTF-8)",
        None,
        "text is int, not a string",
    ]
    assert predictions[0].label in ("negative", "positive") and 0 <= predictions[0].probability <= 1
    assert predictions[1].label is None and predictions[1].probability is None
    assert predictions[4].truncated and predictions[4].tokens == 1 + 30 + 60 + 30
    assert model.predict("great wonderful") == predictions[:1]  # one string is one text
    assert model.predict([]) == []
    with pytest.raises(ValueError, match="long must be one of head, tail, head\\+tail"):
        model.predict(["x"], long="middle")


@pytest.mark.backend
def test_long_modes_read_the_head_the_tail_or_both(pooled):
    ids = pooled.encoder.encode([LONG])[0]
    assert len(ids) > pooled.cfg.text.max_len == 48
    kept = {"head": ids[:48], "tail": ids[-48:], "head+tail": np.concatenate([ids[:24], ids[-24:]])}
    for long, seq in kept.items():
        p = pooled.predict([LONG], long)[0]
        assert p.truncated
        assert p.probability == pytest.approx(pooled.probabilities([seq], "head")[0], abs=1e-6)
    assert pooled.predict([LONG])[0] == pooled.predict([LONG], "head")[0]  # the run's own


def test_hybrid_explanations_score_words_the_gru_does_not_read(model):
    text = " ".join(["great"] * 50 + ["awful", "boring", "worst", "dull", "waste"])
    explanation = model.explain(text, long="head")  # the GRU reads the first 47 words
    assert [t.read for t in explanation.tokens] == [True] * 47 + [False] * 8
    p = explanation.prediction.probability
    for token in explanation.tokens[-6:]:  # read by the n-gram branch only
        alone = text[: token.start] + " " + text[token.end :]
        alone_p = model.predict([alone], long="head")[0].probability
        assert token.contribution == pytest.approx(p - alone_p, abs=2e-6)
    assert any(t.contribution != 0 for t in explanation.tokens if not t.read)


@pytest.mark.backend
def test_warm_up_compiles_every_width_a_bucketed_model_pads_to(model):
    # max_len 48, buckets of 32 and 48 tokens; batches of 1, 2, 4 and 8 reviews.
    assert model.cfg.fit.bucket and model.warm_up() == 2 * 4


def test_prediction_streams_rows_without_reading_them_all(model):
    endless = (Row({"text": t}, t) for t in itertools.cycle(["great film", "awful film"]))
    first = list(itertools.islice(predict_rows(model, endless, chunk=16), 40))
    assert len(first) == 40 and all(result["predicted"] for _, result in first)


def copy_run(run_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    return copy


def test_load_refuses_hdf5_pickles_and_tampered_folders(pooled, run_dir, tmp_path):
    from gru_sentiment import SentimentModel

    for name, content in (("model.h5", b"\x89HDF\r\n\x1a\n"), ("model.pkl", b"\x80\x04.")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(RunError, match="refusing .*HDF5 and pickle"):
            SentimentModel.load(tmp_path / name)

    # A pickle put in place of model.keras with a matching manifest: refused by its content.
    copy = copy_run(pooled.run_dir, tmp_path)
    (copy / runs.MODEL).write_bytes(b"\x80\x04\x95" + b"\0" * 64)
    runs.write_manifest(copy)
    with pytest.raises(RunError, match="it is a pickle, not a Keras zip archive"):
        SentimentModel.load(copy)

    # Any file that does not match its recorded checksum, the n-gram branch's included.
    copy = copy_run(pooled.run_dir, tmp_path / "b")
    with (copy / runs.MODEL).open("ab") as f:
        f.write(b"tampered")
    with pytest.raises(RunError, match="model.keras does not match its checksum"):
        SentimentModel.load(copy)
    copy = copy_run(run_dir, tmp_path / "c")
    (copy / "stack.json").write_text('{"w_recurrent": 0, "w_linear": -9, "bias": 0}')
    with pytest.raises(RunError, match="stack.json does not match its checksum"):
        SentimentModel.load(copy)

    copy = copy_run(pooled.run_dir, tmp_path / "d")
    (copy / runs.MANIFEST).unlink()
    with pytest.raises(RunError, match="not a complete run"):
        SentimentModel.load(copy)


def test_cli_predicts_arguments_and_stdin_as_a_table(run_dir):
    result = runner.invoke(app, ["predict", str(run_dir), "great wonderful film", " "])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["#", "predicted", "P(pos)", "kept", "text"]
    assert lines[1].split()[0] == "1" and lines[1].split()[1] in ("negative", "positive")
    assert lines[1].endswith("great wonderful film")
    assert lines[2].split() == ["2", "error:", "empty", "text"]
    assert "not predicted: 1 row, empty text" in result.stderr

    piped = runner.invoke(app, ["predict", str(run_dir)], input="awful\n\ngreat\n")
    assert piped.exit_code == 0, piped.output
    assert [line.split()[0] for line in piped.stdout.splitlines()[1:]] == ["1", "2", "3"]


def test_cli_csv_round_trips_rows_columns_and_bytes(run_dir, model, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(
        b"id,review,label\n"
        b'1,"Great, wonderful film",1\n'
        b"2,,0\n"
        b'3,"bad \xff\xfe bytes",0\n'
        b'4,"multi\nline awful",0\n'
        b"5,short row\n" + f'6,"{LONG}",0\n'.encode() + b"7\n"
    )
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app,
        ["predict", str(run_dir), "--input", str(source), "--text-column", "review"]
        + ["--output", str(out), "--long", "tail"],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 7 rows" in result.stderr
    with out.open(newline="", encoding="utf-8", errors="surrogateescape") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "review", "label"] + [
        "predicted",
        "probability",
        "truncated",
        "kept",
        "error",
    ]
    assert [r["id"] for r in rows] == [str(i) for i in range(1, 8)]
    assert rows[2]["review"].encode("utf-8", "surrogateescape") == b"bad \xff\xfe bytes"
    assert out.read_bytes().count(b"\xff\xfe") == 1  # the input bytes, written back as they were
    errors = [r["error"] for r in rows]
    assert errors[1] == "empty text" and errors[2].startswith("undecodable bytes")
    assert errors[6] == "no value in column 'review'"
    expected = model.predict(["Great, wonderful film", "multi\nline awful", LONG], long="tail")
    for row, p in zip((rows[0], rows[3], rows[5]), expected, strict=True):
        assert row["error"] == "" and row["predicted"] == p.label
        assert float(row["probability"]) == pytest.approx(p.probability, abs=1e-6)
    assert (rows[5]["truncated"], rows[5]["kept"]) == ("1", "tail")
    assert (rows[0]["truncated"], rows[0]["kept"]) == ("0", "all")
    assert rows[4]["label"] == "" and rows[4]["predicted"]  # a short row is still predicted


def test_cli_jsonl_keeps_fields_and_reports_bad_rows(run_dir, tmp_path):
    source = tmp_path / "in.jsonl"
    lines = [
        {"text": "awful boring", "id": "a", "probability": "mine"},
        {"id": "b"},
        "not json",
        {"text": None, "id": "d"},
        {"text": "great", "id": "e", "extra": [1, 2]},
        '{"text": "great \\ud800 film", "id": "f"}',  # a lone surrogate: no UTF-8 for it
    ]
    source.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    out = tmp_path / "out.jsonl"
    args = ["predict", str(run_dir), "--input", str(source), "--output", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6
    assert rows[5]["text"] == "great \ud800 film" and rows[5]["error"].startswith("undecodable")
    assert rows[0]["probability"] == "mine" and isinstance(rows[0]["model_probability"], float)
    assert rows[1]["id"] == "b" and rows[1]["predicted"] is None
    assert rows[1]["error"] == "no 'text' field"
    assert rows[2]["error"].startswith("invalid JSON")
    assert rows[3]["error"] == "text is NoneType, not a string"
    assert rows[4]["extra"] == [1, 2] and rows[4]["predicted"] in ("negative", "positive")
    assert "not predicted: 1 row, invalid JSON" in result.stderr

    # CSV output of JSONL input: the first row's fields are the columns.
    as_csv = tmp_path / "out.csv"
    args = ["predict", str(run_dir), "--input", str(source), "--output", str(as_csv)]
    assert runner.invoke(app, args).exit_code == 0
    header = as_csv.read_text().splitlines()[0]
    assert header == "text,id,probability,predicted,model_probability,truncated,kept,error"


def test_prediction_columns_never_overwrite_input_columns_of_that_name(run_dir, tmp_path):
    source = tmp_path / "scored.csv"  # a file scored before, its columns kept, scored again
    source.write_text("text,predicted,model_predicted\ngreat film,mine,also mine\n")
    for out in (tmp_path / "again.csv", tmp_path / "again.jsonl"):
        args = ["predict", str(run_dir), "--input", str(source), "--output", str(out)]
        assert runner.invoke(app, args).exit_code == 0
        if out.suffix == ".csv":
            header, row = out.read_text().splitlines()
            assert header.split(",")[:4] == [
                "text",
                "predicted",
                "model_predicted",
                "model_predicted_2",
            ]
            assert row.startswith("great film,mine,also mine,")
        else:
            (row,) = [json.loads(line) for line in out.read_text().splitlines()]
            assert (row["predicted"], row["model_predicted"]) == ("mine", "also mine")
            assert row["model_predicted_2"] in ("negative", "positive")


def test_cli_txt_input_one_review_per_line(run_dir, tmp_path):
    source = tmp_path / "reviews.txt"
    source.write_text(f"great film\n\n{LONG}\n")
    result = runner.invoke(app, ["predict", str(run_dir), "--input", str(source)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()[1:]
    assert len(lines) == 3 and "error: empty text" in lines[1]
    assert lines[2].split()[3] == "head+tail"  # the hybrid preset reads both ends


@pytest.mark.parametrize(
    "args, message",
    [
        (["--input", "{tmp}/in.csv", "--text-column", "body"], "has no column 'body' (columns: "),
        (["--input", "{tmp}/nope.csv"], "file does not exist"),
        (["--input", "{tmp}/in.csv", "--output", "{tmp}/out.xlsx"], "--output must end in"),
        (["--long", "middle", "x"], "--long must be one of head, tail, head+tail"),
        (["x", "--input", "{tmp}/in.csv"], "not both"),
    ],
)
def test_cli_bad_options_fail_in_one_line(run_dir, tmp_path, args, message):
    (tmp_path / "in.csv").write_text("id,text\n1,great\n")
    args = [a.format(tmp=tmp_path) for a in args]
    result = runner.invoke(app, ["predict", str(run_dir), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_cli_refuses_a_model_file_and_a_folder_without_its_model(run_dir, tmp_path):
    (tmp_path / "model.h5").write_bytes(b"\x89HDF")
    result = runner.invoke(app, ["predict", str(tmp_path / "model.h5"), "great"])
    assert result.exit_code == 2 and "refusing" in result.output
    baseline = tmp_path / "baseline"
    baseline.mkdir()
    shutil.copy(run_dir / runs.CONFIG, baseline)
    result = runner.invoke(app, ["predict", str(baseline), "great"])
    assert result.exit_code == 2 and "has no model.keras" in result.output


def test_predict_prints_no_backend_log_lines(run_dir):
    """TensorFlow's C++ lines (oneDNN's DT_BOOL note on AVX-512 CPUs...) stay out of
    stderr; what the tool says itself is all there is."""
    command = [sys.executable, "-m", "gru_sentiment", "predict", str(run_dir), "Great!"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "positive" in out.stdout or "negative" in out.stdout
    backend_lines = [line for line in out.stderr.splitlines() if re.match(r"[EWI]\d{4} ", line)]
    assert not backend_lines and "oneDNN" not in out.stderr


def resign(copy):
    """Re-sign a tampered copy, as a user who edits files and the manifest would."""
    (copy / runs.MANIFEST).unlink()
    runs.write_manifest(copy)
    return copy


def test_bad_run_files_are_one_line_errors_not_tracebacks(pooled, tmp_path):
    import keras

    from gru_sentiment import SentimentModel
    from gru_sentiment.errors import ConfigError

    # A Lambda layer in a real .keras zip: safe mode refuses it, and we say so.
    copy = copy_run(pooled.run_dir, tmp_path / "lambda")
    lam = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda x: x * 2)])
    (copy / runs.MODEL).unlink()
    lam.save(copy / runs.MODEL)
    with pytest.raises(RunError, match="cannot load .*model.keras: .*Lambda"):
        SentimentModel.load(resign(copy))

    copies = itertools.count()

    def edited(name, edit):
        copy = copy_run(pooled.run_dir, tmp_path / str(next(copies)))
        path = copy / name
        path.write_text(json.dumps(edit(json.loads(path.read_text()))))
        return resign(copy)

    metrics = edited(runs.METRICS, lambda m: m | {"decision_threshold": float("nan")})
    with pytest.raises(RunError, match="decision_threshold must be in"):
        SentimentModel.load(metrics)
    bad_text = {"max_len": -1}
    config = edited(
        runs.CONFIG,
        lambda r: r | {"config": r["config"] | {"text": r["config"]["text"] | bad_text}},
    )
    with pytest.raises(ConfigError, match="text.max_len must be in"):
        SentimentModel.load(config)
    for name, edit, message in [
        (runs.CONFIG, lambda r: [r], RunError),
        (runs.CONFIG, lambda r: r | {"config": {**r["config"], "truncating": "middle"}}, None),
    ]:
        with pytest.raises(message or ConfigError):
            SentimentModel.load(edited(name, edit))


def test_cli_evaluate_refuses_a_pickle_in_a_resigned_run(pooled, tmp_path):
    copy = copy_run(pooled.run_dir, tmp_path / "pickle")
    (copy / runs.MODEL).write_bytes(b"\x80\x04\x95" + b"\0" * 64)
    result = runner.invoke(app, ["evaluate", str(resign(copy))])
    assert result.exit_code == 2
    assert "it is a pickle, not a Keras zip archive" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_table_and_errors_print_control_characters_escaped(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the table fits the text to the terminal's width
    hostile = "great \x1b]0;pwned\x07 film \x1b[2J\u202egnp.exe"
    result = runner.invoke(app, ["predict", str(run_dir), hostile])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "great \\x1b]0;pwned\\x07 film \\x1b[2J\\u202egnp.exe" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text\n1,great\n")
    result = runner.invoke(
        app, ["predict", str(run_dir), "--input", str(bad)] + ["--text-column", "\x1b[31mred"]
    )
    assert result.exit_code == 2 and "\x1b" not in result.output and "\\x1b[31mred" in result.output


def test_cli_multiclass_table_and_files_name_the_class_and_every_probability(
    multiclass_run, tmp_path
):
    texts = ["the guitar and the song", "the chef and the oven", "goal by the team"]
    result = runner.invoke(app, ["predict", str(multiclass_run), *texts, " "])
    assert result.exit_code == 0, result.output
    header, *lines = result.stdout.splitlines()
    assert header.split() == ["#", "predicted", "P(pred)", "kept", "text"]
    assert [line.split()[1] for line in lines[:3]] == ["music", "cooking", "sport"]
    assert all(0.34 < float(line.split()[2]) <= 1 for line in lines[:3])  # P(predicted)
    assert lines[0].endswith("the guitar and the song") and lines[3].split()[1] == "error:"

    source = tmp_path / "in.csv"
    source.write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts)) + "9,\n")
    classes = RunFolder(multiclass_run).classes  # in class-index order
    assert sorted(classes) == sorted(CLASS_CUES)
    p_columns = [f"p_{c}" for c in classes]
    for suffix in ("csv", "jsonl"):
        out = tmp_path / f"out.{suffix}"
        args = ["predict", str(multiclass_run), "--input", str(source), "--output", str(out)]
        assert runner.invoke(app, args).exit_code == 0
        if suffix == "csv":
            with out.open(newline="") as f:
                rows = list(csv.DictReader(f))
            assert list(rows[0]) == ["id", "text", "predicted", "probability", *p_columns] + [
                "truncated",
                "kept",
                "error",
            ]
        else:
            rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["predicted"] for r in rows[:3]] == ["music", "cooking", "sport"]
        for row in rows[:3]:
            every = {c: float(row[c]) for c in p_columns}
            predicted = every[f"p_{row['predicted']}"]
            assert float(row["probability"]) == predicted == max(every.values())
            assert sum(every.values()) == pytest.approx(1, abs=1e-5)
        assert rows[3]["error"] == "empty text"
        assert all(rows[3][c] in ("", None) for c in ["predicted", "probability", *p_columns])
