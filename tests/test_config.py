"""Config: sections checked field by field from each knob's rule, overrides typed from
the annotations, old flat names and old run layouts still read, run keys unchanged."""

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from gru_sentiment.cli.app import app
from gru_sentiment.config import PRESETS, Config, knobs, old_names, parse_overrides, preset
from gru_sentiment.errors import ConfigError, DataError, RunError
from gru_sentiment.io import runs

FIXTURES = Path(__file__).parent / "fixtures" / "configs"
RECORDS = Path(__file__).parents[1] / "experiments" / "records"


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"network.arch": "conv_gru", "network.conv_filters": 0},
            "conv_filters must be in [1, 4,096], got 0",
        ),
        (
            {"network.arch": "conv_gru", "network.conv_kernel": 0},
            "conv_kernel must be in [1, 1,000]",
        ),
        (
            {"network.arch": "conv_gru", "network.conv_kernel": 300},
            "conv_kernel must not exceed text.max_len",
        ),
        ({"init.word2vec_epochs": 0}, "init.word2vec_epochs must be in"),
        ({"fit.min_lr": 0.0}, "fit.min_lr must be in"),
        ({"fit.learning_rate": float("nan")}, "fit.learning_rate must be in [1e-08, 10], got nan"),
        ({"fit.learning_rate": float("inf")}, "fit.learning_rate must be in"),
        ({"text.max_len": 10**9}, "text.max_len must be in [1, 100,000]"),
        ({"seed": -1}, "seed must be in"),
        ({"distill.unlabeled": -5}, "distill.unlabeled must be in"),
        (
            {"init.lm": True, "text.vocab_size": 100},
            "init.lm.samples must be below text.vocab_size",
        ),
        ({"init.lm": True, "network.cell": "lstm"}, "init.lm needs network.cell=gru"),
        ({"fit.lr_factor": 1.5}, "fit.lr_factor must be in (0, 1)"),
        ({"fit.lr_factor": float("nan")}, "fit.lr_factor must be in (0, 1)"),
        ({"fit.val_fraction": 0.0}, "fit.val_fraction must be in (0, 1)"),
        ({"network.dropout": float("nan")}, "network.dropout must be in [0, 1)"),
        ({"network.dropout": 1.0}, "network.dropout must be in [0, 1)"),
        ({"text.max_len": "200"}, "text.max_len must be an int, got '200'"),
        ({"network.mask": 1}, "network.mask must be a bool, got 1"),
        ({"network.units": True}, "network.units must be an int, got True"),
        ({"init.vectors": 3}, "init.vectors must be a str or null"),
        ({"fit.min_lr": 0.1}, "fit.min_lr (0.1) exceeds fit.learning_rate"),
        ({"text.keep": "middle"}, "text.keep must be one of head, tail, head+tail"),
        (
            {"text.padding": "pre", "network.mask": True},
            "network.mask=true needs text.padding=post",
        ),
        ({"network.units2": 8, "network.arch": "pooled"}, "network.units2 is read only by arch"),
        ({"network.pooling": "max"}, "network.pooling is read only by arch pooled; arch stacked"),
        ({"fit.finetune.unfreeze": "sometimes"}, "fit.finetune.unfreeze must be one of"),
    ],
)
def test_every_field_is_checked(change, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        Config().set(change).validate()


def test_presets_are_valid_and_their_optional_sections_off_unless_used():
    for cfg in PRESETS.values():
        assert cfg.validate() is cfg
        assert cfg.init.lm is None and cfg.fit.finetune is None
    assert PRESETS["tutorial"].distill is None
    assert PRESETS["student"].distill.teacher == "hybrid"


def test_optional_sections_turn_on_with_a_field_and_off_as_a_whole():
    cfg = Config().set({"distill.teacher": "hybrid"})
    assert cfg.distill.unlabeled == 30_000 and cfg.distill.teacher == "hybrid"
    assert cfg.set({"distill": False}).distill is None
    assert Config().set({"init.lm": True}).init.lm.tokens == 6_000_000
    with pytest.raises(ConfigError, match="init is a section"):
        Config().set({"init": 3})
    with pytest.raises(ConfigError, match="unknown config field 'text.colour'"):
        Config().set({"text.colour": "red"})


def test_overrides_convert_to_the_field_type():
    cfg = parse_overrides(
        preset("tutorial"),
        ["network.units=8", "network.dropout=0.1", "network.mask=yes", "init.vectors=none"],
    )
    assert (cfg.network.units, cfg.network.dropout, cfg.network.mask) == (8, 0.1, True)
    assert cfg.init.vectors is None
    cfg = parse_overrides(cfg, ["text.keep=tail", "fit.lr-factor=0.25", "init.lm=on"])
    assert (cfg.text.keep, cfg.fit.lr_factor, cfg.init.lm.samples) == ("tail", 0.25, 512)
    assert parse_overrides(cfg, ["init.lm=off"]).init.lm is None


def test_old_flat_names_still_work_with_a_note_naming_the_new_path():
    notes = []
    cfg = parse_overrides(
        preset("hybrid"), ["max_len=300", "distill_unlabeled=0", "pretrain_lm=true"], notes.append
    )
    assert cfg.text.max_len == 300 and cfg.distill is None and cfg.init.lm is not None
    assert notes[0] == (
        "note: --set max_len is now --set text.max_len (the old name goes in the next release)"
    )
    assert len(notes) == 3


@pytest.mark.parametrize(
    "assignment, message",
    [
        ("network.units=eight", "network.units expects an int, got 'eight'"),
        ("network.mask=maybe", "network.mask expects true or false"),
        ("colour=red", "--set expects FIELD=VALUE"),
        ("network.units", "--set expects FIELD=VALUE"),
        ("network.units=0", "network.units must be in"),
        ("fit.learning_rate=nan", "fit.learning_rate must be in"),
        ("fit.min_lr=inf", "fit.min_lr must be in"),
        ("preset=hybrid", "cannot rename the preset"),
        ("distill=maybe", "distill expects true or false"),
    ],
)
def test_bad_overrides_are_config_errors(assignment, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_overrides(preset("tutorial"), [assignment], note=lambda line: None)


NAMES = sorted({k.path for k in knobs()} | set(old_names()) | {"distill", "init.lm"})


@given(st.sampled_from(NAMES), st.text(max_size=12))
def test_any_override_of_a_real_field_is_applied_or_a_config_error(name, value):
    try:
        cfg = parse_overrides(preset("hybrid"), [f"{name}={value}"], note=lambda line: None)
    except ConfigError as err:
        assert str(err) and "\n" not in str(err)
        return
    assert cfg.validate() is cfg and Config.from_dict(cfg.to_dict()) == cfg


def test_run_config_with_an_unknown_field_is_reported():
    with pytest.raises(ConfigError, match="unknown config field.*colour"):
        Config.from_dict({**Config().to_dict(), "colour": "red"})
    sections = Config().to_dict()
    sections["fit"]["colour"] = "red"
    with pytest.raises(ConfigError, match=r"unknown config field\(s\): fit.colour"):
        Config.from_dict(sections)


def test_runs_written_in_older_flat_layouts_still_load():
    older = json.loads((FIXTURES / "2026-11-flat-truncating.json").read_text())
    cfg = Config.from_dict(older).validate()  # before keep, strip_accents, classes, distill
    assert (cfg.text.keep, cfg.network.units, cfg.distill) == ("tail", 16, None)
    flat = json.loads((FIXTURES / "2026-12-flat-hybrid.json").read_text())
    cfg = Config.from_dict(flat).validate()
    assert cfg == PRESETS["hybrid"]
    # the flat form of the keys, field for field (fields added since at their old value)
    assert runs.settled("config", cfg.identity()) == runs.settled("config", flat)


def test_sections_and_flat_layouts_name_the_same_run():
    flat = json.loads((FIXTURES / "2026-12-flat-hybrid.json").read_text())
    sections = PRESETS["hybrid"].to_dict()
    assert runs.key(sections, {"path": "x"}) == runs.key(flat, {"path": "x"})
    assert Config.from_dict(sections) == Config.from_dict(flat)


def test_committed_experiment_records_keep_their_keys():
    for path in sorted(RECORDS.glob("*.json")):
        record = json.loads(path.read_text())
        cfg = Config.from_dict(record["config"])
        key = runs.key({k: v for k, v in cfg.identity().items() if k != "seed"}, record["data"])
        assert path.name == f"{key}-seed-{cfg.seed}.json"


def test_config_command_prints_the_sections_and_json():
    result = CliRunner().invoke(app, ["config", "--preset", "hybrid"])
    assert result.exit_code == 0, result.output
    assert "[network]" in result.output and "[fit.finetune]" not in result.output
    line = next(x for x in result.output.splitlines() if " text.max_len " in x)
    assert line.startswith("*") and "400" in line and "default 200" in line
    rows = json.loads(CliRunner().invoke(app, ["config", "--json"]).output)
    by_path = {row["path"]: row for row in rows}
    assert by_path["network.units2"]["range"] == "[1, 4,096] (arch stacked or conv_gru only)"
    assert by_path["init.lm"]["value"] == "off" and by_path["fit.epochs"]["value"] == 4
    bad = CliRunner().invoke(app, ["config", "--preset", "nope"])
    assert bad.exit_code != 0 and "unknown preset 'nope'" in bad.output


@pytest.mark.parametrize(
    "error, args",
    [
        (ConfigError, ["params", "--preset", "nope"]),
        (RunError, ["evaluate", "{tmp}"]),
        (DataError, ["eda", "--data", "{tmp}/bad.jsonl", "--out", "{tmp}/eda"]),
    ],
)
def test_one_error_family(error, args, tmp_path, monkeypatch):
    """Each error class of the family reaches the user the same way: one line on stderr,
    `gru-sentiment: error: ` and the error's message, status 2, no traceback."""
    (tmp_path / "bad.jsonl").write_text('{"id": 1}\n')  # no label column
    raised = []
    init = error.__init__

    def spy(self, *a, **k):
        raised.append(self)
        init(self, *a, **k)

    monkeypatch.setattr(error, "__init__", spy)  # which class the command raised
    result = CliRunner().invoke(app, [a.format(tmp=tmp_path) for a in args])
    assert raised, f"{' '.join(args)} raised no {error.__name__}"
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"gru-sentiment: error: {raised[-1]}"]
    assert "Traceback" not in result.output
