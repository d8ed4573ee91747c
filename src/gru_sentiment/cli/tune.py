"""The `tune` command: a search over config fields on Ray Tune (the cluster extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..cluster.session import require
from ..config import DEFAULT_PRESET, PRESETS
from .common import (
    DataOpt,
    LabelColumnOpt,
    SetOpt,
    TargetOpt,
    TestLimitOpt,
    TextColumnOpt,
    TrainLimitOpt,
    check_data_path,
    check_positive,
    check_target,
    fail,
    load_or_fail,
    resolve_config,
)


def tune(
    preset_name: Annotated[
        str, typer.Option("--preset", help=f"The base config, one of: {', '.join(PRESETS)}.")
    ] = DEFAULT_PRESET,
    data: DataOpt = None,
    space: Annotated[
        Path | None,
        typer.Option(
            help="Search space, YAML or JSON: Config field -> list of choices or {low, high, "
            "log}; default: the recurrent / hybrid family's."
        ),
    ] = None,
    trials: Annotated[int, typer.Option(help="Configs to try.")] = 20,
    max_minutes: Annotated[
        float | None, typer.Option(help="Stop starting trials after this long.")
    ] = None,
    cpus_per_trial: Annotated[float, typer.Option(help="CPUs each trial holds.")] = 1.0,
    seeds: Annotated[int, typer.Option(help="Runs per trial, seeds 42, 43, ... (mean).")] = 1,
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs per run.")] = None,
    train_limit: TrainLimitOpt = None,
    test_limit: TestLimitOpt = None,
    set_: SetOpt = None,
    text_column: TextColumnOpt = "text",
    label_column: LabelColumnOpt = "label",
    target: TargetOpt = "label",
    out: Annotated[Path, typer.Option(help="Folder of the search, its runs and results.")] = Path(
        "runs/tune"
    ),
    address: Annotated[
        str | None,
        typer.Option(
            help="Run the trials on a running Ray cluster (auto or HOST:PORT); default: a "
            "local Ray, started and stopped with the command."
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(help="Continue the interrupted search in --out, with its own settings."),
    ] = False,
) -> None:
    """Search config fields with Ray Tune: Optuna's TPE proposes, ASHA stops weak trials.

    The objective is validation accuracy (never test). Each trial writes ordinary run
    folders under OUT/runs; OUT gets trials.md / trials.json, best.png and
    best-preset.json (for `train --preset-file`).

    Example: gru-sentiment tune --preset recurrent --trials 30 --max-minutes 120
    """
    check_data_path(data)
    check_positive(trials=trials, seeds=seeds, epochs=epochs)
    check_positive(train_limit=train_limit, test_limit=test_limit)
    check_target(target)
    for name, value in (("max-minutes", max_minutes), ("cpus-per-trial", cpus_per_trial)):
        if value is not None and not value > 0:
            fail(f"--{name} must be a positive number, got {value}")
    load_or_fail(require, "tune", "ray", "ray.tune", "optuna", "pyarrow")
    from ..cluster.spaces import load_space
    from ..cluster.tune import Settings, run_search
    from ..data.splits import DataSpec

    settings = None
    if not resume:
        base = resolve_config(preset_name, set_ or [], epochs=epochs)
        data_path = str(Path(data).expanduser().resolve()) if data else None  # trials' cwd
        spec = DataSpec(data_path, text_column, label_column, train_limit, test_limit, target)
        found = load_or_fail(load_space, space, base)
        seed_list = [base.seed + i for i in range(seeds)]
        settings = Settings(base, found, spec, seed_list, trials, cpus_per_trial, max_minutes)
    load_or_fail(run_search, out, settings, address, typer.echo)
    typer.echo((out / "trials.md").read_text())
