"""Text from input files, shown on a terminal: never its control sequences.

A review can hold ANSI / OSC escape sequences (that recolour, retitle or hyperlink a
terminal), bidi overrides that reorder what is shown, or NULs; printed raw they act.
"""

from __future__ import annotations

from collections.abc import Callable

# Where a long job's progress lines go: print, typer.echo, a test's list.append.
Log = Callable[[str], object]


def printable(text: str, newlines: bool = False) -> str:
    """`text` with every non-printable character except the space (and, with `newlines`,
    the line feed) shown as its Python escape: "\\x1b[31m" prints as the 8 visible
    characters \\x1b[31m."""
    kept = " \n" if newlines else " "
    return "".join(
        c if c.isprintable() or c in kept else c.encode("unicode_escape").decode("ascii")
        for c in text
    )
