"""`gru-sentiment config`: every field of a preset's config by section, with its value,
default, range and help: what `--set PATH=VALUE` can change."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..config import DEFAULT_PRESET, PRESETS, Config, knobs, preset
from .common import load_or_fail


def config(
    preset_name: Annotated[
        str, typer.Option("--preset", help=f"One of: {', '.join(PRESETS)}.")
    ] = DEFAULT_PRESET,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list, for machines.")] = False,
) -> None:
    """The fields of a preset's config by section: value, default, range, help. Any of
    them can be changed with `train --set PATH=VALUE`.

    Example: gru-sentiment config --preset tutorial
    """
    cfg = load_or_fail(preset, preset_name)
    rows = field_rows(cfg)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(f"preset {preset_name}; change a field with --set PATH=VALUE (* differs)")
    section = None
    for row in rows:
        if row["section"] != section:
            section = row["section"]
            typer.echo(f"\n[{section}]")
        mark = "*" if row["value"] != row["default"] else " "
        value, default = _word(row["value"]), _word(row["default"])
        line = f"{mark} {row['path']:<26} {value:<10} default {default:<10} {row['range']:<22}"
        typer.echo(f"{line} {row['help']}")


def field_rows(cfg: Config) -> list[dict]:
    """One row per field; an optional section that is off is one row ("off")."""
    rows = []
    for item in knobs(cfg):
        rule = item.field.metadata
        if "section" in rule:
            value, default, allowed = "off", "off", "on | off"
        else:
            value, default = cfg.get(item.path), item.field.default
            allowed = " | ".join(rule["choices"] or ()) or str(rule["bounds"] or "")
            allowed = "true | false" if item.kind is bool else allowed
        if rule.get("archs"):
            allowed += f" (arch {' or '.join(rule['archs'])} only)"
        section = item.path.rpartition(".")[0] or "run"
        rows.append(
            {
                "path": item.path,
                "section": section,
                "value": value,
                "default": default,
                "range": allowed.strip(),
                "help": item.help,
            }
        )
    return rows


def _word(value: object) -> str:
    """A value as --set writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)
