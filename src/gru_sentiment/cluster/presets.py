"""Preset files: a Config's fields as JSON or YAML, what `tune` writes for its best trial
and `train --preset-file` reads; and the JSON / YAML reading a search space shares."""

from __future__ import annotations

import json
from pathlib import Path

from ..config import Config
from ..errors import ConfigError
from ..io.files import write_json

YAML_SUFFIXES = (".yaml", ".yml")


def read_mapping(path: Path) -> dict:
    """The object a .json / .yaml file holds; ConfigError in one line when it cannot."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read {path}: {err}") from None
    if path.suffix.lower() in YAML_SUFFIXES:
        try:
            import yaml
        except ImportError:
            raise ConfigError(f"{path}: reading YAML needs PyYAML (pip install pyyaml)") from None
        load, errors = yaml.safe_load, yaml.YAMLError
    else:
        load, errors = json.loads, ValueError
    try:
        values = load(text)
    except errors as err:
        reason = " ".join(str(err).split())
        raise ConfigError(
            f"{path} is not valid {path.suffix.lstrip('.').upper()}: {reason}"
        ) from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path} must hold an object of fields, not {type(values).__name__}")
    return values


def read_preset(path: Path) -> Config:
    """The validated Config of a preset file (fields it leaves out: the defaults)."""
    values = read_mapping(path)
    try:
        return Config.from_dict(values).validate()
    except (ConfigError, TypeError) as err:
        raise ConfigError(f"{path}: {err}") from None


def write_preset(path: Path, cfg: Config) -> Path:
    return write_json(path, cfg.to_dict())
