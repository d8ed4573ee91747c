"""Searching configs on Ray Tune: `gru-sentiment tune`.

Optuna's TPE proposes values for the fields of a search space on top of a base config; a
trial trains its config for each seed as ordinary run folders (OUT/runs/<config
hash>/seed-<n>, named as `experiment` names them) and reports every epoch's validation
accuracy, so that ASHA stops weak trials after an epoch or two. The objective is
validation accuracy (the mean over seeds), never test. In OUT:

    search/            Tune's state: `--resume` continues an interrupted search
    settings.json      base config, space, data, seeds: what --resume searches with
    trials.md, .json   each trial: its values, validation accuracy, epochs, seconds
    best.png           the best validation accuracy so far, against trials
    best-preset.json   the best trial's config, for `train --preset-file`
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..config import Config
from ..data.splits import DataSpec
from ..errors import RunError
from ..io.files import read_json, write_json, write_text
from ..train.experiments import config_key
from .presets import write_preset
from .session import connect
from .spaces import distributions
from .trials import train_reporting

METRIC = "validation_accuracy"
SEARCH = "search"  # Tune's experiment folder in OUT
SETTINGS = "settings.json"


@dataclass(frozen=True)
class Settings:
    """What a search needs, saved in OUT so that --resume continues the same search."""

    base: Config
    space: dict
    spec: DataSpec
    seeds: list[int]
    trials: int
    cpus_per_trial: float = 1.0
    max_minutes: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)  # base and spec, dataclasses too, as dicts

    @classmethod
    def load(cls, out: Path) -> Settings:
        if not (out / SETTINGS).is_file() or not (out / SEARCH).is_dir():
            raise RunError(f"{out} holds no search to resume")
        values = read_json(out / SETTINGS)
        base, spec = Config.from_dict(values.pop("base")), DataSpec(**values.pop("spec"))
        return cls(base, spec=spec, **values)


def run_search(
    out: Path,
    settings: Settings | None = None,
    address: str | None = None,
    log: Callable = print,
) -> list[dict]:
    """Run the search `settings` describes into `out`, or, when None, resume the one in
    `out`; write the table, plot and best preset; the trials' rows."""
    out = Path(out).resolve()
    resume = settings is None
    if resume:
        settings = Settings.load(out)
    elif (out / SEARCH).exists():
        raise RunError(f"{out} holds a search already: pass --resume, or choose another --out")
    else:
        write_json(out / SETTINGS, settings.to_dict())
    with connect(address, math.ceil(settings.cpus_per_trial)):
        grid = _tuner(settings, out, resume).fit()
        rows = [_row(result, settings, out) for result in grid]  # in the order they started
    write_results(rows, settings, out)
    log(f"wrote {out / 'trials.md'}, trials.json, best.png and best-preset.json")
    complete = sum(row["status"] == "complete" for row in rows)
    log(
        f"{complete} of {settings.trials} trials complete; the others were stopped early by "
        "ASHA, failed, or were interrupted (Ctrl+C, --max-minutes): --resume continues the "
        "failed and interrupted ones"
    )
    return rows


def _tuner(settings: Settings, out: Path, resume: bool):
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    trial = tune.with_parameters(
        _trial, base=settings.base, spec=settings.spec, seeds=settings.seeds, runs=out / "runs"
    )
    trainable = tune.with_resources(trial, {"cpu": settings.cpus_per_trial})
    if resume:  # finished trials are kept, unfinished and failed ones run again
        return tune.Tuner.restore(str(out / SEARCH), trainable, resume_errored=True)
    # A trial reports once per epoch of each seed's run, then its result: ASHA compares
    # trials after 1, 2, 4, ... epochs and stops the weaker half at each step.
    epochs = settings.base.fit.epochs * len(settings.seeds)
    goal = {"metric": METRIC, "mode": "max"}
    tune_config = tune.TuneConfig(
        search_alg=OptunaSearch(distributions(settings.space), seed=settings.base.seed, **goal),
        scheduler=ASHAScheduler(max_t=epochs + 1, grace_period=1, reduction_factor=2, **goal),
        num_samples=settings.trials,
        time_budget_s=settings.max_minutes * 60 if settings.max_minutes else None,
    )
    run_config = tune.RunConfig(name=SEARCH, storage_path=str(out), verbose=1)
    return tune.Tuner(trainable, tune_config=tune_config, run_config=run_config)


def _trial(params: dict, base: Config, spec: DataSpec, seeds: list[int], runs: Path) -> None:
    """One Tune trial: `params` on top of `base`, trained for each seed."""
    from ray import tune

    def report(row: dict) -> None:
        tune.report({METRIC: row["val_accuracy"], "epoch": int(row["epoch"])})

    cfg, scores = base.set(params), []
    for seed, run_dir in run_dirs(cfg, spec, seeds, runs).items():
        metrics = train_reporting(cfg.replace(seed=seed).validate(), run_dir, spec, report)
        scores.append(metrics[METRIC])
    tune.report({METRIC: float(np.mean(scores)), "complete": True})


def run_dirs(cfg: Config, spec: DataSpec, seeds: list[int], runs: Path) -> dict[int, Path]:
    """The run folder of `cfg` for each seed."""
    return {
        seed: runs / config_key(cfg.replace(seed=seed), spec) / f"seed-{seed}" for seed in seeds
    }


def _row(result, settings: Settings, out: Path) -> dict:
    """A trial's row of the table, from its last Tune result."""
    metrics, config = result.metrics or {}, result.config or {}
    # stopped: by ASHA, or by an interruption (then --resume finishes it)
    status = "complete" if metrics.get("complete") else "error" if result.error else "stopped"
    folders = run_dirs(settings.base.set(config), settings.spec, settings.seeds, out / "runs")
    return {
        "trial": metrics.get("trial_id") or Path(result.path).name,
        "status": status,
        METRIC: metrics.get(METRIC),
        "reports": metrics.get("training_iteration", 0),
        "seconds": round(metrics.get("time_total_s", 0.0), 1),
        "config": config,
        "runs": [str(folder) for folder in folders.values()],
    }


def write_results(rows: list[dict], settings: Settings, out: Path) -> None:
    """trials.json, trials.md, best.png and, once a trial is complete, best-preset.json."""
    complete = [row for row in rows if row["status"] == "complete"]
    best = max(complete, key=lambda row: row[METRIC], default=None)
    write_json(out / "trials.json", {"metric": METRIC, "best": best, "trials": rows})
    write_text(out / "trials.md", to_markdown(rows, settings, best))
    _plot_best(rows, out / "best.png")
    if best is not None:
        write_preset(out / "best-preset.json", settings.base.set(best["config"]))


def to_markdown(rows: list[dict], settings: Settings, best: dict | None) -> str:
    fields = list(settings.space)
    lines = [
        "# Search",
        "",
        f"Objective: {METRIC} (mean over seeds {', '.join(map(str, settings.seeds))}); "
        f"base: the `{settings.base.preset}` preset; {len(rows)} trials.",
        "",
        "| trial | status | validation accuracy | reports | seconds | " + " | ".join(fields) + " |",
        "|---" * (5 + len(fields)) + "|",
    ]
    for row in rows:
        score = "–" if row[METRIC] is None else f"{row[METRIC]:.4f}"
        values = [_cell(row["config"].get(name, "")) for name in fields]
        cells = [row["trial"], row["status"], score, str(row["reports"]), f"{row['seconds']:.0f}"]
        lines.append("| " + " | ".join(cells + values) + " |")
    if best is not None:
        lines += ["", f"Best: trial {best['trial']}, {METRIC} {best[METRIC]:.4f}."]
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _plot_best(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    scores = np.array([np.nan if row[METRIC] is None else row[METRIC] for row in rows], float)
    complete = np.array([row["status"] == "complete" for row in rows])
    numbers = np.arange(1, len(rows) + 1)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(numbers, scores, "o", alpha=0.5, label="trial (stopped ones: their last epoch)")
    best = np.fmax.accumulate(np.where(complete, scores, np.nan))  # complete trials only
    ax.step(numbers, best, where="post", label="best so far")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel("validation accuracy")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
