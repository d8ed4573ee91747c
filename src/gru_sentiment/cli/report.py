"""Commands that describe data and runs: eda, report, and the tutorial's experiments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..cluster.session import ENGINES, require
from ..io.terminal import printable
from ..train.experiments import NAMES as EXPERIMENTS
from ..train.experiments import TrainAll
from .common import (
    CpuOpt,
    DataOpt,
    LabelColumnOpt,
    SetOpt,
    TextColumnOpt,
    check_data_path,
    check_positive,
    fail,
    load_or_fail,
)


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

    Example: gru-sentiment eda --data aclImdb_v1.tar.gz --out eda
    """
    check_data_path(data)
    check_positive(max_len=max_len, vocab_size=vocab_size)
    from ..data.splits import load_corpus
    from ..report import eda as eda_module

    corpus = load_or_fail(load_corpus, data, text_column, label_column, ("train", "test", "unsup"))
    summary = eda_module.describe(corpus, out, max_len=max_len, vocab_size=vocab_size)
    typer.echo(eda_module.format_table(summary))
    for reason, count in summary["skipped"].items():
        typer.echo(f"skipped {count:,}: {printable(reason)}")
    typer.echo(f"wrote {out / 'eda.json'} and plots")


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
    from ..runtime import prepare

    prepare(cpu=True)
    from ..report.html import write_report

    typer.echo(f"wrote {load_or_fail(write_report, run_dir, baseline, out)}")


ExperimentOutOpt = Annotated[
    Path | None, typer.Option(help="Output folder; default experiments/<name>.")
]
ExperimentTrainLimitOpt = Annotated[
    int | None, typer.Option(help="Train reviews used (validation carved from them).")
]
ExperimentEpochsOpt = Annotated[
    int | None, typer.Option(help="Epoch cap; early stopping ends runs (default 12).")
]
SeedsOpt = Annotated[
    int | None, typer.Option(help="Runs per variant, seeds 42, 43, ... (default 3).")
]
RunsDirOpt = Annotated[
    Path | None,
    typer.Option(help="Folder of the runs, shared between experiments; default runs/experiments."),
]
SweptRunOpt = Annotated[
    list[Path] | None,
    typer.Option("--run", help="threshold: a trained run folder to sweep (repeatable)."),
]
VectorsOpt = Annotated[
    Path | None, typer.Option(help="embeddings: GloVe / fastText .txt/.vec file.")
]
EngineOpt = Annotated[
    str, typer.Option(help="local (one run after another) or ray (runs in parallel on Ray).")
]
AddressOpt = Annotated[
    str | None, typer.Option(help="--engine ray: a running Ray cluster (auto or HOST:PORT).")
]


def experiment(
    name: Annotated[
        str,
        typer.Argument(
            help=f"One of: {' | '.join(EXPERIMENTS)}; or overview (gathers the answers)."
        ),
    ],
    data: DataOpt = None,
    out: ExperimentOutOpt = None,
    train_limit: ExperimentTrainLimitOpt = None,
    test_limit: Annotated[int | None, typer.Option(help="Test reviews used.")] = None,
    epochs: ExperimentEpochsOpt = None,
    seeds: SeedsOpt = None,
    full: Annotated[bool, typer.Option(help="All the data instead of the subset.")] = False,
    set_: SetOpt = None,
    runs_dir: RunsDirOpt = None,
    run: SweptRunOpt = None,
    vectors: VectorsOpt = None,
    text_column: TextColumnOpt = "text",
    label_column: LabelColumnOpt = "label",
    engine: EngineOpt = "local",
    address: AddressOpt = None,
    cpu: CpuOpt = False,
) -> None:
    """Run one of the tutorial's suggested experiments; write its answer, table and plots.

    Default: a subset (4,000 train / 4,000 test reviews, 3 seeds, early stopping within 12
    epochs); --full: all data. With --engine ray its runs train in parallel, one CPU each,
    on this machine or a cluster. Each finished run leaves a small record in records/
    beside --out (experiments/records/): a run recorded there is not trained again, on any
    machine with the same data. `overview` writes docs/experiments.md (or --out) from the
    results under experiments/: each question's answer and one accuracy-against-time chart.

    Example: gru-sentiment experiment maxlen --data aclImdb_v1.tar.gz
    """
    from ..train import experiments

    if name == "overview":
        typer.echo(f"wrote {experiments.write_overview(out=out)}")
        return
    if name not in EXPERIMENTS:
        fail(f"unknown experiment {name!r} (choose from: {' | '.join(EXPERIMENTS)})")
    check_data_path(data)
    check_positive(train_limit=train_limit, test_limit=test_limit, epochs=epochs, seeds=seeds)
    if full and (train_limit or test_limit):
        fail("--full uses all the data: leave out --train-limit / --test-limit")
    _check_experiment_inputs(name, run, vectors, engine, address)
    results = load_or_fail(
        experiments.run_command,
        name,
        data,
        out,
        full=full,
        train_limit=train_limit,
        test_limit=test_limit,
        epochs=epochs,
        seeds=seeds,
        overrides=set_ or [],
        text_column=text_column,
        label_column=label_column,
        engine=engine,
        remote=lambda: _ray_runner(address),
        cpu=cpu,
        log=typer.echo,
        runs_dir=runs_dir,
        run_dirs=run,
        vectors=vectors,
    )
    typer.echo(experiments.to_markdown(results))


def _check_experiment_inputs(
    name: str, run: list[Path] | None, vectors: Path | None, engine: str, address: str | None
) -> None:
    """The options that apply to one experiment or engine only, and the files they name."""
    if run and name != "threshold":
        fail("--run applies to the threshold experiment only")
    if vectors and name != "embeddings":
        fail("--vectors applies to the embeddings experiment only")
    for path in run or []:
        if not (path / "predictions.csv").is_file():
            fail(f"{path} is not a run folder with predictions.csv")
    if vectors and not vectors.is_file():
        fail(f"vectors file does not exist: {vectors}")
    if engine not in ENGINES:
        fail(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if address and engine != "ray":
        fail("--address applies to --engine ray only")


def _ray_runner(address: str | None) -> TrainAll:
    """The experiment's runs as Ray tasks (`--engine ray`): made here, as the train layer
    cannot import the cluster layer above it; ClusterError when Ray is not installed."""
    from ..cluster.trials import ray_runner

    require("--engine ray", "ray")
    return ray_runner(address)
