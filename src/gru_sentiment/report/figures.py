"""Figures drawn for the HTML report, inlined as base64 PNG data: URIs (the report is
one self-contained file)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path


class Figures:
    """Draws a figure into a temporary PNG and returns it as a data: URI."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0

    def __call__(self, draw: Callable[..., Path], *args, **kwargs) -> str:
        self.count += 1
        path = draw(*args, self.folder / f"figure-{self.count}.png", **kwargs)
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
