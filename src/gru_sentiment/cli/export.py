"""`export`: a run as a bundle that scores without this tool (ONNX or TF SavedModel)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import fail, load_or_fail


def export(
    run_dir: Annotated[Path, typer.Argument(help="A complete GRU run folder.")],
    format_: Annotated[
        str, typer.Option("--format", help="onnx (the portable bundle) or savedmodel.")
    ] = "onnx",
    out: Annotated[
        Path | None, typer.Option(help="Bundle folder to write; default RUN_DIR-FORMAT.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing bundle at --out.")] = False,
) -> None:
    """Export a run as a bundle: the network (ONNX or SavedModel, weights only), its
    tokenizer, n-gram weights, stack, classes, threshold (two classes) and a bundle.json
    with checksums. An ONNX bundle scores with numpy + onnxruntime + tokenizers
    (gru_sentiment.portable); runs of any number of classes export.

    Example: gru-sentiment export runs/hybrid --format onnx --out bundles/hybrid
    """
    from ..export.bundle import FORMATS

    if format_ not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {format_!r}")
    from ..runtime import prepare

    # On the CPU: a GPU-built graph can carry cuDNN kernels that ONNX cannot express.
    prepare(cpu=True)
    from ..export.bundle import export_run

    out = out or run_dir.with_name(f"{run_dir.name}-{format_}")
    spec = load_or_fail(export_run, run_dir, format_, out, force)
    if spec["max_difference"] is not None:
        typer.echo(
            f"checked: the bundle's probabilities match the run's within "
            f"{spec['max_difference']:.1e} on its example reviews"
        )
    classes = spec["classes"]
    more = f"; {len(classes)} classes: {', '.join(classes)}" if len(classes) > 2 else ""
    typer.echo(f"wrote {out} ({spec['network']['file']}, {len(spec['files'])} files{more})")
