"""The `gru-sentiment` command: every command module's functions, registered on one app.

Command modules never import this one; it imports them, so adding a command is one
function in a module and one line here.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ..runtime import VERBOSE
from . import apply, export, report, settings, train, tune

app = typer.Typer(
    help="GRU sentiment classification of movie reviews: explore, train, evaluate, apply.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Let the backend's own log lines through.")
    ] = False,
) -> None:
    """GRU sentiment classification of movie reviews: explore, train, evaluate, apply."""
    if verbose:
        os.environ[VERBOSE] = "1"


# In the order `--help` lists them: the flow from data to a served model.
app.command()(report.eda)
app.command()(train.pretrain)
app.command()(settings.config)
app.command()(train.train)
app.command()(train.baseline)
app.command("evaluate")(train.evaluate_cmd)
app.command()(report.report)
app.command()(report.experiment)
app.command()(tune.tune)
app.command()(train.params)
app.command()(apply.predict)
app.command()(apply.explain)
app.command()(apply.serve)
app.command()(export.export)
