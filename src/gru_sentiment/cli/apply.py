"""Commands that apply a trained run to new text: predict, explain, serve.

Keras loads only inside them, after their options are checked."""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..cluster.session import ENGINES, require
from ..cluster.shards import FORMATS
from ..config import KEEP
from ..io.terminal import printable
from ..serve.limits import Limits
from .common import CpuOpt, TextColumnOpt, check_positive, fail, load_or_fail

if TYPE_CHECKING:
    from click.termui import ProgressBar

RunDirArg = Annotated[Path, typer.Argument(help="A complete run folder (from `train`).")]
LongOpt = Annotated[
    str | None,
    typer.Option(
        "--long",
        help="Part of a review longer than the model's max_len that the GRU reads: head, tail "
        "or head+tail. Default: what the run was trained with. (A hybrid run's n-gram branch "
        "reads the whole review.)",
    ),
]


# The `predict` options, kept here so the command's signature stays short.
TextsArg = Annotated[
    list[str] | None, typer.Argument(help="Reviews; none: --input, or one per stdin line.")
]
InputOpt = Annotated[
    Path | None,
    typer.Option(
        "--input",
        help=".txt (one review per line), .csv or .jsonl file; --engine ray: also "
        ".parquet, and a folder or a quoted glob of such files.",
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        help=".csv or .jsonl: input columns + predictions, same rows, same order; "
        "--engine ray: a new folder, one shard per input file."
    ),
]
BatchOpt = Annotated[int, typer.Option(help="Rows read and predicted at a time.")]
EngineOpt = Annotated[
    str,
    typer.Option(help="local (this process) or ray (Ray Data workers; the cluster extra)."),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(help="--engine ray: scoring workers, a model each.", show_default="2"),
]
AddressOpt = Annotated[
    str | None,
    typer.Option(
        help="--engine ray: join a running Ray cluster (auto or HOST:PORT); default: a "
        "local Ray, started and stopped with the command."
    ),
]
FormatOpt = Annotated[
    str | None,
    typer.Option("--format", help=f"--engine ray: {' | '.join(FORMATS)}.", show_default="parquet"),
]


def check_long(long: str | None) -> None:
    if long is not None and long not in KEEP:
        fail(f"--long must be one of {', '.join(KEEP)}, not {long!r}")


def load_model(run_dir: Path, cpu: bool, long: str | None = None):
    """The run's model (a GRU run's or a baseline's), or a one-line error."""
    check_long(long)
    from ..runtime import prepare

    prepare(cpu)
    from ..inference.baseline import load_run

    return load_or_fail(load_run, run_dir)


def predict(
    run_dir: RunDirArg,
    texts: TextsArg = None,
    input_: InputOpt = None,
    text_column: TextColumnOpt = "text",
    output: OutputOpt = None,
    long: LongOpt = None,
    batch: BatchOpt = 1024,
    engine: EngineOpt = "local",
    workers: WorkersOpt = None,
    address: AddressOpt = None,
    fmt: FormatOpt = None,
    cpu: CpuOpt = False,
) -> None:
    """Predict the sentiment (or any class the run was trained on) of new reviews.

    Each row gets predicted (one of the run's classes: for two, negative/positive at the
    run's decision threshold; for more, the most probable), probability (two classes: of
    positive; more: of the predicted class, and a p_<class> column for each class),
    truncated (0/1), kept (all, head, tail or head+tail) and error (empty text, bytes that
    are not UTF-8, ...: the other rows are still predicted). Files are streamed: memory
    stays bounded on any number of rows.

    With --engine ray, files are scored by a pool of Ray workers (on this machine, or on
    the cluster at --address) into a folder of shards that appears complete or not at all.

    Example: gru-sentiment predict runs/tutorial "A moving, beautifully acted film."
    """
    check_positive(batch=batch, workers=workers)
    if engine not in ENGINES:
        fail(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "ray":
        ray_options = (workers or 2, address, fmt or "parquet")
        _predict_on_ray(run_dir, texts, input_, output, text_column, long, batch, *ray_options, cpu)
        return
    _check_local(texts, input_, workers, address, fmt)
    from ..inference.scoring import check_output, output_columns, predict_rows, write_rows

    if output is not None:
        load_or_fail(check_output, output, input_)
    columns, rows, progress = _read_input(texts, input_, output, text_column)
    model = load_model(run_dir, cpu, long)
    errors: Counter = Counter()
    results = _tally(predict_rows(model, rows, long, chunk=batch), errors)
    if output is None:
        _print_table(results, model.classes)
    else:
        with progress or nullcontext():
            written = write_rows(output, columns, results, output_columns(model.classes))
        typer.echo(f"wrote {written:,} rows to {output}", err=True)
    _print_errors(errors)


def _check_local(
    texts: list[str] | None,
    input_: Path | None,
    workers: int | None,
    address: str | None,
    fmt: str | None,
) -> None:
    """predict --engine local: the options that make no sense there, or no reviews at all."""
    if (workers, address, fmt) != (None, None, None):
        fail("--workers, --address and --format apply to --engine ray only")
    if texts and input_:
        fail("give reviews as arguments or with --input, not both")
    if input_ is None and not texts and sys.stdin.isatty():
        fail("no reviews: give them as arguments, with --input FILE, or one per line on stdin")


def _read_input(
    texts: list[str] | None, input_: Path | None, output: Path | None, text_column: str
) -> tuple[list[str], Iterator, ProgressBar | None]:
    """The columns and (lazy) rows of --input, the arguments or stdin, and the progress
    bar that reading --input advances (a file written to --output only)."""
    from ..data.tables import read_rows, text_rows
    from ..errors import DataError

    if input_ is None:
        if texts:
            return ["text"], text_rows(texts), None
        stdin = (raw.decode("utf-8", "surrogateescape").rstrip("\r\n") for raw in sys.stdin.buffer)
        return ["text"], text_rows(stdin), None
    progress = None
    if output is not None and input_.is_file():  # the table on stdout needs no bar
        size = input_.stat().st_size
        progress = typer.progressbar(  # advances by bytes read, redrawn every 0.5%
            length=size, label="predicting", file=sys.stderr, update_min_steps=size // 200
        )
    on_bytes = progress.update if progress else lambda n: None
    try:
        columns, rows = read_rows(input_, text_column, on_bytes)
    except DataError as err:
        fail(str(err))
    return columns, rows, progress


def _predict_on_ray(
    run_dir: Path,
    texts: list[str] | None,
    input_: Path | None,
    output: Path | None,
    text_column: str,
    long: str | None,
    batch: int,
    workers: int,
    address: str | None,
    fmt: str,
    cpu: bool,
) -> None:
    """predict --engine ray: the shards of --input scored on Ray into the folder --output."""
    if texts or input_ is None or output is None:
        fail("--engine ray reads --input (a file, a folder or a glob) into an --output folder")
    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    check_long(long)
    load_or_fail(require, "--engine ray", "ray", "pyarrow")
    from ..cluster import scoring
    from ..cluster.shards import input_files

    files = load_or_fail(input_files, input_)
    errors: Counter = Counter()
    summary = load_or_fail(
        scoring.score_files,
        run_dir,
        files,
        output,
        fmt,
        workers,
        batch,
        long,
        text_column,
        address,
        cpu,
        tally=lambda pairs: _tally(pairs, errors),
    )
    typer.echo(
        f"wrote {summary.rows:,} rows ({sum(errors.values()):,} not predicted) in "
        f"{summary.shards} shards to {output} in {summary.seconds:.1f} s: "
        f"{summary.rows / summary.seconds:,.0f} reviews/s",
        err=True,
    )
    _print_errors(errors)


def _print_errors(errors: Counter) -> None:
    for reason, count in errors.most_common():
        typer.echo(
            f"not predicted: {count:,} {'row' if count == 1 else 'rows'}, {printable(reason)}",
            err=True,
        )


def _tally(results: Iterator[tuple], errors: Counter) -> Iterator[tuple]:
    """Pass (row, result) pairs through, counting errors by kind (the text before ':')."""
    for row, result in results:
        if result["error"]:
            errors[result["error"].split(":")[0]] += 1
        yield row, result


def _print_table(results, classes: tuple[str, ...]) -> None:
    """One line per row: number, verdict, probability (two classes: P(positive); more:
    P(predicted class)), part read, then the text."""
    width = shutil.get_terminal_size((100, 20)).columns
    labels = [printable(c) for c in classes]
    wide = max(9, *(len(c) for c in labels))  # the predicted column fits every class
    header = "P(pos)" if len(classes) == 2 else "P(pred)"
    p_width = len(header)
    typer.echo(f"{'#':>5}  {'predicted':<{wide}}  {header:>{p_width}}  {'kept':<9}  text")
    for number, (row, result) in enumerate(results, 1):
        if result["error"]:
            typer.echo(f"{number:>5}  error: {printable(result['error'])}")
            continue
        text = printable(" ".join(str(row.text).split()))
        room = max(10, width - 23 - wide - p_width)
        text = text if len(text) <= room else text[: room - 1] + "…"
        label = printable(result["predicted"])
        line = f"{number:>5}  {label:<{wide}}  {result['probability']:>{p_width}.4f}  "
        typer.echo(line + f"{result['kept']:<9}  {text}")


def explain(
    run_dir: RunDirArg,
    text: Annotated[str, typer.Argument(help="The review; - reads it from stdin.")],
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the explanation as an HTML page.")
    ] = None,
    long: LongOpt = None,
    top: Annotated[int, typer.Option(help="Words listed for each direction.")] = 5,
    target_class: Annotated[
        str | None,
        typer.Option(
            "--target-class",
            metavar="NAME",
            help="The class whose probability is explained, one of the run's classes. "
            "Default: two classes, positive (the second); more, the predicted class.",
        ),
    ] = None,
    cpu: CpuOpt = False,
) -> None:
    """Which words pushed the prediction which way, by OCCLUSION.

    Each word the model reads is removed in turn and the review scored again: a word's
    contribution is P(class) minus P(class) without it, for the --target-class (default:
    positive for two classes, the predicted class for more). Shown as coloured text (green
    towards that class, red away from it) and the top words each way.

    Example: gru-sentiment explain runs/tutorial "Great cast, but the plot was dull." --html e.html
    """
    check_positive(top=top)
    from ..inference.explain import to_ansi, to_html
    from ..io.destinations import check_output_file
    from ..io.files import write_text

    if html is not None:  # before the model loads: a bad destination costs nothing
        load_or_fail(check_output_file, html, "the explanation")
    if text == "-":
        text = sys.stdin.read()

    model = load_model(run_dir, cpu, long)
    try:
        explanation = model.explain(text, long, target_class)
    except ValueError as err:
        fail(str(err))
    typer.echo(to_ansi(explanation, top))
    if html is not None:
        write_text(html, to_html(explanation))
        typer.echo(f"wrote {html}")


LIMITS = Limits()  # the `serve` options' defaults


def limit_option(name: str):
    """The `serve` option for field `name` of `Limits`, with the help text kept there."""
    return typer.Option(help=Limits.help(name))


def serve(
    run_dir: RunDirArg,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    # Defaults and help from `Limits`, so the command and the library agree on both.
    max_body_bytes: Annotated[int, limit_option("max_body_bytes")] = LIMITS.max_body_bytes,
    max_texts: Annotated[int, limit_option("max_texts")] = LIMITS.max_texts,
    max_chars: Annotated[int, limit_option("max_chars")] = LIMITS.max_chars,
    max_explain_tokens: Annotated[
        int, limit_option("max_explain_tokens")
    ] = LIMITS.max_explain_tokens,
    explain_seconds: Annotated[float, limit_option("explain_seconds")] = LIMITS.explain_seconds,
    body_seconds: Annotated[float, limit_option("body_seconds")] = LIMITS.body_seconds,
    header_seconds: Annotated[float, limit_option("header_seconds")] = LIMITS.header_seconds,
    keep_alive_seconds: Annotated[
        float, limit_option("keep_alive_seconds")
    ] = LIMITS.keep_alive_seconds,
    max_concurrency: Annotated[int, limit_option("max_concurrency")] = LIMITS.max_concurrency,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
    cpu: CpuOpt = False,
) -> None:
    """Serve the model over HTTP: a page at /, POST /predict and /explain, GET /health.

    The API is described at /docs (Swagger UI, loaded from the internet) and
    /openapi.json; the page at / works offline. Word contributions are by occlusion.
    Limits answer 408 / 413 / 422 / 503 with a JSON error naming the limit.

    Example: gru-sentiment serve runs/tutorial --port 8000
    """
    limits = Limits(
        max_body_bytes=max_body_bytes,
        max_texts=max_texts,
        max_chars=max_chars,
        max_explain_tokens=max_explain_tokens,
        explain_seconds=explain_seconds,
        body_seconds=body_seconds,
        header_seconds=header_seconds,
        keep_alive_seconds=keep_alive_seconds,
        max_concurrency=max_concurrency,
    )
    check_positive(port=port, **asdict(limits))
    model = load_model(run_dir, cpu)
    from ..serve.app import serve as run_server

    typer.echo(f"serving {model.name} on http://{host}:{port}/ (API docs at /docs)")
    run_server(model, host, port, limits, access_log)
