"""Config: every field validated, overrides typed from the annotations, run configs
read strictly (an unknown field is reported, old field names still load)."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gru_sentiment.config import PRESETS, Config, parse_overrides, preset
from gru_sentiment.errors import ConfigError, GruSentimentError


@pytest.mark.parametrize(
    "change, message",
    [
        ({"conv_filters": 0}, "conv_filters must be in [1, 4096], got 0"),
        ({"conv_kernel": -3}, "conv_kernel must be in [1, 1000]"),
        ({"conv_kernel": 0}, "conv_kernel must be in [1, 1000]"),
        ({"arch": "conv_gru", "conv_kernel": 300}, "conv_kernel must not exceed max_len"),
        ({"word2vec_epochs": 0}, "word2vec_epochs must be in"),
        ({"min_lr": 0.0}, "min_lr must be in"),
        ({"learning_rate": float("nan")}, "learning_rate must be in [1e-08, 10], got nan"),
        ({"learning_rate": float("inf")}, "learning_rate must be in"),
        ({"max_len": 10**9}, "max_len must be in [1, 100000]"),
        ({"seed": -1}, "seed must be in"),
        ({"distill_unlabeled": -5}, "distill_unlabeled must be in"),
        ({"pretrain_lm": True, "vocab_size": 100}, "lm_samples must be below vocab_size"),
        ({"lr_factor": 1.5}, "lr_factor must be in (0, 1)"),
        ({"lr_factor": float("nan")}, "lr_factor must be in (0, 1)"),
        ({"dropout": float("nan")}, "dropout must be in [0, 1)"),
        ({"max_len": "200"}, "max_len must be a int, got '200'"),
        ({"mask": 1}, "mask must be a bool, got 1"),
        ({"units": True}, "units must be a int, got True"),
        ({"vectors": 3}, "vectors must be a str or null"),
        ({"min_lr": 0.1}, "min_lr (0.1) exceeds learning_rate"),
        ({"keep": "middle"}, "keep must be one of head, tail, head+tail"),
        ({"dropout": 1.0}, "dropout must be in [0, 1)"),
        ({"padding": "pre", "mask": True}, "mask=true needs padding=post"),
        ({"teacher": "hybrid"}, "set distill_unlabeled (the number of them) too"),
    ],
)
def test_every_field_is_checked(change, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        Config(**change).validate()


def test_presets_are_valid():
    for cfg in PRESETS.values():
        assert cfg.validate() is cfg


def test_overrides_convert_to_the_field_type():
    cfg = parse_overrides(
        preset("tutorial"),
        ["units=8", "dropout=0.1", "mask=yes", "vectors=none", "keep=tail", "lr-factor=0.25"],
    )
    assert (cfg.units, cfg.dropout, cfg.mask, cfg.vectors, cfg.keep) == (8, 0.1, True, None, "tail")
    assert cfg.lr_factor == 0.25
    assert parse_overrides(cfg, ["vectors=glove.txt"]).vectors == "glove.txt"


@pytest.mark.parametrize(
    "assignment, message",
    [
        ("units=eight", "units expects a int, got 'eight'"),
        ("mask=maybe", "mask expects true or false"),
        ("colour=red", "--set expects FIELD=VALUE"),
        ("units", "--set expects FIELD=VALUE"),
        ("units=0", "units must be in"),
        ("learning_rate=nan", "learning_rate must be in"),
        ("min_lr=inf", "min_lr must be in"),
        ("preset=hybrid", "cannot rename the preset"),
    ],
)
def test_bad_overrides_are_config_errors(assignment, message):
    with pytest.raises(ConfigError, match=message):
        parse_overrides(preset("tutorial"), [assignment])


@given(st.text(max_size=20), st.text(max_size=20))
def test_any_override_is_applied_or_a_config_error(name, value):
    try:
        cfg = parse_overrides(preset("tutorial"), [f"{name}={value}"])
    except ConfigError:
        return
    assert isinstance(cfg, Config)


def test_run_config_with_an_unknown_field_is_reported():
    with pytest.raises(ConfigError, match="unknown config field.*colour"):
        Config.from_dict({**Config().to_dict(), "colour": "red"})


def test_old_run_configs_name_truncation_the_old_way():
    old = {k: v for k, v in Config().to_dict().items() if k != "keep"}
    assert Config.from_dict({**old, "truncating": "pre"}).keep == "tail"
    assert Config.from_dict({**old, "truncating": "post"}).keep == "head"


def test_one_error_family():
    assert issubclass(ConfigError, GruSentimentError)
    with pytest.raises(GruSentimentError):
        preset("nope")
