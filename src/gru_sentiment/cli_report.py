"""Commands that report on runs and run the tutorial's experiments: report, experiment.

They register on the main `app` (imported by cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli import (
    CpuOpt,
    DataOpt,
    LabelColumnOpt,
    TextColumnOpt,
    app,
    check_data_path,
    check_positive,
    fail,
    load_or_fail,
    resolve_config,
)

EXPERIMENT_NAMES = "maxlen | cell | units | conv-gru | threshold | embeddings"


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (GRU or linear baseline).")],
    baseline: Annotated[
        Path | None, typer.Option(help="A baseline run folder shown beside this run.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="HTML file to write; default RUN_DIR/report.html.")
    ] = None,
) -> None:
    """Write one self-contained HTML report of a run (figures inlined; opens offline).

    Example: gru-sentiment report runs/tutorial --baseline runs/baseline
    """
    from .runtime import prepare

    prepare(cpu=True)
    from .report import write_report

    typer.echo(f"wrote {load_or_fail(write_report, run_dir, baseline, out)}")


@app.command()
def experiment(
    name: Annotated[str, typer.Argument(help=f"One of: {EXPERIMENT_NAMES}.")],
    data: DataOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder; default experiments/<name>.")
    ] = None,
    train_limit: Annotated[
        int | None, typer.Option(help="Train reviews used (validation carved from them).")
    ] = None,
    test_limit: Annotated[int | None, typer.Option(help="Test reviews used.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs per run.")] = None,
    seeds: Annotated[
        int | None, typer.Option(help="Runs per variant, seeds 42, 43, ... (default 2).")
    ] = None,
    full: Annotated[
        bool, typer.Option(help="All the data and the preset's epochs instead of the subset.")
    ] = False,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a base config field, FIELD=VALUE (repeatable)."),
    ] = None,
    runs_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the runs, shared between experiments; default runs/experiments."
        ),
    ] = None,
    run: Annotated[
        list[Path] | None,
        typer.Option("--run", help="threshold: a trained run folder to sweep (repeatable)."),
    ] = None,
    vectors: Annotated[
        Path | None, typer.Option(help="embeddings: GloVe / fastText .txt/.vec file.")
    ] = None,
    text_column: TextColumnOpt = "text",
    label_column: LabelColumnOpt = "label",
    cpu: CpuOpt = False,
) -> None:
    """Run one of the tutorial's suggested experiments; write a table and a plot.

    Default: a subset (4,000 train / 4,000 test reviews, 3 epochs, 2 seeds); --full: all data.

    Example: gru-sentiment experiment maxlen --data ../shared/data/aclImdb.tar.gz
    """
    from . import experiments

    if name not in experiments.NAMES:
        fail(f"unknown experiment {name!r} (choose from: {EXPERIMENT_NAMES})")
    check_data_path(data)
    check_positive(train_limit=train_limit, test_limit=test_limit, epochs=epochs, seeds=seeds)
    if full and (train_limit or test_limit):
        fail("--full uses all the data: leave out --train-limit / --test-limit")
    if run and name != "threshold":
        fail("--run applies to the threshold experiment only")
    if vectors and name != "embeddings":
        fail("--vectors applies to the embeddings experiment only")
    for path in run or []:
        if not (path / "predictions.csv").is_file():
            fail(f"{path} is not a run folder with predictions.csv")
    if vectors and not vectors.is_file():
        fail(f"vectors file does not exist: {vectors}")
    if not full:
        train_limit = train_limit or experiments.TRAIN_LIMIT
        test_limit = test_limit or experiments.TEST_LIMIT
        epochs = epochs or experiments.EPOCHS
    seeds = seeds or experiments.SEEDS
    overrides = [*experiments.BASE_OVERRIDES, *(set_ or [])]
    base = resolve_config(experiments.BASE_PRESET, overrides, epochs=epochs)
    from .runtime import prepare

    prepare(cpu)
    from .pipeline import DataSpec

    data_path = str(Path(data).expanduser().resolve()) if data else None
    spec = DataSpec(data_path, text_column, label_column, train_limit, test_limit)
    results = load_or_fail(
        experiments.run_experiment,
        name,
        base,
        spec,
        out or Path("experiments") / name,
        seeds=seeds,
        log=typer.echo,
        runs_dir=runs_dir,
        run_dirs=run,
        vectors=vectors,
    )
    typer.echo(experiments.to_markdown(results))
