"""Every knob of a run, in sections; the named presets; `--set` overrides.

`Config` is the root (`root.py`), its sections are in `sections.py`, each field's rule
(help, choices or bounds, architectures, old name) where it is declared (`knobs.py`).
"""

from .knobs import Bounds
from .overrides import old_names, parse_overrides
from .presets import DEFAULT_PRESET, PRESETS, preset
from .root import Config, Knob, knob_at, knobs
from .sections import (
    ARCHS,
    KEEP,
    MONITORS,
    Classes,
    Distill,
    Finetune,
    Fit,
    Init,
    LanguageModel,
    Network,
    Text,
)

__all__ = [
    "ARCHS",
    "DEFAULT_PRESET",
    "KEEP",
    "MONITORS",
    "PRESETS",
    "Bounds",
    "Classes",
    "Config",
    "Distill",
    "Finetune",
    "Fit",
    "Init",
    "Knob",
    "LanguageModel",
    "Network",
    "Text",
    "knob_at",
    "knobs",
    "old_names",
    "parse_overrides",
    "preset",
]
