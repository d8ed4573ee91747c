import csv
import io
import json
import tarfile

import numpy as np
import pytest
from conftest import counts

from gru_sentiment.data import corpus as corpora
from gru_sentiment.data import imdb, splits, tables
from gru_sentiment.errors import DataError


def load(path, **kw):
    return imdb.load_imdb(path, expected_counts=counts(20, 10), **kw)


def test_folder_loads_every_split_with_labels_and_ratings(imdb_dir):
    corpus = load(imdb_dir)
    assert {k: len(v) for k, v in corpus.splits.items()} == {"train": 40, "test": 40, "unsup": 10}
    train = corpus["train"]
    assert sorted(set(train.labels.tolist())) == [0, 1]
    assert (train.ratings[train.labels == 1] >= 7).all()
    assert (train.ratings[train.labels == 0] <= 4).all()
    assert (corpus["unsup"].labels == corpora.UNLABELED).all()
    assert train.ids[0].startswith("train/neg/")
    assert corpora.CLASS_NAMES == ("negative", "positive")


def test_parent_folder_and_archive_give_the_same_reviews(imdb_dir, imdb_archive):
    a = load(imdb_dir.parent)["test"]
    b = load(imdb_archive)["test"]
    assert a.texts == b.texts and a.ids == b.ids


def test_archive_is_extracted_once_into_the_cache(imdb_archive, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("GRU_SENTIMENT_HOME", str(home))
    first = imdb.resolve_imdb_root(imdb_archive)
    marker = first / "marker"
    marker.write_text("kept")
    assert imdb.resolve_imdb_root(imdb_archive) == first and marker.exists()
    assert first.is_relative_to(home)


def test_environment_variable_names_the_data(imdb_dir, monkeypatch):
    monkeypatch.setenv("GRU_SENTIMENT_DATA", str(imdb_dir))
    assert imdb.resolve_imdb_root(None) == imdb_dir


def test_missing_folder_is_an_error(imdb_dir):
    for f in (imdb_dir / "test" / "pos").iterdir():
        f.unlink()
    (imdb_dir / "test" / "pos").rmdir()
    with pytest.raises(DataError, match="missing folder test/pos"):
        load(imdb_dir)


def test_wrong_count_is_an_error(imdb_dir):
    next((imdb_dir / "train" / "pos").iterdir()).unlink()
    with pytest.raises(DataError, match="train/pos/ has 19 reviews, expected 20"):
        load(imdb_dir)


def test_canonical_counts_are_checked_by_default(imdb_dir):
    with pytest.raises(DataError, match="expected 12,500"):
        imdb.load_imdb(imdb_dir)


def test_bad_files_are_skipped_and_counted(imdb_dir):
    first, second, third = sorted((imdb_dir / "train" / "pos").iterdir())[:3]
    first.write_bytes(b"caf\xe9 latin-1")
    second.write_text("   \n")
    third.rename(third.with_name(third.name.split("_")[0] + "_3.txt"))  # 3 stars, yet positive
    corpus = load(imdb_dir)
    assert len(corpus["train"]) == 37
    assert corpus.skipped == {
        "train/pos: not UTF-8": 1,
        "train/pos: empty review": 1,
        "train/pos: rating contradicts its folder": 1,
    }


def test_truncated_archive_is_an_error_and_leaves_no_cache(imdb_archive, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("GRU_SENTIMENT_HOME", str(home))
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(imdb_archive.read_bytes()[: imdb_archive.stat().st_size // 2])
    with pytest.raises(DataError, match="truncated or corrupt"):
        imdb.resolve_imdb_root(broken)
    # nothing but the (hidden) lock file of that archive
    assert [p.name for p in (home / "datasets").iterdir() if not p.name.endswith(".lock")] == []


def test_member_escaping_the_target_is_refused(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        payload = b"owned"
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(DataError, match="unsafe member"):
        imdb.resolve_imdb_root(archive)
    assert not (tmp_path / "escaped.txt").exists()


def test_folder_without_layout_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no train/ and test/"):
        imdb.resolve_imdb_root(tmp_path)


def test_no_network_says_where_to_put_the_archive(tmp_path, monkeypatch):
    monkeypatch.setattr(imdb, "IMDB_URL", "http://127.0.0.1:9/aclImdb_v1.tar.gz")
    with pytest.raises(DataError, match="Put aclImdb_v1.tar.gz at .*aclImdb_v1.tar.gz"):
        imdb.download_imdb(tmp_path / "aclImdb_v1.tar.gz")
    assert [p.name for p in tmp_path.iterdir()] == [".aclImdb_v1.tar.gz.lock"]


def test_validation_is_stratified_seeded_and_disjoint(imdb_dir):
    train = load(imdb_dir)["train"]
    kept, held = corpora.train_validation(train, 0.25, seed=7)
    again, _ = corpora.train_validation(train, 0.25, seed=7)
    assert kept.ids == again.ids
    assert not set(kept.ids) & set(held.ids)
    assert len(held) == 10 and held.labels.sum() == 5


def test_csv_and_jsonl_corpora_load(tmp_path):
    rows = [{"review": f"text {i}", "stars": "positive" if i % 2 else "0"} for i in range(20)]
    rows.append({"review": "  ", "stars": "1"})
    rows.append({"review": "bad label", "stars": "maybe"})
    jsonl = tmp_path / "corpus.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows))
    csv_path = tmp_path / "corpus.csv"
    csv_path.write_text("review,stars\n" + "\n".join(f"{r['review']},{r['stars']}" for r in rows))
    for path in (jsonl, csv_path):
        corpus = splits.load_corpus(path, text_column="review", label_column="stars")
        assert len(corpus["train"]) + len(corpus["test"]) == 20
        assert len(corpus["test"]) == 4
        assert sum(corpus.skipped.values()) == 2
        assert set(np.concatenate([corpus["train"].labels, corpus["test"].labels])) == {0, 1}


def test_table_with_missing_column_names_the_columns(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("body,label\nhello,1\n")
    with pytest.raises(DataError, match="no column 'text' \\(columns: body, label\\)"):
        splits.load_corpus(path)


def test_subsample_is_stratified(imdb_dir):
    train = load(imdb_dir)["train"]
    small = corpora.subsample(train, 10, seed=1)
    assert len(small) == 10 and small.labels.sum() == 5


def write_csv(path, rows, header=("text", "label")):
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_one_class_training_set_is_refused_before_a_run_is_written(tmp_path):
    from gru_sentiment.train.baseline import run_baseline

    path = write_csv(tmp_path / "pos.csv", [(f"good film {i}", "positive") for i in range(30)])
    refusal = "every training review is of class 'positive' .*add rows of 'negative'"
    with pytest.raises(DataError, match=refusal):
        splits.load_splits(splits.DataSpec(str(path)), seed=1, val_fraction=0.2, unlabeled=False)
    with pytest.raises(DataError, match="every training review is of class 'positive'"):
        run_baseline(tmp_path / "run", splits.DataSpec(str(path)))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "rows, val_fraction, message",
    [
        ([("a", 1), ("b", 0), ("c", 1)], 0.2, "the test split is empty .*'split'"),
        ([(f"r{i}", i % 2, "train") for i in range(20)], 0.2, "the test split is empty"),
        ([(f"r{i}", i % 2, "test") for i in range(20)], 0.2, "marks no row 'train'"),
        ([(f"r{i}", i % 2) for i in range(20)], 0.0, "validation split is empty .*fraction"),
        (
            [("a", 1, "Train"), ("b", 0, "TEST "), ("c", 1, "valid"), ("d", 0, "")],
            0.2,
            "its 'split' column holds '', 'valid'; mark each row train or test",
        ),
    ],
)
def test_empty_split_is_refused_naming_it_and_the_fix(tmp_path, rows, val_fraction, message):
    header = ("text", "label", "split")[: len(rows[0])]
    path = write_csv(tmp_path / "c.csv", rows, header=header)
    spec = splits.DataSpec(str(path))
    with pytest.raises(DataError, match=message):
        splits.load_splits(spec, seed=1, val_fraction=val_fraction, unlabeled=False)


def test_csv_fields_over_128_kib_are_read(tmp_path):
    long = "a fine film " * 17_000  # 200 KiB
    path = write_csv(tmp_path / "long.csv", [(long, 1), ("short", 0)])
    corpus = splits.load_corpus(path)
    assert sorted(corpus["train"].texts + corpus["test"].texts) == sorted([long, "short"])


def test_a_csv_field_over_the_limit_is_a_row_error(tmp_path):
    path = write_csv(tmp_path / "huge.csv", [("x" * (tables.CSV_FIELD_LIMIT + 1),), ("next",)])
    _, rows = tables.read_rows(path)
    first, second = list(rows)
    assert first.error.startswith("invalid CSV: field larger than field limit")
    assert second.text == "next"


def test_bad_csv_lines_are_row_errors_and_blank_lines_are_no_rows(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"text,label\ngood,1\n\nbad\rline,0\nfine,0\n")
    _, rows = tables.read_rows(path)
    assert [(r.text, (r.error or "")[:12]) for r in rows] == [
        ("good", ""),
        (None, "invalid CSV:"),
        ("fine", ""),
    ]


def test_csv_header_that_is_not_csv_is_an_error(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"te\rxt,label\nok,1\n")
    with pytest.raises(DataError, match="c.csv line 1: the header is not valid CSV"):
        tables.read_rows(path)


def test_jsonl_lines_that_are_not_objects_are_skipped_and_counted(tmp_path):
    good = [json.dumps({"text": f"review {i}", "label": i % 2}) for i in range(10)]
    bad = ["[1, 2]", '"text"', "3", "null", "not json", "[" * 100_000, "1" * 5000]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(good[:5] + bad + good[5:]) + "\n")
    corpus = splits.load_corpus(path)
    assert len(corpus["train"]) + len(corpus["test"]) == 10
    assert corpus.skipped == {"c.jsonl: invalid JSON": len(bad)}


def test_a_runs_data_is_found_from_another_folder(tmp_path, monkeypatch):
    """A run trained with `--data reviews.csv` in one folder, evaluated from another: the
    absolute `source` stands in for the relative path that is not here."""
    (tmp_path / "reviews.csv").write_text("text,label\n")
    record = {"data": {"path": "reviews.csv"}, "source": str(tmp_path / "reviews.csv")}
    monkeypatch.chdir(tmp_path)
    assert splits.DataSpec.of_run(record).path == "reviews.csv"  # where train ran: as recorded
    monkeypatch.chdir(tmp_path.parent)
    assert splits.DataSpec.of_run(record).path == str(tmp_path / "reviews.csv")
    assert splits.DataSpec.of_run({"data": {"path": "gone.csv"}}).path == "gone.csv"
