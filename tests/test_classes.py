"""Labels beyond positive/negative: classes read from the data, IMDB star ratings, the
softmax network, the multinomial n-gram branch and stack, class weights, ordinal soft
labels, any language."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from conftest import CLASS_CUES, FILLER, TINY, counts, make_imdb
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.data import splits
from gru_sentiment.data.corpus import CLASS_NAMES, RATINGS
from gru_sentiment.data.tables import label_classes
from gru_sentiment.errors import ConfigError, DataError
from gru_sentiment.io import runs
from gru_sentiment.model.linear import NBLogistic
from gru_sentiment.model.stack import Stack
from gru_sentiment.model.targets import balanced_weights, targets

runner = CliRunner()
# A masked pooled GRU, small and quick: learns cue words in a few epochs.
QUICK = [*TINY, "--epochs", "3", "--set", "network.arch=pooled", "--set", "network.mask=true"]
QUICK += [
    "--set",
    "network.units=8",
    "--set",
    "network.dense_units=16",
    "--set",
    "fit.learning_rate=0.01",
]


def write_csv(path, rows, header=("text", "label")):
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --- classes from the data


def test_binary_words_keep_the_sentiment_classes():
    classes, labels = label_classes(["pos", "0", "Negative", "1", "positive"], "here")
    assert classes == CLASS_NAMES and labels.tolist() == [1, 0, 0, 1, 1]


def test_a_stray_word_beside_binary_labels_is_skipped_not_a_class():
    labels = ["1", "0"] * 10 + ["maybe"]  # a typo on under 10% of the rows
    classes, found = label_classes(labels, "here")
    assert classes == CLASS_NAMES and found.tolist() == [1, 0] * 10 + [-1]


def test_names_sort_as_text_and_numbers_as_numbers():
    classes, labels = label_classes(["b", "a", "c", "a", "b", "c", "a", "b", "c"], "here")
    assert classes == ("a", "b", "c") and labels.tolist() == [1, 0, 2, 0, 1, 2, 0, 1, 2]
    stars = ["10", "2", "9.0", "1", "2", "10", "9", "1", "2.0"]  # spreadsheets write 2.0
    classes, labels = label_classes(stars, "here")
    assert classes == ("1", "2", "9", "10") and labels.tolist() == [3, 1, 2, 0, 1, 3, 2, 0, 1]


@pytest.mark.parametrize(
    "labels, message",
    [
        (["0.5", "1.5", "2", "0.5", "1.5", "2"], "fractional numbers .*0.5.*round them"),
        ([str(i) for i in range(1001)] * 3, "1,001 distinct labels.*--label-column"),
    ],
)
def test_labels_that_are_no_classes_are_refused(labels, message):
    with pytest.raises(DataError, match=message):
        label_classes(labels, "file.csv column 'label'")


def test_rows_without_a_label_are_skipped_and_counted(tmp_path):
    rows = [(f"text {i}", ["red", "green", "blue"][i % 3]) for i in range(30)]
    rows += [("no label here", ""), ("nor here", " ")]
    corpus = splits.load_corpus(write_csv(tmp_path / "c.csv", rows))
    assert corpus.classes == ("blue", "green", "red")
    assert len(corpus["train"]) + len(corpus["test"]) == 30
    assert corpus.skipped == {"c.csv: no label": 2}


def test_a_class_missing_from_a_split_is_a_warning_that_says_what_to_do(tmp_path):
    rows = [(f"t{i}", "a" if i % 2 else "b", "train") for i in range(40)]
    rows += [(f"rare {i}", "c", "train") for i in range(3)]
    rows += [(f"u{i}", "a" if i % 2 else "b", "test") for i in range(10)]
    path = write_csv(tmp_path / "c.csv", rows, header=("text", "label", "split"))
    found = splits.load_splits(splits.DataSpec(str(path)), 1, 0.2, unlabeled=False)
    assert found.classes == ("a", "b", "c")
    (warning,) = [w for w in found.warnings if "test" in w]
    assert "no test review of class 'c'" in warning and "add rows" in warning


def test_one_class_is_refused_naming_it(tmp_path):
    path = write_csv(tmp_path / "c.csv", [(f"t{i}", "spam") for i in range(30)])
    with pytest.raises(DataError, match="every training review is of class 'spam'"):
        splits.load_splits(splits.DataSpec(str(path)), 1, 0.2, unlabeled=False)


def test_imdb_ratings_become_eight_classes(tmp_path, monkeypatch):
    from gru_sentiment.data import imdb

    for folder, n in counts(20, 10).items():
        monkeypatch.setitem(imdb.IMDB_COUNTS, folder, n)
    data = make_imdb(tmp_path, per_folder=20, unsup=10)
    spec = splits.DataSpec(str(data), target="rating")
    found = splits.load_splits(spec, 1, 0.2, unlabeled=True)
    assert found.classes == tuple(str(r) for r in RATINGS)
    for split in (found.train, found.test):
        assert (np.array(RATINGS)[split.labels] == split.ratings).all()
    assert len(found.unlabeled) == 10


def test_rating_target_needs_imdb(tmp_path):
    path = write_csv(tmp_path / "c.csv", [(f"t{i}", i % 2) for i in range(30)])
    with pytest.raises(DataError, match="--target rating needs IMDB's star ratings"):
        splits.load_splits(splits.DataSpec(str(path), target="rating"), 1, 0.2, unlabeled=False)


# --- what the network learns from


def test_targets_one_hot_ordinal_and_binary():
    labels = np.array([0, 3, 7])
    one_hot = targets(labels, [str(r) for r in RATINGS])
    assert one_hot.shape == (3, 8) and (one_hot.argmax(1) == labels).all()
    assert (one_hot.sum(1) == 1).all() and set(one_hot.ravel()) == {0.0, 1.0}
    soft = targets(labels, [str(r) for r in RATINGS], "ordinal")
    assert np.allclose(soft.sum(1), 1) and (soft.argmax(1) == labels).all()
    # 8 stars from a 7: more mass than 10 stars; a 4 (three stars away) almost none
    assert soft[0, 1] > soft[0, 2] and soft[2, 6] > soft[2, 5] > soft[2, 4]
    assert targets(np.array([1, 0]), CLASS_NAMES).tolist() == [1.0, 0.0]
    with pytest.raises(ConfigError, match="classes.loss=ordinal needs classes that are numbers"):
        targets(labels % 3, ["a", "b", "c"], "ordinal")


def test_balanced_weights_give_every_class_the_same_total():
    labels = np.array([0] * 80 + [1] * 15 + [2] * 5)
    per_class = balanced_weights(labels, 4)  # class 3 has no review: weight 0
    totals = np.bincount(labels, per_class[labels], 3)
    assert np.allclose(totals, totals[0]) and per_class[3] == 0


def test_multinomial_ngram_branch_and_stack_learn_three_classes(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    # token 5 + class marks the class in 60% of reviews; ids 10..40 are filler
    seqs = [
        np.r_[1, rng.integers(10, 40, 12), 5 + y if rng.random() < 0.6 else 10].astype(np.int32)
        for y in labels
    ]
    linear = NBLogistic.fit(seqs[:400], labels[:400], n_classes=3)
    assert linear.weights.shape == (2**20, 3) and linear.bias.shape == (3,)
    scores = linear.logits(seqs[400:])  # (200, 3)
    assert scores.shape == (200, 3)
    assert (scores.argmax(1) == labels[400:]).mean() > 0.6  # at best 0.6 + 0.4 / 3
    linear.save(tmp_path)
    assert np.array_equal(NBLogistic.load(tmp_path).logits(seqs[400:]), scores)
    # the stack learns to trust the n-gram scores over a network that knows nothing
    noise = rng.dirichlet(np.ones(3), 200)
    stack = Stack.fit(noise, scores, labels[400:])
    probs = stack.combine(noise, scores)
    assert probs.shape == (200, 3) and np.allclose(probs.sum(1), 1)
    assert (probs.argmax(1) == labels[400:]).mean() > 0.6
    stack.save(tmp_path)
    assert Stack.load(tmp_path) == stack


def test_a_stack_written_before_multiclass_still_loads(tmp_path):
    (tmp_path / "stack.json").write_text('{"w_recurrent": 2, "w_linear": -1, "bias": 0.5}')
    stack = Stack.load(tmp_path)
    z = 2 * np.log(0.8 / 0.2) - 1 * 1.5 + 0.5
    assert stack.combine(np.array([0.8]), np.array([1.5])) == pytest.approx(1 / (1 + np.exp(-z)))


# --- whole runs


def test_a_multiclass_run_is_complete_and_predicts_every_class(multiclass_run, tmp_path):
    from gru_sentiment import SentimentModel

    record = json.loads((multiclass_run / runs.CONFIG).read_text())
    assert record["classes"] == ["cooking", "music", "sport"]
    metrics = json.loads((multiclass_run / runs.METRICS).read_text())
    assert metrics["decision_threshold"] is None and metrics["accuracy"] > 0.8
    assert set(metrics["per_class"]) == {"cooking", "music", "sport"}
    assert np.array(metrics["confusion_matrix"]).shape == (3, 3)
    assert {"recurrent", "ngram"} <= set(metrics)  # the hybrid's parts
    header = (multiclass_run / runs.PREDICTIONS).read_text().splitlines()[0].split(",")
    assert header[-3:] == ["p_cooking", "p_music", "p_sport"]
    model = SentimentModel.load(multiclass_run)
    texts = [" ".join(words[:3] + FILLER[:3]) for words in CLASS_CUES.values()]
    predictions = model.predict(texts)
    assert [p.label for p in predictions] == list(CLASS_CUES)
    for p in predictions:
        assert sum(p.probabilities.values()) == pytest.approx(1, abs=1e-5)
        assert p.probability == max(p.probabilities.values())
    # predict --output: one column per class
    source = tmp_path / "in.csv"
    write_csv(source, [(t,) for t in texts], header=("text",))
    out = tmp_path / "out.csv"
    args = ["predict", str(multiclass_run), "--input", str(source), "--output", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert [r["predicted"] for r in rows] == list(CLASS_CUES)
    assert float(rows[0]["p_cooking"]) == pytest.approx(predictions[0].probabilities["cooking"])


def test_star_ratings_train_with_ordinal_labels_and_balanced_weights(tmp_path, monkeypatch):
    from gru_sentiment.data import imdb

    for folder, n in counts(60, 10).items():
        monkeypatch.setitem(imdb.IMDB_COUNTS, folder, n)
    data = make_imdb(tmp_path / "imdb", per_folder=60, unsup=10)
    args = ["train", "--preset", "tutorial", "--data", str(data), "--target", "rating"]
    args += ["--out", str(tmp_path / "run"), *QUICK, "--epochs", "1"]
    args += ["--set", "classes.loss=ordinal", "--set", "classes.weight=balanced"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "8 classes: 1, 2, 3, 4, 7, 8, 9, 10" in result.output
    assert "mae" in result.output and "within_one" in result.output
    metrics = json.loads((tmp_path / "run" / runs.METRICS).read_text())
    assert 0 <= metrics["mae"] <= 9 and 0 <= metrics["within_one"] <= 1
    assert metrics["classes"] == [str(r) for r in RATINGS]
    # the baseline on the same task: multinomial
    base = ["baseline", "--data", str(data), "--target", "rating", "--out", str(tmp_path / "b")]
    result = runner.invoke(app, [*base, "--class-weight", "balanced"])
    assert result.exit_code == 0, result.output
    assert "macro_f1" in result.output and "mae" in result.output


# --- any language

SPANISH = {
    "positivo": ["película", "maravillosa", "encantó", "excelente", "emocionó", "genial"],
    "negativo": ["aburrida", "pésima", "horrible", "decepción", "odié", "lenta"],
    "neutral": ["normal", "correcta", "regular", "aceptable", "mediocre", "pasable"],
}
RUSSIAN = {
    "хорошо": ["прекрасный", "отличный", "любимый", "шедевр"],
    "плохо": ["скучный", "ужасный", "провал", "слабый"],
}


def corpus(path, cues: dict[str, list[str]], filler: list[str], n: int = 240, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = list(cues)[i % len(cues)]
        words = [
            rng.choice(cues[label]) if rng.random() < 0.3 else rng.choice(filler)
            for _ in range(int(rng.integers(8, 25)))
        ]
        rows.append((" ".join(words).capitalize() + ".", label))
    return write_csv(path, rows)


def test_tokens_keep_accents_and_scripts_unless_asked():
    from gru_sentiment.data.text import TextEncoder

    texts = ["Una PELÍCULA genial", "这部电影很好 great", "Фильм ОЧЕНЬ хороший!"]
    encoder = TextEncoder.fit(texts, 100)
    assert encoder.tokens(texts[0]) == ["una", "película", "genial"]
    assert encoder.tokens(texts[1]) == ["这", "部", "电", "影", "很", "好", "great"]
    assert encoder.tokens(texts[2]) == ["фильм", "очень", "хороший", "!"]
    plain = TextEncoder.fit([*texts, "un ñandú"], 100, strip_accents=True)
    assert plain.tokens("Película ÑANDÚ") == ["pelicula", "nandu"]


@pytest.mark.parametrize(
    "cues, filler, extra",
    [
        (
            SPANISH,
            ["la", "el", "fue", "una", "muy", "y", "trama"],
            ["--set", "text.strip_accents=true"],
        ),
        (RUSSIAN, ["фильм", "это", "был", "и", "очень", "сюжет"], []),
    ],
    ids=["spanish", "russian"],
)
def test_a_corpus_in_another_language_trains_and_predicts(tmp_path, cues, filler, extra):
    path = corpus(tmp_path / "c.csv", cues, filler)
    out = tmp_path / "run"
    args = ["train", "--preset", "tutorial", "--data", str(path), "--out", str(out), *QUICK]
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / runs.METRICS).read_text())
    assert metrics["accuracy"] > 0.8
    texts = [" ".join(words[:2] + filler[:2]) for words in cues.values()]
    if extra:  # strip_accents: the word without its accent is the same word
        texts[0] = texts[0].replace("é", "e")
    from gru_sentiment import SentimentModel

    assert [p.label for p in SentimentModel.load(out).predict(texts)] == list(cues)


def test_experiments_refuse_a_multiclass_corpus_before_training(tmp_path):
    from conftest import make_multiclass_jsonl

    from gru_sentiment.config import preset
    from gru_sentiment.train.experiments import run_experiment

    spec = splits.DataSpec(str(make_multiclass_jsonl(tmp_path / "c.jsonl", 30, 12)))
    with pytest.raises(ConfigError, match="two-class task"):
        run_experiment("cell", preset("tutorial"), spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()
