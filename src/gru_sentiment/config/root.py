"""`Config`: the sections of a run under one frozen root, read and changed by path
("fit.epochs", "init.lm.tokens"), checked field by field from the knobs' own rules.

Run folders written before the sections hold one flat dict under the old names; they
still load, and `identity()` gives that flat form back so that the keys naming cached
runs and experiment records stay what they were.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ..errors import ConfigError
from .knobs import check, is_section, knob, section
from .sections import Classes, Distill, Finetune, Fit, Init, Network, Text


@dataclass(frozen=True)
class Knob:
    """One leaf (or optional section) of the tree, with where it sits."""

    path: str
    field: dataclasses.Field
    kind: object  # its annotation, resolved

    @property
    def help(self) -> str:
        return self.field.metadata.get("help", "")


@dataclass(frozen=True)
class Config:
    preset: str = knob("tutorial", "the preset the run started from", old="preset")
    seed: int = knob(
        42, "seeds the split, the weights and the order", bounds=(0, 2**32 - 1), old="seed"
    )
    text: Text = section(Text, "text -> ids")
    network: Network = section(Network, "the model")
    init: Init = section(Init, "where the weights start")
    distill: Distill | None = section(Distill, "distillation from a teacher", optional=True)
    fit: Fit = section(Fit, "training")
    classes: Classes = section(Classes, "class weights and loss")

    def validate(self) -> Config:
        """Raise ConfigError with a one-line reason when a field has the wrong type or is
        out of range (NaN and infinities included), or does not fit the others."""
        _check_tree(self, type(self), "")
        arch = self.network.arch
        for item in knobs(self):
            archs = item.field.metadata.get("archs")
            if archs and arch not in archs and self.get(item.path) != item.field.default:
                raise ConfigError(
                    f"{item.path} is read only by arch {' and '.join(archs)}; arch {arch} "
                    "ignores it, so leave it at its default"
                )
        _check_together(self)
        return self

    def replace(self, **changes: object) -> Config:
        """A copy with top-level fields (seed, preset, whole sections) replaced."""
        return dataclasses.replace(self, **changes)

    def get(self, path: str) -> object:
        value: object = self
        for name in path.split("."):
            value = getattr(value, name) if value is not None else None
        return value

    def set(self, changes: Mapping[str, object]) -> Config:
        """A copy with the fields at these paths changed; a path inside an optional section
        that is off turns it on first (with its defaults); an optional section set to
        true/false turns it on or off."""
        cfg = self
        for path, value in changes.items():
            cfg = _set(cfg, path.split("."), value, "")
        return cfg

    def to_dict(self) -> dict:
        """The config in sections (what config.json holds)."""
        return dataclasses.asdict(self)

    def paths(self) -> dict[str, object]:
        """Every field by its path, an optional section that is off as its own path."""
        return {item.path: self.get(item.path) for item in knobs(self)}

    def identity(self) -> dict:
        """The flat dict under the names before the sections, as run keys hash it."""
        values = {}
        for item in knobs():
            old, value = item.field.metadata.get("old"), self.get(item.path)
            if old:  # a field of a section that is off: the value it had when off
                values[old] = item.field.default if value is None else value
        values["pretrain_lm"] = self.init.lm is not None
        values["distill_unlabeled"] = self.distill.unlabeled if self.distill else 0
        return values

    @classmethod
    def from_dict(cls, values: dict) -> Config:
        """A Config from a run's config.json, in sections or in the older flat layout; an
        unknown field is an error (a run from a newer version, or an edited file), never
        silently dropped."""
        if not isinstance(values, dict):
            raise ConfigError(f"a config is a mapping of fields, got {values!r}")
        if "text" not in values:
            return _from_flat(values)
        return _build(cls, values, "")


def knobs(cfg: Config | None = None) -> Iterator[Knob]:
    """Every leaf field, depth first in declaration order; with `cfg`, an optional section
    that is off is one item (its path) instead of its fields."""
    yield from _walk(Config, cfg, "")


def knob_at(path: str) -> Knob:
    """The knob (a leaf or a section) at `path`; ConfigError naming the paths when none."""
    for item in _walk(Config, None, "", sections=True):
        if item.path == path:
            return item
    raise ConfigError(f"unknown config field {path!r} (see `gru-sentiment config`)")


def _walk(cls: type, value: object, prefix: str, sections: bool = False) -> Iterator[Knob]:
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        item = Knob(prefix + field.name, field, hints[field.name])
        if not is_section(field):
            yield item
            continue
        inner = getattr(value, field.name) if value is not None else None
        if sections or (value is not None and inner is None):
            yield item
        if value is None or inner is not None:
            yield from _walk(field.metadata["section"], inner, item.path + ".", sections)


def _check_tree(value: object, cls: type, prefix: str) -> None:
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        inner, path = getattr(value, field.name), prefix + field.name
        if not is_section(field):
            check(inner, field, hints[field.name], path)
        elif inner is None and not field.metadata["optional"]:
            raise ConfigError(f"{path} is a section that cannot be off")
        elif inner is not None:
            if not isinstance(inner, field.metadata["section"]):
                raise ConfigError(f"{path} is a section: give its fields, got {inner!r}")
            _check_tree(inner, field.metadata["section"], path + ".")


def _check_together(cfg: Config) -> None:
    """The rules that tie fields of several sections."""
    text, network, fit, lm = cfg.text, cfg.network, cfg.fit, cfg.init.lm
    if lm is not None and lm.samples >= text.vocab_size:
        raise ConfigError(f"init.lm.samples must be below text.vocab_size ({text.vocab_size})")
    if lm is not None and (network.cell != "gru" or network.arch == "conv_gru"):
        raise ConfigError("init.lm needs network.cell=gru and network.arch stacked or pooled")
    if network.arch == "conv_gru" and network.conv_kernel > text.max_len:
        raise ConfigError(f"network.conv_kernel must not exceed text.max_len ({text.max_len})")
    if fit.min_lr > fit.learning_rate:
        raise ConfigError(
            f"fit.min_lr ({fit.min_lr}) exceeds fit.learning_rate ({fit.learning_rate})"
        )
    if text.padding == "pre" and network.mask:
        raise ConfigError(
            "network.mask=true needs text.padding=post (left-padded masks break cuDNN GRUs)"
        )


def _from_flat(values: dict) -> Config:
    """A Config from the flat layout of run folders written before the sections."""
    values = dict(values)
    if "truncating" in values:  # before `keep` was named so
        old = values.pop("truncating")
        values["keep"] = {"post": "head", "pre": "tail"}.get(old, old)
    pretrain_lm = bool(values.pop("pretrain_lm", False))
    unlabeled = values.pop("distill_unlabeled", 0)
    paths = {
        item.field.metadata["old"]: item.path for item in knobs() if item.field.metadata.get("old")
    }
    unknown = sorted(set(values) - set(paths))
    if unknown:
        raise ConfigError(f"unknown config field(s): {', '.join(unknown)}")
    cfg = Config().set({paths[name]: value for name, value in values.items()})
    switches = {"init.lm": pretrain_lm, "distill": bool(unlabeled)}
    cfg = cfg.set(switches | ({"distill.unlabeled": unlabeled} if unlabeled else {}))
    if cfg.fit.finetune == Finetune():  # its defaults are fine-tuning turned off
        cfg = cfg.set({"fit.finetune": False})
    return cfg


def _set(node: object, names: list[str], value: object, prefix: str) -> object:
    name, path = names[0], prefix + names[0]
    field = next((f for f in dataclasses.fields(node) if f.name == name), None)
    if field is None or (len(names) > 1 and not is_section(field)):
        raise ConfigError(f"unknown config field {prefix + '.'.join(names)!r}")
    if len(names) == 1:
        if is_section(field):
            value = _switch(field, getattr(node, name), value, path)
        return dataclasses.replace(node, **{name: value})
    inner = getattr(node, name) or field.metadata["section"]()
    return dataclasses.replace(node, **{name: _set(inner, names[1:], value, path + ".")})


def _switch(field: dataclasses.Field, current: object, value: object, path: str) -> object:
    """An optional section set as a whole: true turns it on, false or null off."""
    kind = field.metadata["section"]
    if isinstance(value, kind):
        return value
    if field.metadata["optional"] and value in (True, False, None):
        return (current or kind()) if value else None
    raise ConfigError(
        f"{path} is a section: set one of its fields, or true/false to turn it on/off"
    )


def _build(cls: type, values: object, prefix: str) -> object:
    """An instance of section `cls` from its dict, recursively; unknown keys refused."""
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {values!r}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"unknown config field(s): {', '.join(prefix + u for u in unknown)}")
    built = {}
    for name, raw in values.items():
        field = names[name]
        if is_section(field) and raw is not None:
            raw = _build(field.metadata["section"], raw, prefix + name + ".")
        built[name] = raw
    return cls(**built)
