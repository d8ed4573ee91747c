"""What every command shares: option types, one-line errors, config resolution.

Options are checked before anything heavy is imported, so `--help` and bad input answer
at once; Keras and TensorFlow load only inside the commands that need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..config import Config, parse_overrides, preset
from ..errors import GruSentimentError
from ..io.terminal import printable

DataOpt = Annotated[
    str | None,
    typer.Option(
        "--data",
        envvar="GRU_SENTIMENT_DATA",
        help="aclImdb folder, .tar.gz archive, or your own .csv/.jsonl; default: download IMDB.",
    ),
]
TextColumnOpt = Annotated[str, typer.Option(help="Text column of a .csv/.jsonl file.")]
LabelColumnOpt = Annotated[
    str,
    typer.Option(help="Label column: 0/1, negative/positive, or any classes (3 stars, topics)."),
]
TargetOpt = Annotated[
    str,
    typer.Option(
        help="What to predict: 'label' (the label column; IMDB: negative/positive) or "
        "'rating' (IMDB's star ratings, 8 classes)."
    ),
]
CpuOpt = Annotated[bool, typer.Option("--cpu", help="Run on the CPU even when a GPU is present.")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a config field, PATH=VALUE, e.g. fit.epochs=3 (repeatable; "
        "`gru-sentiment config` lists them).",
    ),
]
TrainLimitOpt = Annotated[int | None, typer.Option(help="Use a stratified subset of train.")]
TestLimitOpt = Annotated[int | None, typer.Option(help="Use a stratified subset of test.")]
ForceOpt = Annotated[bool, typer.Option(help="Replace a complete run folder.")]


def fail(message: str) -> None:
    """One-line error on stderr, exit status 2 (what it quotes from input files, escaped)."""
    typer.echo(f"gru-sentiment: error: {printable(message)}", err=True)
    raise typer.Exit(2)


def check_data_path(data: str | None) -> None:
    if data is not None and not Path(data).expanduser().exists():
        fail(f"data path does not exist: {data}")


def check_target(target: str) -> None:
    from ..data.splits import TARGETS

    if target not in TARGETS:
        fail(f"--target must be one of {', '.join(TARGETS)}, not {target!r}")


def check_positive(**values: int | None) -> None:
    for name, value in values.items():
        if value is not None and value <= 0:
            fail(f"--{name.replace('_', '-')} must be a positive number, got {value}")


def load_or_fail(load, *args, **kwargs):
    """Run `load`, turning the tool's own errors (bad data, run folder, config) into
    one-line messages."""
    try:
        return load(*args, **kwargs)
    except GruSentimentError as err:
        fail(str(err))


def resolve_config(
    name: str, overrides: list[str], seed: int | None = None, epochs: int | None = None
) -> Config:
    """A preset with --seed, --epochs (None: not given) and --set overrides applied."""
    try:
        return parse_overrides(
            with_flags(preset(name).replace(preset=name), seed, epochs), overrides
        )
    except GruSentimentError as err:
        fail(str(err))


def with_flags(cfg: Config, seed: int | None, epochs: int | None) -> Config:
    """`cfg` with the --seed and --epochs given (None: not given)."""
    flags = {"seed": seed, "fit.epochs": epochs}
    return cfg.set({path: value for path, value in flags.items() if value is not None})


def print_headline(metrics: dict, run_dir: Path) -> None:
    from ..evaluation.metrics import headline  # scikit-learn: only once a run is done

    shown = [(k, metrics.get(k)) for k in headline(metrics)]
    typer.echo("test: " + ", ".join(f"{k} {v:.4f}" for k, v in shown if v is not None))
    typer.echo(f"run folder: {run_dir}")
