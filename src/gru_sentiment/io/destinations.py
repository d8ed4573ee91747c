"""Where a command may write a file of its own (`predict --output`, `explain --html`,
`report --out`): never inside a folder the tool made for something else (a run, an export
bundle, an evaluation), never over a folder or through a symlink.

A folder is the tool's by the file that marks it (see `OWNED_BY`), looked for in the
file's folder and every folder above it, so that no subfolder of a run is a way in.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import RunError
from . import runs

BUNDLE_MARKER = ".gru-sentiment-bundle"  # made by `export`: --force may replace it
EVALUATION_MARKER = ".gru-sentiment-evaluation"  # made by `evaluate`: it may be rewritten
# The file that marks a folder as the tool's, and what such a folder is.
OWNED_BY = {
    runs.MARKER: "a run folder",
    runs.MANIFEST: "a run folder",
    BUNDLE_MARKER: "an export bundle",
    "bundle.json": "an export bundle",
    EVALUATION_MARKER: "an evaluation folder",
}


def check_output_file(path: Path, what: str, allowed: Path | None = None) -> None:
    """Raise RunError, before anything is written, unless `path` may receive `what` (a
    file the command writes): not a folder, not a symlink, not inside a tool's folder.
    `allowed`: the one file in such a folder the command owns (the report of its run)."""
    path = Path(path)
    if path.is_dir() or path.is_symlink():
        raise RunError(f"{path} is a folder or a symlink; give a file name for {what}")
    if allowed is not None and path.resolve() == Path(allowed).resolve():
        return
    for folder in path.resolve().parents:
        owner = next((kind for name, kind in OWNED_BY.items() if (folder / name).exists()), None)
        if owner:
            raise RunError(
                f"refusing to write {what} to {path}: {folder} is {owner}, whose files "
                "only the tool writes; choose a file elsewhere"
            )
