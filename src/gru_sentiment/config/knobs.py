"""A knob is a Config field that carries its own rule: its help line, its choices or
bounds, the architectures that read it, and the flat name it had before the sections.

Everything that checks, converts, lists or renames a field reads it from here, so a field
is described in one place: where it is declared.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass

from ..errors import ConfigError

TRUE_WORDS, FALSE_WORDS = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
NULL_WORDS = ("", "none", "null")


@dataclass(frozen=True)
class Bounds:
    """An interval of numbers; open or closed at each end."""

    low: float
    high: float
    closed_low: bool = True
    closed_high: bool = True

    def __contains__(self, value: float) -> bool:
        if math.isnan(value):
            return False
        above = value >= self.low if self.closed_low else value > self.low
        below = value <= self.high if self.closed_high else value < self.high
        return above and below

    def __str__(self) -> str:
        left, right = "[" if self.closed_low else "(", "]" if self.closed_high else ")"
        return f"{left}{_number(self.low)}, {_number(self.high)}{right}"


FRACTION = Bounds(0, 1, closed_high=False)  # a dropout or a share: 1 would drop everything
INSIDE = Bounds(0, 1, closed_low=False, closed_high=False)


def knob(
    default: object,
    help: str,
    *,
    bounds: Bounds | tuple[float, float] | None = None,
    choices: tuple[str, ...] | None = None,
    archs: tuple[str, ...] | None = None,
    old: str | None = None,
) -> typing.Any:
    """A dataclass field with its rule. `bounds` (a tuple: inclusive) for numbers,
    `choices` for words; `archs`: the only architectures that read it (any other refuses
    a value but the default); `old`: its flat name before the sections."""
    if isinstance(bounds, tuple):
        bounds = Bounds(*bounds)
    rule = {"help": help, "bounds": bounds, "choices": choices, "archs": archs, "old": old}
    return dataclasses.field(default=default, metadata=rule)


def section(kind: type, help: str, *, optional: bool = False) -> typing.Any:
    """A field holding a section; `optional` sections are None unless used."""
    rule = {"help": help, "section": kind, "optional": optional}
    if optional:
        return dataclasses.field(default=None, metadata=rule)
    return dataclasses.field(default_factory=kind, metadata=rule)


def is_section(field: dataclasses.Field) -> bool:
    return "section" in field.metadata


def check(value: object, field: dataclasses.Field, kind: object, path: str) -> None:
    """Raise ConfigError with a one-line reason when `value` does not fit the field at
    `path`: its type (bool is no int, an int is a float), choices or bounds."""
    if not has_type(value, kind):
        raise ConfigError(f"{path} must be {type_name(kind)}, got {value!r}")
    rule = field.metadata
    if rule.get("choices") and value not in rule["choices"]:
        raise ConfigError(f"{path} must be one of {', '.join(rule['choices'])}, got {value!r}")
    if rule.get("bounds") is not None and value is not None and value not in rule["bounds"]:
        raise ConfigError(f"{path} must be in {rule['bounds']}, got {value}")


def has_type(value: object, kind: object) -> bool:
    """Whether `value` fits the annotation `kind` (bool is no int here, an int is a float)."""
    options = _options(kind)
    if value is None:
        return type(None) in options
    if isinstance(value, bool):
        return bool in options
    if isinstance(value, int) and float in options:
        return True
    return any(isinstance(value, t) for t in options if t is not type(None))


def type_name(kind: object) -> str:
    return " or ".join("null" if t is type(None) else _a(t.__name__) for t in _options(kind))


def convert(path: str, kind: object, raw: str) -> object:
    """`raw` (a command-line word) as a value of annotation `kind`."""
    options = _options(kind)
    if type(None) in options and raw.lower() in NULL_WORDS:
        return None
    base = next(t for t in options if t is not type(None))
    if base is bool:
        if raw.lower() not in TRUE_WORDS + FALSE_WORDS:
            raise ConfigError(f"{path} expects true or false, got {raw!r}")
        return raw.lower() in TRUE_WORDS
    try:
        return base(raw)
    except ValueError:
        raise ConfigError(f"{path} expects {_a(base.__name__)}, got {raw!r}") from None


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _options(kind: object) -> tuple:
    return typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
