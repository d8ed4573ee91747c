"""Search spaces: which Config fields `tune` varies and over what, read from a YAML or
JSON file (default_space.yaml beside this module: the recurrent / hybrid family).

Each key is a Config path (`network.units`; the flat names before the sections still
work); its value a list of choices, or a range {low, high} of the field's type (int or
float), with `log: true` for a log scale. Every choice and both ends of a range are
checked against the base config before any trial starts.
"""

from __future__ import annotations

from pathlib import Path

from ..config import Config, knob_at, old_names
from ..errors import ConfigError
from .presets import read_mapping

DEFAULT_SPACE = Path(__file__).with_name("default_space.yaml")
FIXED = ("preset", "seed")  # a run's origin, and what --seeds varies
RANGE_KEYS = {"low", "high", "log"}


def load_space(path: Path | None, base: Config) -> dict:
    """The space of the file at `path` (None: the default), checked against `base`."""
    space = {old_names().get(k, k): v for k, v in read_mapping(path or DEFAULT_SPACE).items()}
    for name, values in space.items():
        where = f"{path or DEFAULT_SPACE}: {name}"
        if name in FIXED or not _is_field(name):
            raise ConfigError(f"{where} is not a Config field a search can vary")
        if isinstance(values, dict):
            if set(values) - RANGE_KEYS or not {"low", "high"} <= set(values):
                raise ConfigError(f"{where}: a range is {{low, high}}, with log optional")
            if knob_at(name).kind not in (int, float) or values["low"] >= values["high"]:
                raise ConfigError(f"{where}: a range needs a number field and low < high")
            values = [values["low"], values["high"]]
        elif not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: give a list of choices or a range {{low, high}}")
        for value in values:
            try:
                base.set({name: value}).validate()
            except (ConfigError, TypeError) as err:
                raise ConfigError(f"{where}: {err}") from None
    return space


def distributions(space: dict) -> dict:
    """The space as Optuna distributions (what OptunaSearch samples from)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    found = {}
    for name, values in space.items():
        if isinstance(values, list):
            found[name] = CategoricalDistribution(values)
        else:
            kind = IntDistribution if knob_at(name).kind is int else FloatDistribution
            found[name] = kind(values["low"], values["high"], log=bool(values.get("log")))
    return found


def _is_field(path: str) -> bool:
    """Whether `path` names a field (not a section) of the config."""
    try:
        return "section" not in knob_at(path).field.metadata
    except ConfigError:
        return False
