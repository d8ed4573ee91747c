"""`--set PATH=VALUE`: a command-line word converted to the type of the field at PATH.

The flat names of the fields before the sections (`max_len`, `lm_tokens`) keep working
for one release, with a note naming the new path.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from ..errors import ConfigError
from .knobs import FALSE_WORDS, NULL_WORDS, TRUE_WORDS, convert
from .root import Config, knob_at, knobs

# Flat switches that became optional sections: the path each now sets.
OLD_SWITCHES = {"pretrain_lm": "init.lm", "distill_unlabeled": "distill.unlabeled"}


def old_names() -> dict[str, str]:
    """The flat name of each field before the sections -> its path now."""
    names = {k.field.metadata["old"]: k.path for k in knobs() if k.field.metadata.get("old")}
    return names | OLD_SWITCHES


def parse_overrides(
    config: Config, assignments: list[str], note: Callable[[str], None] | None = None
) -> Config:
    """Apply `path=value` strings, converting each value to the field's type; an old flat
    name is applied to its new path, and `note` (default: stderr) told so."""
    note = note or (lambda line: print(line, file=sys.stderr))
    changes: dict[str, object] = {}
    renamed = old_names()
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        name = name.strip().replace("-", "_")
        path = renamed.get(name, name)
        if not sep or path == "preset" or not _known(path):
            if path == "preset":  # the name records what the run started from
                raise ConfigError("--set cannot rename the preset; choose one with --preset")
            raise ConfigError(
                "--set expects FIELD=VALUE with FIELD a path such as fit.epochs "
                f"(`gru-sentiment config` lists them); got {assignment!r}"
            )
        if path != name:
            note(f"note: --set {name} is now --set {path} (the old name goes in the next release)")
        changes.update(_change(path, raw.strip()))
    return config.set(changes).validate()


def _known(path: str) -> bool:
    try:
        knob_at(path)
    except ConfigError:
        return False
    return True


def _change(path: str, raw: str) -> dict[str, object]:
    """The change that `path=raw` makes, as {path: typed value}."""
    item = knob_at(path)
    if "section" in item.field.metadata:  # an optional section: on or off
        words = TRUE_WORDS + FALSE_WORDS + NULL_WORDS
        if raw.lower() not in words:
            raise ConfigError(f"{path} expects true or false (on or off), got {raw!r}")
        return {path: raw.lower() in TRUE_WORDS}
    value = convert(path, item.kind, raw)
    if path == "distill.unlabeled" and value == 0:  # the old way to turn it off
        return {"distill": False}
    return {path: value}
