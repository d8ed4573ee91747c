"""Commands that produce run folders: train, baseline, evaluate; and params."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..config import DEFAULT_PRESET, PRESETS, Config, parse_overrides
from ..io.terminal import printable
from .common import (
    CpuOpt,
    DataOpt,
    ForceOpt,
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
    print_headline,
    resolve_config,
    with_flags,
)

if TYPE_CHECKING:
    pass

PRESET_HELP = f"One of: {', '.join(PRESETS)}."

# The options of `train` alone (those it shares with other commands are in .common).
PresetNameOpt = Annotated[
    str | None, typer.Option("--preset", help=PRESET_HELP, show_default=DEFAULT_PRESET)
]
PresetFileOpt = Annotated[
    Path | None,
    typer.Option(
        help="A JSON or YAML file of config fields instead of a preset (what `tune` "
        "writes as best-preset.json)."
    ),
]
TrainOutOpt = Annotated[
    Path | None, typer.Option(help="Run folder; default runs/<preset or file name>.")
]
SeedOpt = Annotated[int | None, typer.Option(help="Random seed (data split, init, order).")]
EpochsOpt = Annotated[int | None, typer.Option(help="Maximum epochs.")]
LmOpt = Annotated[
    Path | None,
    typer.Option(help="A language-model folder (from `pretrain`) to start from."),
]
TensorBoardOpt = Annotated[
    bool,
    typer.Option(
        "--tensorboard",
        help="Log to TensorBoard: per-epoch loss, accuracy, learning rate and seconds, the "
        "config as hparams, the model graph; in RUN/tensorboard unless --tensorboard-dir.",
    ),
]
TensorBoardDirOpt = Annotated[
    Path | None,
    typer.Option(help="TensorBoard log folder of this run (implies --tensorboard)."),
]
MlflowOpt = Annotated[
    bool,
    typer.Option(
        "--mlflow",
        help="Log to MLflow: the config as params, per-epoch and test metrics, tags "
        "preset/data/seed, the run folder as artifacts; to $MLFLOW_TRACKING_URI, else "
        "the local file store ./mlruns.",
    ),
]
MlflowUriOpt = Annotated[
    str | None,
    typer.Option(
        help="MLflow tracking URI: a server (http://HOST:5000), sqlite:///mlflow.db or a "
        "folder (a file store); implies --mlflow."
    ),
]


def train(
    preset_name: PresetNameOpt = None,
    preset_file: PresetFileOpt = None,
    data: DataOpt = None,
    out: TrainOutOpt = None,
    seed: SeedOpt = None,
    epochs: EpochsOpt = None,
    train_limit: TrainLimitOpt = None,
    test_limit: TestLimitOpt = None,
    set_: SetOpt = None,
    text_column: TextColumnOpt = "text",
    label_column: LabelColumnOpt = "label",
    target: TargetOpt = "label",
    force: ForceOpt = False,
    lm: LmOpt = None,
    cpu: CpuOpt = False,
    tensorboard: TensorBoardOpt = False,
    tensorboard_dir: TensorBoardDirOpt = None,
    mlflow: MlflowOpt = False,
    mlflow_uri: MlflowUriOpt = None,
) -> None:
    """Train a preset, evaluate it on test and write the run folder (resumes if killed).

    Example: gru-sentiment train --preset tutorial --data aclImdb_v1.tar.gz --out runs/tutorial

    Star ratings: gru-sentiment train --target rating --out runs/rating

    Tracked: gru-sentiment train --preset tutorial --tensorboard --mlflow-uri http://127.0.0.1:5000
    """
    check_data_path(data)
    check_positive(epochs=epochs, train_limit=train_limit, test_limit=test_limit)
    check_target(target)
    if lm is not None and not (lm / "manifest.json").is_file():
        fail(f"{lm} is not a complete language-model folder (run `gru-sentiment pretrain`)")
    cfg, name = _train_config(preset_name, preset_file, set_ or [], seed=seed, epochs=epochs)
    run_dir = out or Path("runs") / name
    from ..train.tracking import Tracking

    tracking = Tracking.from_options(run_dir, tensorboard, tensorboard_dir, mlflow, mlflow_uri)
    load_or_fail(tracking.require)
    from ..data.splits import DataSpec
    from ..runtime import prepare
    from ..train.pipeline import train_or_reuse

    spec = DataSpec(data, text_column, label_column, train_limit, test_limit, target)
    prepare(cpu)
    metrics = load_or_fail(
        train_or_reuse, cfg, run_dir, spec, force=force, log=typer.echo, lm=lm, tracking=tracking
    )
    print_headline(metrics, run_dir)


def _train_config(
    preset_name: str | None,
    preset_file: Path | None,
    overrides: list[str],
    *,
    seed: int | None,
    epochs: int | None,
) -> tuple[Config, str]:
    """The config of --preset (default: DEFAULT_PRESET) or --preset-file with --seed,
    --epochs and --set applied; and the name of its default run folder."""
    if preset_name and preset_file:
        fail("give --preset or --preset-file, not both")
    if preset_file is None:
        preset_name = preset_name or DEFAULT_PRESET
        return resolve_config(preset_name, overrides, seed=seed, epochs=epochs), preset_name
    from ..cluster.presets import read_preset

    cfg = with_flags(load_or_fail(read_preset, preset_file), seed, epochs)
    return load_or_fail(parse_overrides, cfg, overrides), preset_file.stem


def baseline(
    data: DataOpt = None,
    out: Annotated[Path, typer.Option(help="Run folder for the baseline.")] = Path("runs/baseline"),
    seed: Annotated[int, typer.Option(help="Seed of the train/validation split.")] = 42,
    train_limit: TrainLimitOpt = None,
    test_limit: TestLimitOpt = None,
    text_column: TextColumnOpt = "text",
    label_column: LabelColumnOpt = "label",
    target: TargetOpt = "label",
    class_weight: Annotated[
        str,
        typer.Option(help="'balanced': each class weighs n / (classes * its count); 'none'."),
    ] = "none",
    force: ForceOpt = False,
) -> None:
    """The linear baseline: TF-IDF 1-2-grams + logistic regression (multinomial for more
    than two classes), same splits and files.

    Example: gru-sentiment baseline --data aclImdb_v1.tar.gz --out runs/baseline
    """
    check_data_path(data)
    check_positive(train_limit=train_limit, test_limit=test_limit)
    check_target(target)
    from ..data.splits import DataSpec
    from ..train.baseline import run_baseline

    spec = DataSpec(data, text_column, label_column, train_limit, test_limit, target)
    metrics = load_or_fail(
        run_baseline, out, spec, seed=seed, force=force, log=typer.echo, class_weight=class_weight
    )
    print_headline(metrics, out)


def evaluate_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A complete run folder (GRU or baseline).")],
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="A labeled .csv/.jsonl/.parquet file: every row is scored. An IMDB folder "
            "or archive: the run's test split again. Default: the run's own data.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="--data FILE: the folder written; default evaluations/RUN-FILE."),
    ] = None,
    text_column: TextColumnOpt = "text",
    label_column: Annotated[str, typer.Option(help="Label column of --data FILE.")] = "label",
    label_map: Annotated[
        str | None,
        typer.Option(
            help="Label values as the run's classes: 'bad=negative,good=positive'. Default: "
            "the class names, 0/1, neg/pos, negative/positive."
        ),
    ] = None,
    rating_cut: Annotated[
        str | None,
        typer.Option(
            help="Star ratings as two classes: 'HIGH' (HIGH and up positive, the rest "
            "negative) or 'LOW:HIGH' (LOW and below negative; the stars between skipped)."
        ),
    ] = None,
    cpu: CpuOpt = False,
) -> None:
    """Score a run on a labeled file of yours, or on its own test set again.

    With --data FILE (CSV, JSONL or Parquet), every row is scored and a folder of its own
    gets metrics.json (accuracy, F1, ROC-AUC, calibration error, accuracy by length, the
    most confident errors), reliability.png and report.html.

    Example: gru-sentiment evaluate runs/hybrid --data tweets.csv --label-column sentiment
    """
    check_data_path(data)
    from ..data.labeled import LABELED_SUFFIXES

    if data is not None and Path(data).suffix.lower() in LABELED_SUFFIXES:
        columns = (text_column, label_column, label_map, rating_cut)
        _evaluate_file(run_dir, Path(data), out, *columns, cpu)
        return
    if (out, label_map, rating_cut) != (None, None, None):
        fail("--out, --label-map and --rating-cut apply to --data FILE (.csv/.jsonl/.parquet)")
    from ..runtime import prepare

    prepare(cpu)
    from ..train.pipeline import evaluate_run

    metrics = load_or_fail(evaluate_run, run_dir, data, log=typer.echo)
    print_headline(metrics, run_dir)


def _evaluate_file(
    run_dir: Path,
    data: Path,
    out: Path | None,
    text_column: str,
    label_column: str,
    label_map: str | None,
    rating_cut: str | None,
    cpu: bool,
) -> None:
    """evaluate --data FILE: check everything, then load the run and score the file."""
    from ..inference.baseline import load_run
    from ..report.evaluation import PAGE, check_evaluation_folder, evaluate_file
    from ..runtime import prepare

    out = out or Path("evaluations") / f"{run_dir.resolve().name}-{data.stem}"
    load_or_fail(check_evaluation_folder, out)
    from ..data.labeled import read_labeled
    from ..inference.run_folder import RunFolder
    from ..io.runs import verify

    load_or_fail(verify, run_dir, ())  # a complete, untampered run before the file is read
    classes = load_or_fail(lambda: RunFolder(run_dir).classes)
    labeled = load_or_fail(
        read_labeled, data, classes, text_column, label_column, label_map, rating_cut
    )
    for reason, count in labeled.skipped.items():
        typer.echo(f"skipped {count:,} rows: {printable(reason)}", err=True)
    prepare(cpu)
    model = load_or_fail(load_run, run_dir)
    found = load_or_fail(evaluate_file, model, labeled, data, out, typer.echo)
    from ..evaluation.metrics import headline

    shown = ", ".join(f"{k} {found[k]:.4f}" for k in headline(found) if found.get(k) is not None)
    typer.echo(f"{found['n_test']:,} texts: {shown}, ECE {found['ece']:.4f}")
    typer.echo(f"wrote {out / PAGE}")


def params(
    preset_name: Annotated[str, typer.Option("--preset", help=PRESET_HELP)] = DEFAULT_PRESET,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Parameters of a preset's model with GRU cells versus LSTM cells.

    Example: gru-sentiment params --preset tutorial
    """
    cfg = resolve_config(preset_name, [])
    from ..runtime import prepare

    prepare(cpu=True)
    from ..model.networks import params_table

    table = params_table(cfg)
    if as_json:
        typer.echo(json.dumps(table))
        return
    typer.echo(f"{'cell':<6} {'parameters':>12}")
    for row in table:
        typer.echo(f"{row['cell']:<6} {row['params']:>12,}")
    typer.echo(f"GRU saves {table[0]['saving']:.2%} of the LSTM's parameters")


def pretrain(
    preset_name: Annotated[
        str, typer.Option("--preset", help="The classifier the LM is for (its vocabulary, units).")
    ] = DEFAULT_PRESET,
    data: DataOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(help="LM folder; default: the cache, keyed by the texts and settings."),
    ] = None,
    epochs: Annotated[
        float | None,
        typer.Option(help="Passes over the train + unlabeled texts (default: lm_tokens)."),
    ] = None,
    set_: SetOpt = None,
    text_column: TextColumnOpt = "text",
    label_column: LabelColumnOpt = "label",
    force: Annotated[
        bool, typer.Option(help="Replace a complete language model of other settings in --out.")
    ] = False,
    cpu: CpuOpt = False,
) -> None:
    """Pretrain a forward + backward GRU language model on the train and unlabeled texts.

    `train --lm LM_DIR` starts the classifier's embedding and encoder from it (so does
    `train --set pretrain_lm=true` with the same --set lm_* values: it finds this LM in the
    cache). Resumes if killed.

    Example: gru-sentiment pretrain --data aclImdb_v1.tar.gz --set lm_tokens=2000000
    """
    check_data_path(data)
    if epochs is not None and epochs <= 0:
        fail(f"--epochs must be a positive number, got {epochs}")
    cfg = resolve_config(preset_name, set_ or [])
    from ..runtime import prepare

    prepare(cpu)
    from ..data.splits import DataSpec
    from ..train.pipeline import pretrain_lm
    from ..train.pretrain import lm_summary

    spec = DataSpec(data, text_column, label_column)
    folder = load_or_fail(pretrain_lm, cfg, spec, out, epochs, typer.echo, force)
    last = lm_summary(folder)["history"][-1]
    typer.echo(
        f"held-out perplexity: forward {last['forward']:.1f}, backward {last['backward']:.1f}; "
        f"{last['tokens_per_s']:,.0f} tokens/s"
    )
    typer.echo(f"language model: {folder}")
    sets = "".join(f" --set {assignment}" for assignment in set_ or [])
    typer.echo(f"use it: gru-sentiment train --preset {preset_name}{sets} --lm {folder}")
