"""The `gru-sentiment` command: a thin shell over the package's functions.

Options are checked before anything heavy is imported, so `--help` and bad input answer
at once; Keras and TensorFlow load only inside the commands that need them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .config import DEFAULT_PRESET, PRESETS, Config, parse_overrides, preset

app = typer.Typer(
    help="GRU sentiment classification of movie reviews: explore, train, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DataOpt = Annotated[
    str | None,
    typer.Option(
        "--data",
        envvar="GRU_SENTIMENT_DATA",
        help="aclImdb folder, .tar.gz archive, or your own .csv/.jsonl; default: download IMDB.",
    ),
]
TextColumnOpt = Annotated[str, typer.Option(help="Text column of a .csv/.jsonl file.")]
LabelColumnOpt = Annotated[str, typer.Option(help="Label column (0/1 or negative/positive).")]
CpuOpt = Annotated[bool, typer.Option("--cpu", help="Run on the CPU even when a GPU is present.")]


def fail(message: str) -> None:
    """One-line error on stderr, exit status 2."""
    typer.echo(f"gru-sentiment: error: {message}", err=True)
    raise typer.Exit(2)


def check_data_path(data: str | None) -> None:
    if data is not None and not Path(data).expanduser().exists():
        fail(f"data path does not exist: {data}")


def check_positive(**values: int | None) -> None:
    for name, value in values.items():
        if value is not None and value <= 0:
            fail(f"--{name.replace('_', '-')} must be a positive number, got {value}")


def load_or_fail(load, *args, **kwargs):
    """Run `load`, turning data and run-folder problems into one-line errors."""
    from .data import DataError
    from .runs import RunError

    try:
        return load(*args, **kwargs)
    except (DataError, RunError) as err:
        fail(str(err))


@app.command()
def eda(
    data: DataOpt = None,
    out: Annotated[Path, typer.Option(help="Folder for eda.json and the PNGs.")] = Path("eda"),
    max_len: Annotated[int, typer.Option(help="Length whose truncation is measured.")] = 200,
    vocab_size: Annotated[
        int, typer.Option(help="Vocabulary size whose unknowns are measured.")
    ] = 10_000,
    text_column: TextColumnOpt = "text",
    label_column: LabelColumnOpt = "label",
) -> None:
    """Explore the data: class balance, lengths, truncation, unknown words, ratings.

    Example: gru-sentiment eda --data ../shared/data/aclImdb.tar.gz --out eda
    """
    check_data_path(data)
    check_positive(max_len=max_len, vocab_size=vocab_size)
    from . import eda as eda_module
    from .data import load_corpus

    corpus = load_or_fail(load_corpus, data, text_column, label_column, ("train", "test", "unsup"))
    summary = eda_module.describe(corpus, out, max_len=max_len, vocab_size=vocab_size)
    typer.echo(eda_module.format_table(summary))
    for reason, count in summary["skipped"].items():
        typer.echo(f"skipped {count:,}: {reason}")
    typer.echo(f"wrote {out / 'eda.json'} and plots")


def resolve_config(name: str, overrides: list[str], **flags) -> Config:
    try:
        cfg = preset(name)
        cfg = cfg.replace(preset=name, **{k: v for k, v in flags.items() if v is not None})
        return parse_overrides(cfg, overrides)
    except ValueError as err:
        fail(str(err))


@app.command()
def train(
    preset_name: Annotated[
        str, typer.Option("--preset", help=f"One of: {', '.join(PRESETS)}.")
    ] = DEFAULT_PRESET,
    data: DataOpt = None,
    out: Annotated[Path | None, typer.Option(help="Run folder; default runs/<preset>.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (data split, init, order).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs.")] = None,
    train_limit: Annotated[
        int | None, typer.Option(help="Use a stratified subset of train.")
    ] = None,
    test_limit: Annotated[int | None, typer.Option(help="Use a stratified subset of test.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override any config field, FIELD=VALUE (repeatable)."),
    ] = None,
    text_column: TextColumnOpt = "text",
    label_column: LabelColumnOpt = "label",
    force: Annotated[bool, typer.Option(help="Replace a complete run folder.")] = False,
    cpu: CpuOpt = False,
) -> None:
    """Train a preset, evaluate it on test and write the run folder (resumes if killed).

    Example: gru-sentiment train --preset tutorial --data aclImdb_v1.tar.gz --out runs/tutorial
    """
    check_data_path(data)
    check_positive(epochs=epochs, train_limit=train_limit, test_limit=test_limit)
    cfg = resolve_config(preset_name, set_ or [], seed=seed, epochs=epochs)
    run_dir = out or Path("runs") / preset_name
    from .runs import METRICS, is_complete

    if is_complete(run_dir) and not force:
        typer.echo(f"{run_dir} already holds a complete run (pass --force to retrain it)")
        print_headline(json.loads((run_dir / METRICS).read_text()), run_dir)
        return
    from .runtime import prepare

    prepare(cpu)
    from .pipeline import DataSpec, train_run

    spec = DataSpec(data, text_column, label_column, train_limit, test_limit)
    metrics = load_or_fail(train_run, cfg, run_dir, spec, force=force, log=typer.echo)
    print_headline(metrics, run_dir)


def print_headline(metrics: dict, run_dir: Path) -> None:
    keys = ("accuracy", "precision", "recall", "f1", "roc_auc")
    typer.echo("test: " + ", ".join(f"{k} {metrics[k]:.4f}" for k in keys))
    typer.echo(f"run folder: {run_dir}")


@app.command()
def baseline(
    data: DataOpt = None,
    out: Annotated[Path, typer.Option(help="Run folder for the baseline.")] = Path("runs/baseline"),
    seed: Annotated[int, typer.Option(help="Seed of the train/validation split.")] = 42,
    train_limit: Annotated[
        int | None, typer.Option(help="Use a stratified subset of train.")
    ] = None,
    test_limit: Annotated[int | None, typer.Option(help="Use a stratified subset of test.")] = None,
    text_column: TextColumnOpt = "text",
    label_column: LabelColumnOpt = "label",
) -> None:
    """The linear baseline: TF-IDF 1-2-grams + logistic regression, same splits and files.

    Example: gru-sentiment baseline --data aclImdb_v1.tar.gz --out runs/baseline
    """
    check_data_path(data)
    check_positive(train_limit=train_limit, test_limit=test_limit)
    from .baseline import run_baseline
    from .pipeline import DataSpec

    spec = DataSpec(data, text_column, label_column, train_limit, test_limit)
    metrics = load_or_fail(run_baseline, out, spec, seed=seed, log=typer.echo)
    print_headline(metrics, out)


@app.command("evaluate")
def evaluate_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A complete run folder.")],
    data: DataOpt = None,
    cpu: CpuOpt = False,
) -> None:
    """Reload a run folder and evaluate it on its test set again.

    Example: gru-sentiment evaluate runs/tutorial
    """
    check_data_path(data)
    from .runtime import prepare

    prepare(cpu)
    from .pipeline import evaluate_run

    metrics = load_or_fail(evaluate_run, run_dir, data, log=typer.echo)
    print_headline(metrics, run_dir)


@app.command()
def params(
    preset_name: Annotated[
        str, typer.Option("--preset", help=f"One of: {', '.join(PRESETS)}.")
    ] = DEFAULT_PRESET,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Parameters of a preset's model with GRU cells versus LSTM cells.

    Example: gru-sentiment params --preset tutorial
    """
    cfg = resolve_config(preset_name, [])
    from .runtime import prepare

    prepare(cpu=True)
    from .models import params_table

    table = params_table(cfg)
    if as_json:
        typer.echo(json.dumps(table))
        return
    typer.echo(f"{'cell':<6} {'parameters':>12}")
    for row in table:
        typer.echo(f"{row['cell']:<6} {row['params']:>12,}")
    typer.echo(f"GRU saves {table[0]['saving']:.2%} of the LSTM's parameters")


# More commands live beside this file; importing them registers them on `app`.
from . import cli_apply, cli_report  # noqa: E402, F401
