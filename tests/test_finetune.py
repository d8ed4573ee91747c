"""ULMFiT's fine-tuning: gradual unfreezing, discriminative learning rates, the slanted
triangular schedule; a resumed run continues them where it stopped; a run with all three
trains, reloads and predicts."""

import csv
import math

import keras
import numpy as np
import pytest
from conftest import TINY, tiny_network
from typer.testing import CliRunner

from gru_sentiment.config import Config, parse_overrides
from gru_sentiment.errors import ConfigError
from gru_sentiment.io import runs
from gru_sentiment.model import training
from gru_sentiment.model.batching import PaddedBatches
from gru_sentiment.model.finetune import EpochClock, LayerwiseAdam, SlantedTriangular
from gru_sentiment.model.networks import build_model

CFG = tiny_network()
GROUPS = ("embedding", "encoder", "positive")  # bottom, middle, and the head's output layer


def data(n: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 12) ids whose label is whether token 5 occurs."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, CFG.text.vocab_size, (n, CFG.text.max_len)).astype(np.int32)
    return ids, (ids == 5).any(axis=1).astype(np.float32)


def weights(model: keras.Model) -> dict[str, list[np.ndarray]]:
    return {name: model.get_layer(name).get_weights() for name in GROUPS}


def changed(before: list[np.ndarray], after: list[np.ndarray]) -> bool:
    return any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_off_by_default_and_validated():
    assert type(build_model(CFG).optimizer) is keras.optimizers.Adam  # as before
    for assignment in (
        "fit.finetune.unfreeze=all",
        "fit.finetune.schedule=cosine",
        "fit.finetune.discriminative=0.5",
    ):
        with pytest.raises(ConfigError, match=f"{assignment.partition('=')[0]} must be"):
            parse_overrides(CFG, [assignment])


def test_gradual_unfreezing_trains_one_more_group_each_epoch():
    keras.utils.set_random_seed(0)
    model = build_model(CFG.set({"fit.finetune.unfreeze": "gradual"}))
    ids, labels = data()
    trained = []  # per epoch: which groups moved
    for epoch in range(3):
        before = weights(model)
        model.fit(
            ids,
            labels,
            batch_size=8,
            epochs=epoch + 1,
            initial_epoch=epoch,
            callbacks=[EpochClock()],  # tells the optimizer which epoch begins
            verbose=0,
        )
        after = weights(model)
        trained.append([name for name in GROUPS if changed(before[name], after[name])])
    assert trained == [["positive"], ["encoder", "positive"], list(GROUPS)]


def one_step(cfg: Config, start: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
    """How far one optimizer step on one batch moves each group's weights from `start`."""
    model = build_model(cfg)
    model.set_weights(start)
    before = weights(model)
    model.train_on_batch(*data(8))
    after = weights(model)
    return {
        name: [a - b for a, b in zip(after[name], before[name], strict=True)] for name in GROUPS
    }


def test_discriminative_rates_divide_each_lower_groups_step_by_d():
    d = 2.6
    start = build_model(CFG).get_weights()
    plain, scaled = (
        one_step(CFG, start),
        one_step(CFG.set({"fit.finetune.discriminative": d}), start),
    )
    for name, factor in (("embedding", d**-2), ("encoder", d**-1), ("positive", 1.0)):
        for moved, moved_at_1 in zip(scaled[name], plain[name], strict=True):
            assert np.abs(moved_at_1).max() > 0, name
            # atol: a float32 weight near 1 is stored to 6e-8, so is each difference
            np.testing.assert_allclose(moved, moved_at_1 * factor, rtol=1e-3, atol=2e-7)


def ulmfit(t: int, total: int, peak: float, cut_frac: float = 0.1, ratio: float = 32) -> float:
    """Howard & Ruder (2018), equation 3."""
    cut = math.floor(total * cut_frac)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return peak * (1 + p * (ratio - 1)) / ratio


def test_the_slanted_schedule_follows_ulmfits_formula_and_serializes():
    schedule = SlantedTriangular(0.01, 1000)
    for step in (0, 100, 999, 1000):
        assert float(schedule(step)) == pytest.approx(ulmfit(step, 1000, 0.01), rel=1e-5)
    assert float(schedule(0)) == pytest.approx(0.01 / 32)
    assert float(schedule(100)) == pytest.approx(0.01)  # the peak
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert float(again(500)) == float(schedule(500))
    # 12 steps: cut_frac * 12 < 1, yet the rise lasts one step and the fall ends at step 12.
    tiny = [float(SlantedTriangular(0.01, 12)(t)) for t in range(13)]
    assert tiny[1] == pytest.approx(0.01) and tiny[12] == pytest.approx(0.01 / 32)
    assert tiny[0] < tiny[1] and np.all(np.diff(tiny[1:]) < 0)


@pytest.mark.backend
def test_a_killed_run_resumes_at_the_same_stage_step_and_weights(tmp_path, monkeypatch):
    cfg = CFG.set(
        {
            "fit.epochs": 3,
            "fit.finetune.unfreeze": "gradual",
            "fit.finetune.discriminative": 2.6,
            "fit.finetune.schedule": "slanted",
        }
    )
    ids, labels = data(48)
    seqs = list(ids)

    def run(folder, log=print):
        keras.utils.set_random_seed(0)  # the same initial weights
        train = PaddedBatches(seqs[:32], labels[:32], cfg.fit.batch_size, cfg.text.max_len)
        val = PaddedBatches(seqs[32:], labels[32:], cfg.fit.batch_size, cfg.text.max_len)
        return training.fit(build_model(cfg), cfg, train, val, tmp_path / folder, log)

    _, whole = run("whole")
    write_json = training.write_json

    def killed_after_saving(path, state):  # epoch 1's checkpoint and state are written
        write_json(path, state)
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(training, "write_json", killed_after_saving)
        with pytest.raises(KeyboardInterrupt):
            run("resumed")
    checkpoint = keras.models.load_model(tmp_path / "resumed" / "last-1.keras")
    assert isinstance(checkpoint.optimizer, LayerwiseAdam)
    assert int(checkpoint.optimizer.iterations) == 4  # 32 reviews / 8 per step
    lines = []
    _, resumed = run("resumed", lines.append)
    assert "resuming after epoch 1 of 3" in lines
    # The schedule went on from step 4 (the same learning rate after every epoch), and the
    # encoder and embedding unfroze on time (the same final weights).
    assert [row["lr"] for row in resumed["history"]] == [row["lr"] for row in whole["history"]]
    last = {
        name: keras.models.load_model(tmp_path / name / state["last_model"]).get_weights()
        for name, state in (("whole", whole), ("resumed", resumed))
    }
    for a, b in zip(last["whole"], last["resumed"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_train_with_all_three_reloads_and_predicts(tmp_path, corpus_jsonl):
    from gru_sentiment import SentimentModel
    from gru_sentiment.cli import app

    run_dir = tmp_path / "run"
    args = ["train", "--preset", "tutorial", "--data", str(corpus_jsonl), "--out", str(run_dir)]
    args += [
        "--epochs",
        "3",
        *TINY,
        "--set",
        "fit.finetune.unfreeze=gradual",
        "--set",
        "fit.finetune.discriminative=2.6",
    ]
    result = CliRunner().invoke(app, [*args, "--set", "fit.finetune.schedule=slanted"])
    assert result.exit_code == 0, result.output
    # 64 train reviews, 16 a step: 12 steps, the last at learning_rate / 32, none reduced
    # by ReduceLROnPlateau in between
    history = csv.DictReader((run_dir / runs.HISTORY).read_text().splitlines())
    lrs = [float(row["lr"]) for row in history]
    assert lrs == sorted(lrs, reverse=True) and lrs[-1] == pytest.approx(1e-3 / 32)
    model = SentimentModel.load(run_dir)
    predictions = model.predict(["great wonderful film", "awful boring plot"])
    assert len(predictions) == 2 and all(0 <= p.probability <= 1 for p in predictions)
    cfg = model.cfg
    tuning = cfg.fit.finetune
    assert (tuning.unfreeze, tuning.discriminative, tuning.schedule) == ("gradual", 2.6, "slanted")
