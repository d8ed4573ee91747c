"""Language-model pretraining: it learns, it resumes, it is cached, it never reads test
texts, and the classifier starts from exactly its weights."""

import json

import numpy as np
import pytest
from conftest import TINY, make_jsonl
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.config import preset
from gru_sentiment.data.text import RESERVED, TextEncoder
from gru_sentiment.io import runs
from gru_sentiment.train import pretrain as pretraining

runner = CliRunner()
# A tiny LM: 8 GRU units, 32-token windows, 32 sampled words, 1,000 tokens per chunk.
LM = preset("recurrent").set(
    {
        "text.vocab_size": 100,
        "network.embed_dim": 8,
        "network.units": 8,
        "init.lm.seq_len": 32,
        "init.lm.batch_size": 16,
        "init.lm.samples": 32,
        "init.lm.tokens": 24_000,
        "init.lm.learning_rate": 0.01,
    }
)


# Text with an order to learn: each review walks a fixed cycle of words from a random
# start, so the next (and the previous) word is always predictable, the unigram never.
CYCLE = "the plot of this film was great and the acting felt moving but the ending dragged"


def cyclic_review(rng: np.random.Generator, shortest: int = 20, longest: int = 60) -> str:
    words = CYCLE.split()
    start, length = int(rng.integers(len(words))), int(rng.integers(shortest, longest))
    return " ".join(words[(start + i) % len(words)] for i in range(length))


@pytest.fixture(scope="module")
def texts():
    rng = np.random.default_rng(0)
    labeled = [cyclic_review(rng) for _ in range(300)]
    # Few, long unlabeled reviews: 1% held out is one review (every finished LM samples a
    # continuation of each held-out review, one forward pass a token), and the stream still
    # holds more than lm_tokens.
    unlabeled = [cyclic_review(rng, 120, 180) for _ in range(100)]
    return labeled, unlabeled


@pytest.fixture(scope="module")
def encoded(texts):
    labeled, unlabeled = texts
    encoder = TextEncoder.fit(labeled, LM.text.vocab_size)
    ids = encoder.encode(labeled)
    # The test split holds one id no other split has: it must never reach the LM.
    test = [np.full(20, LM.text.vocab_size - 1, np.int32)]
    return encoder, {
        "train": ids[:240],
        "validation": ids[240:],
        "test": test,
        "unlabeled": encoder.encode(unlabeled),
    }


@pytest.fixture(scope="module")
def lm_folder(encoded, tmp_path_factory):
    encoder, ids = encoded
    return pretraining.pretrain(LM, encoder, ids, tmp_path_factory.mktemp("lm") / "lm")


def test_the_corpus_is_train_validation_and_unlabeled_never_test(encoded):
    _, ids = encoded
    corpus = pretraining.lm_corpus(ids)
    every = np.concatenate(corpus.train + corpus.held_out)
    assert LM.text.vocab_size - 1 not in every  # the test split's id
    assert len(corpus.train) + len(corpus.held_out) == 240 + 60 + 100
    assert corpus.held_out == ids["unlabeled"][-1:]  # 1% of the unlabeled, held out


def test_every_seeds_split_of_the_same_reviews_shares_one_lm(encoded):
    encoder, ids = encoded
    labeled = ids["train"] + ids["validation"]
    other_seed = {**ids, "train": labeled[60:], "validation": labeled[:60]}
    keys = {pretraining.lm_key(LM, encoder, pretraining.lm_corpus(s)) for s in (ids, other_seed)}
    assert len(keys) == 1


def test_pretraining_beats_the_unigram_baseline(lm_folder, encoded):
    _, ids = encoded
    held_out = np.concatenate(pretraining.lm_corpus(ids).held_out)
    counts = np.bincount(np.concatenate(pretraining.lm_corpus(ids).train), minlength=100) + 1
    unigram = np.exp(-np.mean(np.log(counts[held_out] / counts.sum())))
    history = pretraining.lm_summary(lm_folder)["history"]
    assert history[-1]["forward"] < 0.5 * unigram and history[-1]["backward"] < 0.5 * unigram
    assert history[-1]["forward"] < history[0]["forward"]
    assert history[-1]["tokens"] == 24_000 - 24_000 % (16 * 32)
    runs.verify(lm_folder, (runs.CONFIG, runs.TOKENIZER, pretraining.WEIGHTS))
    assert (lm_folder / runs.PLOTS / "perplexity.png").exists()
    assert not (lm_folder / runs.CHECKPOINTS).exists()


def test_a_second_call_reuses_the_cache(encoded, tmp_path, monkeypatch):
    encoder, ids = encoded
    monkeypatch.setenv("GRU_SENTIMENT_HOME", str(tmp_path))
    cfg = LM.set({"init.lm.tokens": 2000})
    first = pretraining.pretrain(cfg, encoder, ids)
    lines = []
    assert pretraining.pretrain(cfg, encoder, ids, log=lines.append) == first
    assert lines == [f"using the cached language model {first}"]
    assert first.parent == tmp_path / "lm"


def test_a_killed_pretraining_resumes_from_its_last_chunk(encoded, tmp_path, monkeypatch):
    encoder, ids = encoded
    monkeypatch.setattr(pretraining, "CHUNK_TOKENS", 2048)

    def killed_after_a_chunk(line: str) -> None:
        if line.startswith("LM "):
            raise KeyboardInterrupt

    out = tmp_path / "lm"
    with pytest.raises(KeyboardInterrupt):
        pretraining.pretrain(
            LM.set({"init.lm.tokens": 8192}), encoder, ids, out, killed_after_a_chunk
        )
    assert not runs.is_complete(out)
    lines = []
    pretraining.pretrain(LM.set({"init.lm.tokens": 8192}), encoder, ids, out, lines.append)
    assert "resuming the language model after 2,048 tokens" in lines
    assert [row["tokens"] for row in pretraining.lm_summary(out)["history"]] == [
        2048,
        4096,
        6144,
        8192,
    ]


def test_the_classifier_starts_from_the_lm_weights(lm_folder, encoded):
    from gru_sentiment.model.language_model import transfer
    from gru_sentiment.model.networks import build_model

    encoder, _ = encoded
    lm = pretraining.load_lm(lm_folder, LM, encoder)
    classifier = build_model(LM)
    transfer(lm, classifier)
    for mine, theirs in zip(
        classifier.get_layer("encoder").get_weights(), lm.encoder.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(
        classifier.get_layer("embedding").get_weights()[0], lm.embedding.get_weights()[0]
    )


def test_the_lm_continues_a_prefix_as_its_full_softmax_does(lm_folder, encoded):
    from gru_sentiment.model.language_model import continue_text

    encoder, ids = encoded
    lm = pretraining.load_lm(lm_folder, LM, encoder)
    prefix = ids["validation"][0][:5]  # <start> and 4 words
    greedy = continue_text(lm, prefix, 4, top_k=1)
    assert list(greedy[:5]) == list(prefix)
    for t in range(5, 9):  # each step: the argmax of the full softmax on exactly greedy[:t]
        logits = np.array(lm.logits(greedy[None, :t]))[0, -1, 0]
        logits[: len(RESERVED)] = -np.inf
        assert greedy[t] == logits.argmax()
    # It learned the cycle: after 4 words of each validation review, the full softmax's
    # argmax is mostly the review's 5th word (chance: 1 in the cycle's 14 distinct words).
    reviews = [seq for seq in ids["validation"] if len(seq) > 5]
    logits = np.array(lm.logits(np.stack([seq[:5] for seq in reviews])))[:, -1, 0]  # (n, V)
    logits[:, : len(RESERVED)] = -np.inf
    right = logits.argmax(axis=1) == np.array([seq[5] for seq in reviews])
    assert right.mean() > 1 / 3, f"{right.sum()} of {len(reviews)} next words right"


def test_an_lm_of_another_vocabulary_or_shape_is_refused(lm_folder, texts):
    from gru_sentiment.errors import ConfigError, RunError

    other = TextEncoder.fit(texts[1][:50], LM.text.vocab_size)
    with pytest.raises(RunError, match="another vocabulary"):
        pretraining.load_lm(lm_folder, LM, other)
    with pytest.raises(ConfigError, match="network.units=8, the classifier network.units=16"):
        pretraining.load_lm(lm_folder, LM.set({"network.units": 16}), other)


@pytest.mark.backend
def test_train_with_lm_reloads_and_predicts_identically(tmp_path):
    from gru_sentiment import SentimentModel

    corpus = make_jsonl(tmp_path / "corpus.jsonl")
    small = [
        "--set",
        "init.lm.seq_len=16",
        "--set",
        "init.lm.batch_size=8",
        "--set",
        "init.lm.samples=16",
    ]
    args = ["--data", str(corpus), *TINY, *small]
    result = runner.invoke(app, ["pretrain", *args, "--out", str(tmp_path / "lm"), "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert "held-out perplexity" in result.output and "tokens/s" in result.output
    # A complete LM of other settings in --out is replaced only with --force.
    other = ["pretrain", *args, "--out", str(tmp_path / "lm"), "--epochs", "2"]
    refused = runner.invoke(app, other)
    assert refused.exit_code == 2 and "complete run; pass --force" in refused.output
    run_dir = tmp_path / "run"
    train = ["train", "--preset", "recurrent", *args, "--epochs", "1", "--out", str(run_dir)]
    result = runner.invoke(app, [*train, "--lm", str(tmp_path / "lm")])
    assert result.exit_code == 0, result.output
    record = json.loads((run_dir / "lm.json").read_text())
    assert record["folder"] == str(tmp_path / "lm") and record["history"]
    model = SentimentModel.load(run_dir)
    texts = ["great wonderful film", "awful boring plot"]
    again = SentimentModel.load(run_dir)
    assert [p.probability for p in model.predict(texts)] == [
        p.probability for p in again.predict(texts)
    ]
    assert json.loads((run_dir / "config.json").read_text())["config"]["init"]["lm"] is not None
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0 < metrics["encoder_params"] < metrics["params"]
    report = (run_dir / "report.html").read_text()  # shows the LM: its curve and samples
    assert 'id="language-model"' in report and 'id="lm-samples"' in report


def test_train_refuses_an_lm_folder_that_is_not_one(tmp_path, corpus_jsonl):
    args = [
        "train",
        "--data",
        str(corpus_jsonl),
        "--lm",
        str(tmp_path),
        "--out",
        str(tmp_path / "r"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "not a complete language-model folder" in result.output


def test_a_pretraining_killed_before_its_first_checkpoint_starts_again(encoded, tmp_path):
    encoder, ids = encoded

    def killed_at_the_start(line: str) -> None:
        if line.startswith("language model:"):
            raise KeyboardInterrupt

    out, cfg = tmp_path / "lm", LM.set({"init.lm.tokens": 2048})
    with pytest.raises(KeyboardInterrupt):
        pretraining.pretrain(cfg, encoder, ids, out, killed_at_the_start)
    lines = []
    pretraining.pretrain(cfg, encoder, ids, out, lines.append)
    assert runs.is_complete(out) and not any(line.startswith("resuming") for line in lines)
