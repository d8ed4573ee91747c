import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY, make_jsonl, review
from typer.testing import CliRunner

from gru_sentiment.cli import app
from gru_sentiment.config import Config, preset
from gru_sentiment.data.splits import DataSpec
from gru_sentiment.io import runs
from gru_sentiment.model.networks import count_params
from gru_sentiment.train.experiments import EXPERIMENTS, NAMES, config_key, run_command
from gru_sentiment.train.experiments.catalogue import UNITS, lstm_units_like_gru
from gru_sentiment.train.experiments.runner import EPOCHS, SEEDS, TEST_LIMIT, TRAIN_LIMIT
from gru_sentiment.train.experiments.summary import conclusion, write_overview

runner = CliRunner()
ROWS = {"maxlen": 5, "cell": 3, "conv-gru": 4, "threshold": 6}
# The base every experiment here varies: tiny, and equal to three variants (max_len=100,
# GRU, stacked), whose rows then reuse its run instead of training their own. Whole
# splits in one batch, padded to their longest review: few graphs, few steps.
BASE = [
    *TINY,
    "--set",
    "text.max_len=100",
    "--set",
    "network.units=32",
    "--set",
    "network.units2=16",
]
BASE += ["--set", "network.dropout=0.0", "--set", "fit.batch_size=128"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The tiny corpus, plus test reviews of 150 to 900 words that each max_len truncates
    (in test only: a long training review would make every training batch that long)."""
    path = make_jsonl(tmp_path_factory.mktemp("data") / "corpus.jsonl", 120, 60)
    rng = np.random.default_rng(1)
    long = [
        {"id": f"test-long-{n}", "text": review(rng, n % 2, n), "label": n % 2, "split": "test"}
        for n in (150, 301, 500, 900)
    ]
    with path.open("a") as f:
        f.writelines(json.dumps(row) + "\n" for row in long)
    return path


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """Results folders over one runs folder and one records folder, so that a run several
    experiments share (the base) trains once for the module: a cache, whichever test asks
    first, that no test counts on."""
    return tmp_path_factory.mktemp("experiments")


@pytest.fixture(scope="module")
def ran(corpus, shared):
    """`ran(name)`: experiment `name` run in `shared` by the first test that asks for it,
    its CLI result and results.json."""
    done = {}

    def run(name):
        if name not in done:
            done[name] = experiment(name, corpus, shared / name)
        return done[name]

    return run


def experiment(name, corpus, out, *extra):
    args = ["experiment", name, "--data", str(corpus), "--out", str(out), "--epochs", "1"]
    args += ["--runs-dir", str(out.parent / "runs")]
    result = runner.invoke(app, [*args, "--seeds", "1", *BASE, *extra])
    assert result.exit_code == 0, result.output
    return result, json.loads((out / "results.json").read_text())


@pytest.mark.parametrize("name", ["maxlen", "cell", "conv-gru", "threshold"])
def test_experiment_writes_its_answer_table_and_plots(name, ran, shared):
    out = shared / name
    _, results = ran(name)
    assert len(results["rows"]) == ROWS[name]
    # Variations of the tutorial's model (masked and bucketed, tiny here), whatever the
    # default preset.
    assert {"preset", "network.arch", "network.cell"}.isdisjoint(results["base"])
    assert results["base"]["network.mask"] and results["base"]["fit.bucket"]
    assert "cores" in results["machine"]  # the CPU that trained the runs
    table = (out / "results.md").read_text()
    assert table.startswith(f"# Experiment `{name}`: {results['question']}\n\n> ")
    assert table.count("\n> ") == 2 and results["conclusion"][0] in table  # the answer first
    assert table.count("\n| ") == ROWS[name] + 1  # heading + one line per row
    assert " ± " in table and (out / f"{name}.png").stat().st_size > 5000
    for row in results["rows"]:
        assert {"mean", "std"} <= set(row["accuracy"])
    if name == "threshold":
        return
    assert (out / f"{name}-curves.png").stat().st_size > 5000
    # One epoch (the cap here): every run is flagged as still learning, and the table says so.
    assert "Still learning at the 1-epoch cap" in table
    records = [Path(run["record"]) for row in results["rows"] for run in row["runs"]]
    assert not any(r.is_absolute() for r in records)  # committed tables hold no machine's paths
    configs = [Config.from_dict(json.loads(r.read_text())["config"]) for r in records]
    if name == "cell":
        gru, same_units, same_params = (r["params"]["mean"] for r in results["rows"])
        assert gru < same_units and abs(same_params - gru) / gru < 0.02
    if name == "maxlen":
        assert [c.text.max_len for c in configs] == [100, 200, 400, 800, 100_000]
        truncated = [r["truncated"]["mean"] for r in results["rows"]]
        assert truncated[0] > 0 and truncated[-1] == 0 and truncated == sorted(truncated)[::-1]
        assert "test reviews truncated" in table
    if name == "conv-gru":
        assert [(c.network.arch, c.network.mask, c.text.max_len) for c in configs] == [
            ("stacked", True, 100),
            ("conv_gru", True, 100),
            ("conv_gru", False, 100),
            ("conv_gru", True, 200),  # twice the tokens: the plain GRUs' steps
        ]


def test_the_catalogue_is_the_one_list_of_experiments():
    assert NAMES == ("maxlen", "cell", "units", "conv-gru", "threshold", "embeddings")
    for name, entry in EXPERIMENTS.items():
        assert entry.name == name and "\n" not in entry.question
        assert entry.question.endswith("?")


def test_the_grids_of_the_experiments_that_are_not_trained_here():
    base = preset("tutorial").set({"network.mask": True, "fit.bucket": True})
    grid = EXPERIMENTS["units"].rows(base)
    assert len(grid) == len(UNITS) * 3
    assert [v.changes for v in grid].count({}) == 1  # the base's own row: units 64/32, 0.2
    assert next(v.label for v in grid if not v.changes) == "units 64/32, dropout 0.2"
    assert [v.changes for v in EXPERIMENTS["maxlen"].rows(base)][1] == {}  # the base's 200
    assert [v.changes for v in EXPERIMENTS["embeddings"].rows(base)] == [
        {},
        {"init.word2vec": True},
        {"init.lm": True},
    ]
    units, units2 = lstm_units_like_gru(base)
    gru = count_params(base)
    lstm = count_params(
        base.set({"network.cell": "lstm", "network.units": units, "network.units2": units2})
    )
    assert units < base.network.units and abs(lstm - gru) / gru < 0.01


def test_the_answer_weighs_the_difference_against_the_seed_spread():
    def row(variant, accuracy, std, validation, changes=None, best_epoch=3):
        stat = lambda mean, spread=0.0: {"mean": mean, "std": spread}  # noqa: E731
        return {
            "variant": variant,
            "changes": changes if changes is not None else {"x": 1},
            "accuracy": stat(accuracy, std),
            "validation_accuracy": stat(validation),
            "seconds_per_epoch": stat(10.0),
            "params": stat(1000),
            "runs": [{"best_epoch": best_epoch}],
        }

    results = {"experiment": "cell", "epochs": 10}
    results["rows"] = [row("GRU", 0.85, 0.01, 0.84, {}), row("LSTM", 0.88, 0.01, 0.87)]
    first, second = conclusion(results)
    assert first == (
        "Validation prefers LSTM: test accuracy 88.00% against 85.00% for GRU, "
        "+3.00 ± 1.41 points (beyond the seed-to-seed spread)."
    )
    assert second.endswith("every run stopped early (best epoch below the cap).")
    # The base best on validation: compared with the runner-up; a run at the cap is named.
    results["rows"] = [row("GRU", 0.85, 0.02, 0.88, {}), row("LSTM", 0.86, 0.02, 0.87, None, 10)]
    first, second = conclusion(results)
    assert first.startswith("Validation prefers GRU: test accuracy 85.00% against 86.00% for")
    assert "-1.00 ± 2.83 points (within the seed-to-seed spread)" in first
    assert second.endswith("still learning at the cap: LSTM.")


def test_embeddings_from_a_vectors_file(corpus, shared, tmp_path):
    """GloVe / fastText text format: the embedding takes the file's dimension (8, the tiny
    model's, so the from-scratch row is the base's run, shared with the other tests)."""
    words = ["great", "awful", "movie", "the", "plot"]
    lines = [w + "".join(f" {(i + j) / 10:.1f}" for j in range(8)) for i, w in enumerate(words)]
    vectors = tmp_path / "tiny.vec"
    vectors.write_text(f"{len(words)} 8\n" + "\n".join(lines) + "\n")
    result, results = experiment(
        "embeddings", corpus, shared / "vectors", "--vectors", str(vectors)
    )
    scratch, pretrained = (r["changes"] for r in results["rows"])
    assert scratch == {}  # the base's own dimension
    assert pretrained == {"init.vectors": str(vectors.resolve())}
    assert "embedding initialised from" in result.output


def test_threshold_chosen_on_validation_is_the_one_train_stored(corpus, ran, shared):
    """Sweeping a trained run's predictions chooses the threshold train stored for predict."""
    _, swept = ran("threshold")
    trained = Path(swept["runs"][0])
    out = shared / "threshold-run"
    _, results = experiment("threshold", corpus, out, "--run", str(trained))
    stored = json.loads((trained / runs.METRICS).read_text())["decision_threshold"]
    assert results["chosen"] == [{"run": str(trained), "chosen": stored, "stored": stored}]
    assert results["rows"][-1]["variant"] == "chosen on validation"
    assert results["rows"][-1]["threshold"]["mean"] == pytest.approx(stored)


def test_rows_are_means_over_seeds_and_records_are_reused(corpus, ran, tmp_path):
    """Seed 42's runs, recorded (copied here from the shared run of conv-gru), are
    reused from their records; the records alone, without the run folders (as on another
    machine after the records were committed), give the same table without training."""
    records = tmp_path / "records"
    records.mkdir()
    for row in ran("conv-gru")[1]["rows"]:
        for run in row["runs"]:
            shutil.copy(run["record"], records)
    out = tmp_path / "conv-gru"
    first, results = experiment("conv-gru", corpus, out, "--seeds", "2")
    assert first.output.count("recorded in") == 4
    assert [r["variant"] for r in results["rows"]] == [
        "GRU (stacked)",
        "Conv1D + GRU",
        "Conv1D + GRU, no mask",
        "Conv1D + GRU, 200 tokens",
    ]
    for row in results["rows"]:
        assert [r["seed"] for r in row["runs"]] == [42, 43]
        accuracies = [r["accuracy"] for r in row["runs"]]
        assert row["accuracy"]["mean"] == pytest.approx(sum(accuracies) / 2)
    shutil.rmtree(tmp_path / "runs")
    again, rerun = experiment("conv-gru", corpus, out, "--seeds", "2")
    assert again.output.count("recorded in") == 8 and "loading data" not in again.output
    assert rerun["rows"] == results["rows"]


def test_a_key_names_the_data_by_file_name_and_size(tmp_path):
    """Copies of the data in two places give one key (the committed records are found on
    another machine, from any folder); other contents give another."""
    cfg = preset("tutorial")
    here, there = tmp_path / "a" / "reviews.jsonl", tmp_path / "b" / "reviews.jsonl"
    for path, text in ((here, "same"), (there, "same")):
        path.parent.mkdir()
        path.write_text(text)
    key = config_key(cfg, DataSpec(path=str(here)))
    assert config_key(cfg, DataSpec(path=str(there))) == key
    there.write_text("longer")
    assert config_key(cfg, DataSpec(path=str(there))) != key


@pytest.mark.parametrize("value, same_key", [("off", True), ("on", False)])
def test_a_field_added_later_changes_no_key(value, same_key, monkeypatch):
    """A new option that keeps the old behaviour by default leaves the runs of a grid
    that took hours where they are (runs.ADDED_FIELDS records what older runs had)."""
    cfg, spec = preset("tutorial"), DataSpec(path="reviews.jsonl")
    key = config_key(cfg, spec)
    grown = cfg.identity() | {"new_option": value}
    monkeypatch.setattr(Config, "identity", lambda self: grown)
    monkeypatch.setitem(runs.ADDED_FIELDS["config"], "new_option", "off")
    assert (config_key(cfg, spec) == key) is same_key


def test_the_overview_answers_from_converged_results_only(ran, tmp_path):
    """maxlen's results as if its runs had stopped early (a cap above their best epoch):
    answered, charted; cell's runs reached the cap: not answered; the rest never ran."""
    folder = tmp_path / "experiments"
    for name in ("maxlen", "cell"):
        found = dict(ran(name)[1])  # a copy: the cached results stay as they ran
        (folder / name).mkdir(parents=True)
        if name == "maxlen":
            found["epochs"] = 5
        (folder / name / "results.json").write_text(json.dumps(found))
    page = write_overview(folder, tmp_path / "docs" / "experiments.md").read_text()
    sections = page.split("\n## ")[1:]
    assert [s.split("\n")[0] for s in sections] == [
        "Does reading more of each review pay? (`maxlen`)",
        "Is a GRU faster or better than an LSTM? (`cell`)",
        "How many units and how much dropout? (`units`)",
        "Does a Conv1D front help the GRU? (`conv-gru`)",
        "Which decision threshold? (`threshold`)",
        "Do pretrained embeddings help? (`embeddings`)",
    ]
    assert found_answer(sections[0], folder / "maxlen") and "(../experiments/maxlen/" in page
    assert all("Not answered yet" in section for section in sections[1:])
    assert "`gru-sentiment experiment cell --full`" in sections[1]
    assert "![accuracy against seconds per epoch](../experiments/overview.png)" in page
    assert (folder / "overview.png").stat().st_size > 5000


def found_answer(section: str, folder: Path) -> bool:
    conclusion = json.loads((folder / "results.json").read_text())["conclusion"]
    return all(line in section for line in conclusion)


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope"], "unknown experiment 'nope'"),
        (["maxlen", "--full", "--train-limit", "10"], "--full uses all the data"),
        (["maxlen", "--run", "."], "--run applies to the threshold experiment only"),
        (["threshold", "--run", "/does/not/exist"], "is not a run folder"),
        (["embeddings", "--vectors", "/does/not/exist.vec"], "vectors file does not exist"),
        (["units", "--seeds", "0"], "--seeds must be a positive number"),
        (["units", "--set", "colour=blue"], "--set expects FIELD=VALUE"),
    ],
)
def test_bad_experiment_input_is_one_clear_error(args, message):
    result = runner.invoke(app, ["experiment", *args])
    assert result.exit_code == 2 and message in result.output


def test_the_command_applies_the_defaults_and_trains_through_the_engine_given(corpus, tmp_path):
    """Another engine's runner (Ray's, from the CLI) gets the jobs, made with the defaults:
    the subset, the epoch cap, the seeds, the masked and bucketed tutorial model."""
    seen = {}

    class Stop(Exception):
        pass

    def remote():
        def train_all(jobs, spec, log):
            seen.update(jobs=jobs, spec=spec)
            raise Stop  # what it was given is the point, not the training

        return train_all

    with pytest.raises(Stop):
        run_command("conv-gru", str(corpus), tmp_path / "out", engine="ray", remote=remote)
    assert (seen["spec"].train_limit, seen["spec"].test_limit) == (TRAIN_LIMIT, TEST_LIMIT)
    assert len(seen["jobs"]) == ROWS["conv-gru"] * SEEDS
    assert {job.cfg.seed for job in seen["jobs"]} == {42 + i for i in range(SEEDS)}
    assert all(job.cfg.fit.epochs == EPOCHS and job.cfg.fit.bucket for job in seen["jobs"])
    assert seen["jobs"][0].cfg.network.mask  # the base's row (one row drops the mask on purpose)
    with pytest.raises(ValueError, match="needs the runner"):
        run_command("conv-gru", str(corpus), tmp_path / "out", engine="ray")
