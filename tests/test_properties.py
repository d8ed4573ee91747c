"""Property tests: the table readers on any bytes and on round-tripped rows, the length
fitting and padding of token ids, the tokenizer, and the hashed n-grams of the hybrid."""

from __future__ import annotations

import csv
import json

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gru_sentiment.config import KEEP
from gru_sentiment.data import splits, tables
from gru_sentiment.data.text import START_ID, TextEncoder, fit_length, pad
from gru_sentiment.errors import DataError
from gru_sentiment.model.linear import ngram_features

# tmp_path is shared by a test's examples: each example overwrites the same file.
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SUFFIXES = (".txt", ".csv", ".jsonl")

# Pieces of CSV and JSONL, valid or broken, so that random files hit their edge cases.
FRAGMENTS = [
    b"text", b"label", b",", b'"', b"\n", b"\r", b"\r\n", b"{", b"}", b"[", b"]", b":",
    b'"text": ', b'"label": 1', b"1", b"0", b"positive", b"null", b" ", b"\x00", b"\xff",
    b"\xef\xbb\xbf", b"\xc3\xa9", b"\\", b"[[[[[[[[[[",
]  # fmt: skip
ANY_BYTES = st.one_of(
    st.binary(max_size=200),
    st.tuples(
        st.sampled_from([b"", b"text,label\n", b"label,text,split\n"]),
        st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(b"".join),
    ).map(b"".join),
)
TEXT = st.text(max_size=30)


# Bytes that crashed the readers once: a carriage return inside an unquoted CSV field,
# JSON nested past Python's recursion limit, a number of over 4,300 digits.
CRASHED = [
    (b"text,label\nbad\rline,1\n", ".csv"),
    (b"[" * 100_000, ".jsonl"),
    (b'{"text": "a", "label": ' + b"1" * 5000 + b"}", ".jsonl"),
]


def crashed(test):
    for data, suffix in CRASHED:
        test = example(data=data, suffix=suffix)(test)
    return test


@SETTINGS
@crashed
@given(data=ANY_BYTES, suffix=st.sampled_from(SUFFIXES))
def test_readers_give_rows_or_row_errors_on_any_bytes(tmp_path, data, suffix):
    path = tmp_path / f"any{suffix}"
    path.write_bytes(data)
    try:
        columns, rows = tables.read_rows(path)
    except DataError:
        return  # a CSV without a usable header
    assert all(isinstance(c, str) for c in columns)
    rows = list(rows)
    for row in rows:
        assert isinstance(row.values, dict)
        if row.error is None:
            assert tables.text_error(row.text) is None
        else:
            assert isinstance(row.error, str) and "\n" not in row.error
    if suffix == ".txt":
        return
    try:
        corpus = tables.load_table(path)
    except DataError:
        return
    # Every row is used or counted as skipped: none lost, none invented.
    used = len(corpus["train"]) + len(corpus["test"])
    assert used + sum(corpus.skipped.values()) == len(rows)


@SETTINGS
@crashed
@given(data=ANY_BYTES, suffix=st.sampled_from((".csv", ".jsonl")))
def test_loading_splits_from_any_bytes_gives_splits_or_a_data_error(tmp_path, data, suffix):
    path = tmp_path / f"any{suffix}"
    path.write_bytes(data)
    try:
        loaded = splits.load_splits(splits.DataSpec(str(path)), 1, 0.2, unlabeled=False)
    except DataError as err:
        assert "\n" not in str(err)
        return
    assert all(loaded.sizes().values())
    assert set(loaded.train.labels.tolist()) == {0, 1}


@SETTINGS
@given(rows=st.lists(st.tuples(TEXT, TEXT, TEXT), max_size=8))
def test_csv_rows_round_trip(tmp_path, rows):
    header = ["text", "label", "note"]
    path = tmp_path / "rows.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    columns, read = tables.read_rows(path)
    read = list(read)
    assert columns == header
    assert [r.values for r in read] == [dict(zip(header, row, strict=True)) for row in rows]
    assert [r.text for r in read] == [text for text, _, _ in rows]


JSON_ROW = st.fixed_dictionaries(
    {"text": TEXT, "label": st.sampled_from([0, 1, "pos", "neg"])},
    optional={"id": st.integers(), "note": TEXT},
)


@SETTINGS
@given(rows=st.lists(JSON_ROW, min_size=1, max_size=8))
def test_jsonl_rows_round_trip(tmp_path, rows):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    columns, read = tables.read_rows(path)
    read = list(read)
    assert columns == list(rows[0])
    assert [r.values for r in read] == rows
    assert [r.text for r in read] == [r["text"] for r in rows]


LINE = st.text(st.characters(codec="utf-8", exclude_characters="\n\r\ufeff"), max_size=30)


@SETTINGS
@given(texts=st.lists(LINE))
def test_text_lines_round_trip(tmp_path, texts):
    path = tmp_path / "lines.txt"
    path.write_text("".join(t + "\n" for t in texts), "utf-8")
    columns, read = tables.read_rows(path)
    assert columns == ["text"]
    assert [r.text for r in read] == texts


IDS = st.lists(st.integers(0, 10_000), max_size=60).map(lambda ids: np.array(ids, np.int32))


@settings(max_examples=200, deadline=None)
@given(seq=IDS, max_len=st.integers(1, 40), keep=st.sampled_from(KEEP))
def test_fit_length_keeps_a_head_a_tail_or_both(seq, max_len, keep):
    out = fit_length(seq, max_len, keep)
    n = min(len(seq), max_len)
    assert len(out) == n
    if len(seq) <= max_len:
        assert out.tolist() == seq.tolist()
        return
    head = {"head": n, "tail": 0, "head+tail": max_len // 2}[keep]
    assert out[:head].tolist() == seq[:head].tolist()
    assert out[head:].tolist() == seq[len(seq) - (n - head) :].tolist()


@settings(max_examples=100, deadline=None)
@given(
    seqs=st.lists(IDS, max_size=6),
    max_len=st.integers(1, 40),
    padding=st.sampled_from(["post", "pre"]),
    keep=st.sampled_from(KEEP),
)
def test_pad_puts_the_kept_ids_on_one_side_and_zeros_on_the_other(seqs, max_len, padding, keep):
    out = pad(seqs, max_len, padding, keep)
    assert out.shape == (len(seqs), max_len) and out.dtype == np.int32
    for row, seq in zip(out, seqs, strict=True):
        kept = fit_length(seq, max_len, keep).tolist()
        room = max_len - len(kept)
        if padding == "post":
            assert row.tolist() == kept + [0] * room
        else:
            assert row.tolist() == [0] * room + kept


ENCODER = TextEncoder.fit(["a good film, a great cast", "a dull film <br /> don't"], 12)


@settings(max_examples=100, deadline=None)
@example(texts=["a <pad> in a review", "<start><unk><unused>"])
@given(texts=st.lists(st.text(max_size=40), min_size=1, max_size=5))
def test_encoder_gives_a_start_token_then_one_id_in_range_per_word(texts):
    encoded = ENCODER.encode(texts)
    for text, ids in zip(texts, encoded, strict=True):
        assert ids[0] == START_ID
        assert len(ids) == len(ENCODER.tokens(text)) + 1
        assert ((ids >= 1) & (ids < ENCODER.vocab_size)).all()  # never the padding id
        assert ids.tolist() == ENCODER.encode([text])[0].tolist()  # alone as in a batch


SEQS = st.lists(
    st.lists(st.integers(0, 2**20), max_size=12).map(lambda ids: np.array(ids, np.int32)),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(seqs=SEQS, ngram_max=st.integers(1, 6), bits=st.integers(0, 22))
def test_hashed_ngrams_are_binary_in_range_and_the_same_for_the_same_ids(seqs, ngram_max, bits):
    n_features = 2**bits
    x = ngram_features(seqs, ngram_max, n_features)
    assert x.shape == (len(seqs), n_features)
    assert set(x.data) <= {1.0}
    assert ((x.indices >= 0) & (x.indices < n_features)).all()
    again = ngram_features([s.copy() for s in seqs], ngram_max, n_features)
    assert (x != again).nnz == 0
    for i, seq in enumerate(seqs):
        alone = ngram_features([seq], ngram_max, n_features)
        assert (x[i] != alone).nnz == 0  # neighbours in the batch change nothing
        assert (x[i].nnz > 0) == (len(seq) > 0)


NAMES = st.sampled_from(
    ["text", "predicted", "model_predicted", "model_predicted_2", "probability", "p_a", "kept"]
)


@given(columns=st.lists(NAMES | st.text(max_size=8), unique=True, max_size=8))
def test_prediction_columns_never_take_an_input_columns_name(columns):
    """Every input column stays as it was; no output name repeats (Parquet refuses it)."""
    from gru_sentiment.inference.scoring import output_columns, output_names

    outputs = output_columns(["a", "b", "c"])
    names = output_names(columns, outputs)
    assert set(names) == set(outputs)
    assert not set(names.values()) & set(columns)
    assert len(set(names.values())) == len(outputs)
