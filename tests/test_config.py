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
        ({"conv_filters": 0}, "conv_filters must be positive"),
        ({"conv_kernel": -3}, "conv_kernel must be positive"),
        ({"word2vec_epochs": 0}, "word2vec_epochs must be positive"),
        ({"min_lr": 0.0}, "min_lr must be positive"),
        ({"lr_factor": 1.5}, "lr_factor must be in (0, 1)"),
        ({"min_lr": 0.1}, "min_lr (0.1) exceeds learning_rate"),
        ({"keep": "middle"}, "keep must be one of head, tail, head+tail"),
        ({"dropout": 1.0}, "dropout must be in [0, 1)"),
        ({"padding": "pre", "mask": True}, "mask=true needs padding=post"),
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
        ("units=0", "units must be positive"),
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
