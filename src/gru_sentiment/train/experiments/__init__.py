"""The tutorial's "ideas to explore" as experiments: variations of one base config, each
trained over several seeds, summarised as mean ± std in a table and a plot.

`catalogue` holds the experiments (question, variants, how the answer is read),
`runner` trains their runs and writes the results, `summary` reads the answers off them.

Every run is an ordinary run folder `RUNS/<config hash>/seed-<n>/`, named by its
configuration and data, so an interrupted experiment resumes (complete runs are reused, an
unfinished one resumes its epochs) and a configuration several experiments share (the
base) trains once. What the tables need of a complete run goes into a small record beside
the results (`experiments/records/<config hash>-seed-<n>.json`), committed: a table whose
runs all have records regrows from them (on data of the same name and size), and a grid
that takes longer than one machine's session resumes on the next machine without the
run folders.
"""

from .catalogue import EXPERIMENTS, NAMES, Experiment, Variant
from .runner import (
    LOCAL,
    Job,
    TrainAll,
    config_key,
    run_command,
    run_experiment,
    save_record,
    train_each,
)
from .summary import to_markdown, write_overview

__all__ = [
    "EXPERIMENTS",
    "LOCAL",
    "NAMES",
    "Experiment",
    "Job",
    "TrainAll",
    "Variant",
    "config_key",
    "run_command",
    "run_experiment",
    "save_record",
    "to_markdown",
    "train_each",
    "write_overview",
]
