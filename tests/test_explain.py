"""Occlusion explanations: faithful on a model that learned the synthetic cue words."""

import json
import time

import pytest
from conftest import CLASS_CUES, NEGATIVE, POSITIVE
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.inference import explain

runner = CliRunner()


@pytest.fixture(scope="module")
def test_reviews(model):
    corpus = model.run_dir.parent / "corpus.jsonl"
    rows = [json.loads(line) for line in corpus.read_text().splitlines()]
    return [(r["text"], r["label"]) for r in rows if r["split"] == "test"][:8]


def without(text, tokens):
    """`text` with the characters of `tokens` cut out."""
    for token in sorted(tokens, key=lambda t: -t.start):
        text = text[: token.start] + text[token.end :]
    return text


@pytest.mark.backend
def test_removing_the_top_words_moves_the_prediction_the_other_way(model, test_reviews):
    for text, label in test_reviews:
        explanation = model.explain(text)
        p = explanation.prediction.probability
        assert explanation.prediction.label == ("positive" if label else "negative")
        top = explanation.top(3, positive=bool(label))
        assert len(top) == 3 and {t.text.lower() for t in top} & set(
            POSITIVE if label else NEGATIVE
        )
        least = sorted(explanation.tokens, key=lambda t: abs(t.contribution))[:3]
        p_top, p_least = (model.predict([without(text, t)])[0].probability for t in (top, least))
        if label:  # the top positive words held P(positive) up: without them it falls
            assert p_top < p and p_top < p_least
        else:
            assert p_top > p and p_top > p_least


@pytest.mark.backend
def test_a_contribution_is_the_drop_without_that_word(model):
    text = "The plot was great and the actor was awful, but I loved it!"
    explanation = model.explain(text)
    assert explanation.method == "occlusion"
    assert [t.text for t in explanation.tokens][:4] == ["The", "plot", "was", "great"]
    p = explanation.prediction.probability
    assert p == pytest.approx(model.predict([text])[0].probability, abs=1e-6)
    for token in explanation.tokens:
        assert text[token.start : token.end] == token.text and token.read
        alone = model.predict([without(text, [token])])[0].probability
        assert token.contribution == pytest.approx(p - alone, abs=1e-5)
    by_word = {t.text: t.contribution for t in explanation.tokens}
    assert by_word["great"] > 0 and by_word["loved"] > 0 and by_word["awful"] < 0


def test_words_outside_the_part_read_contribute_nothing(model):
    words = ["great"] * 10 + ["the"] * 60 + ["awful"] * 10  # 81 ids > max_len 48
    text = " ".join(words)
    head, tail = model.explain(text, long="head"), model.explain(text, long="tail")
    assert head.prediction.truncated and len(head.tokens) == 80
    assert [t.read for t in head.tokens] == [True] * 47 + [False] * 33  # start token + 47
    assert [t.read for t in tail.tokens] == [False] * 32 + [True] * 48
    assert all(t.contribution == 0 for t in head.tokens if not t.read)
    assert head.prediction.probability > tail.prediction.probability  # "great" vs "awful"


def test_at_most_max_tokens_are_scored_in_text_order(model):
    text = " ".join(["great"] * 40 + ["awful"] * 40)  # the GRU reads the last 48 ids
    capped = explain.occlusion(model, text, "tail", max_tokens=10)
    contributions = [t.contribution for t in capped.tokens]
    assert contributions[:32] == [0.0] * 32  # never read: 0 without scoring
    assert None not in contributions[32:42] and contributions[42:] == [None] * 38
    assert "Only 10 tokens were scored" in capped.note
    full = model.explain(text, long="tail")
    assert contributions[32:42] == [t.contribution for t in full.tokens[32:42]]
    assert "Only" not in full.note
    # Unscored tokens are shown uncoloured, and the note says why.
    assert all(t.contribution is not None for t in capped.top(80) + capped.top(80, False))
    assert "Only 10 tokens" in explain.to_ansi(capped) and "Only 10" in explain.to_html(capped)


def test_batches_of_copies_give_the_same_contributions(model, monkeypatch):
    text = "The plot was great and the actor was awful, but I loved it!"
    whole = model.explain(text)
    monkeypatch.setattr(explain, "BATCH", 3)  # 15 tokens: 5 batches
    batched = model.explain(text)
    for a, b in zip(whole.tokens, batched.tokens, strict=True):
        assert a.contribution == pytest.approx(b.contribution, abs=1e-5)


def test_an_explanation_past_its_deadline_stops(model):
    with pytest.raises(TimeoutError, match="stopped after 0 of 3 tokens"):
        explain.occlusion(model, "great film indeed", "head", deadline=time.monotonic())


def test_unusable_text_is_refused(model):
    with pytest.raises(ValueError, match="empty text"):
        model.explain("  ")


def test_cli_shows_colours_the_method_and_writes_html(model, tmp_path):
    page = tmp_path / "why.html"
    text = "A great story, but awful acting <b>&</b>"
    result = runner.invoke(
        app, ["explain", str(model.run_dir), text, "--html", str(page), "--top", "2"], color=True
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "\x1b[48;2;" in out  # coloured backgrounds on a terminal
    assert 'towards positive: "great" (+' in out and 'towards negative: "awful" (-' in out
    assert "Contributions by occlusion" in out
    html = page.read_text()
    assert "occlusion" in html and 'title="+' in html and "background:rgb(" in html
    assert "<b>" not in html and "&amp;" in html  # the review is escaped, never markup
    plain = runner.invoke(app, ["explain", str(model.run_dir), "-"], input="awful film")
    assert plain.exit_code == 0 and "\x1b[" not in plain.stdout
    assert plain.stdout.startswith("negative (P(positive) = ")


def test_cli_help_names_the_method_and_empty_text_fails(model):
    help_text = runner.invoke(app, ["explain", "--help"]).output
    assert "OCCLUSION" in help_text
    result = runner.invoke(app, ["explain", str(model.run_dir), " "])
    assert result.exit_code == 2 and "empty text" in result.output


def test_cli_prints_a_reviews_escape_sequences_inert(model):
    hostile = "great film \x1b]0;pwned\x07 \x1b[2J\nsecond line"
    result = runner.invoke(app, ["explain", str(model.run_dir), hostile])
    assert result.exit_code == 0, result.output
    own = result.output.replace("\x1b[0m", "").replace("\x1b[38;2;0;0;0m", "")
    assert "\x1b]" not in own and "\x1b[2J" not in own and "\x07" not in own
    assert "\\x1b]0;pwned\\x07 \\x1b[2J\nsecond" in own.replace("\x1b[48;2;", "")


def test_cli_explains_a_binary_run_towards_negative_on_request(model):
    args = ["explain", str(model.run_dir), "great story, awful acting", "--top", "1"]
    result = runner.invoke(app, [*args, "--target-class", "negative"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "explained: P(negative) = " in out.splitlines()[0]
    assert 'towards negative: "awful" (+' in out and 'towards positive: "great" (-' in out
    assert "how much P(negative) drops" in out


@pytest.fixture(scope="module")
def multi(multiclass_run):
    from gru_sentiment import SentimentModel

    return SentimentModel.load(multiclass_run)


MIXED = "the guitar and the song, then a goal"  # music, with one word of sport


@pytest.mark.backend
def test_multiclass_contributions_are_drops_of_the_target_class(multi):
    default = multi.explain(MIXED)
    assert default.prediction.label == default.target_class == "music"
    for target in ("music", "sport"):
        explanation = multi.explain(MIXED, target_class=target)
        assert explanation.target_class == target and f"P({target})" in explanation.note
        p = explanation.prediction.probabilities[target]
        for token in explanation.tokens:
            alone = multi.predict([without(MIXED, [token])])[0].probabilities[target]
            assert token.contribution == pytest.approx(p - alone, abs=1e-5)
        assert explanation.top(1)[0].text in CLASS_CUES[target]
    assert default.tokens == multi.explain(MIXED, target_class="music").tokens
    with pytest.raises(ValueError, match="unknown class 'rock': the run's classes are cooking"):
        multi.explain(MIXED, target_class="rock")


def test_cli_explain_target_class_on_a_multiclass_run(multi, tmp_path):
    run = str(multi.run_dir)
    default = runner.invoke(app, ["explain", run, MIXED, "--top", "2"])
    assert default.exit_code == 0, default.output
    assert default.stdout.startswith("music (P(music) = ")
    assert "towards music: " in default.stdout and "away from music: " in default.stdout

    page = tmp_path / "why.html"
    args = ["explain", run, MIXED, "--target-class", "sport", "--html", str(page)]
    sport = runner.invoke(app, args)
    assert sport.exit_code == 0, sport.output
    first = sport.stdout.splitlines()[0]
    assert first.startswith("music (P(music) = ") and "; explained: P(sport) = " in first
    assert 'towards sport: "goal" (+' in sport.stdout
    assert 'away from sport: "' in sport.stdout
    assert "how much P(sport) drops" in sport.stdout
    assert "Green: towards sport; red: away from sport." in page.read_text()

    unknown = runner.invoke(app, ["explain", run, MIXED, "--target-class", "jazz"])
    assert unknown.exit_code == 2
    assert unknown.output.strip() == (
        "gru-sentiment: error: unknown class 'jazz': the run's classes are cooking, music, sport"
    )
