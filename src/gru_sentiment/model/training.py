"""Fitting with the tutorial's callbacks, made resumable.

Early stopping (on `cfg.fit.monitor`, best weights restored) and ReduceLROnPlateau (on
val_loss; off under a slanted schedule) follow the exact rules of the Keras callbacks of
the same name, but live in one callback whose state is saved after every epoch together
with the model and optimizer. A killed run restarts from its last finished epoch with the
same stopping / learning-rate state.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import keras

from ..config import Config
from ..io.files import read_json, write_atomic, write_json
from .finetune import EpochClock
from .networks import build_model, compile_model

STATE_FILE = "state.json"
LR_MIN_DELTA = 1e-4  # ReduceLROnPlateau's default; EarlyStopping's is 0


class ResumableTraining(keras.callbacks.Callback):
    """EarlyStopping on `cfg.fit.monitor` + ReduceLROnPlateau on val_loss, checkpointing after
    each epoch."""

    def __init__(self, cfg: Config, checkpoint_dir: Path, state: dict | None, log: Callable):
        super().__init__()
        self.cfg = cfg
        self.dir = checkpoint_dir
        self.log = log
        self.state = state or {
            "epochs_done": 0,
            "history": [],
            "best": None,  # the best value of cfg.fit.monitor so far
            "best_epoch": 0,
            "stop_wait": 0,
            "lr_best": math.inf,
            "lr_wait": 0,
            "last_model": None,
            "best_model": None,
            "stopped_early": False,
        }

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        s, cfg = self.state, self.cfg
        optimizer = self.model.optimizer
        lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in logs.items()}}
        row.update(lr=lr, seconds=round(time.perf_counter() - self.started, 2))
        row.pop("learning_rate", None)
        s["history"].append(row)
        # For the callbacks after this one (tracking), as Keras's ReduceLROnPlateau does:
        # the rate this epoch ran with, read before a plateau cuts it below.
        logs.update(learning_rate=lr, seconds=row["seconds"])
        val_loss, value = row["val_loss"], row[cfg.fit.monitor]

        # EarlyStopping(monitor=cfg.fit.monitor, patience, restore_best_weights=True)
        s["stop_wait"] += 1
        stale = []  # files the new state no longer names: deleted once it is written
        if s["best"] is None or _better(value, s["best"], cfg.fit.monitor):
            s.update(best=value, best_epoch=epoch + 1, stop_wait=0)
            stale.append(s["best_model"])
            s["best_model"] = self._save(f"best-{epoch + 1}.keras")
        elif s["stop_wait"] >= cfg.fit.patience and epoch > 0:
            s["stopped_early"] = True
            self.model.stop_training = True
            self.log(f"early stopping after epoch {epoch + 1}: best was epoch {s['best_epoch']}")

        # ReduceLROnPlateau(monitor="val_loss", factor, patience, min_lr); a slanted
        # schedule sets the learning rate of every step instead
        if cfg.fit.tuning.schedule == "plateau":
            if val_loss < s["lr_best"] - LR_MIN_DELTA:
                s.update(lr_best=val_loss, lr_wait=0)
            else:
                s["lr_wait"] += 1
                if s["lr_wait"] >= cfg.fit.lr_patience and lr > cfg.fit.min_lr:
                    new_lr = max(lr * cfg.fit.lr_factor, cfg.fit.min_lr)
                    optimizer.learning_rate.assign(new_lr)
                    s["lr_wait"] = 0
                    self.log(f"epoch {epoch + 1}: learning rate {lr:.2e} -> {new_lr:.2e}")

        s["epochs_done"] = epoch + 1
        stale.append(s["last_model"])
        s["last_model"] = self._save(f"last-{epoch + 1}.keras")
        # The state names the files it needs: new files first, then the state (atomic),
        # then the old files. A kill at any instant leaves a state whose files exist.
        write_json(self.dir / STATE_FILE, s)
        for name in stale:
            if name:
                (self.dir / name).unlink(missing_ok=True)

    def _save(self, name: str) -> str:
        write_atomic(self.dir / name, self.model.save)
        return name


def _better(value: float, best: float, monitor: str) -> bool:
    """Whether `value` of `monitor` improves on `best` (accuracy up, loss down)."""
    return value > best if monitor.endswith("accuracy") else value < best


def load_state(checkpoint_dir: Path) -> dict | None:
    path = checkpoint_dir / STATE_FILE
    return read_json(path) if path.exists() else None


def fit(
    model: keras.Model,
    cfg: Config,
    train_batches: keras.utils.PyDataset,
    val_batches: keras.utils.PyDataset,
    checkpoint_dir: Path,
    log: Callable = print,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> tuple[keras.Model, dict]:
    """Train (or resume) until `cfg.fit.epochs` or early stopping; return the best model and
    the training state (history rows, best epoch). A fresh run is compiled here, with the
    optimizer `cfg` asks for; a resumed one continues with its checkpoint's. `callbacks`
    run after each epoch's checkpoint is saved, and find the epoch's learning rate and
    seconds in its logs (`learning_rate`, `seconds`)."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    state = load_state(checkpoint_dir)
    if state is not None:
        # Resume: the model and optimizer as they were after the last finished epoch.
        model = keras.models.load_model(checkpoint_dir / state["last_model"])
        for orphan in set(checkpoint_dir.glob("*.keras")) - {
            checkpoint_dir / state["last_model"],
            checkpoint_dir / state["best_model"],
        }:
            orphan.unlink()  # a kill came between writing the state and deleting these
        log(f"resuming after epoch {state['epochs_done']} of {cfg.fit.epochs}")
    else:
        # A fresh optimizer whose schedule (slanted) spans cfg.fit.epochs of these batches.
        compile_model(model, cfg, len(train_batches))
    callback = ResumableTraining(cfg, checkpoint_dir, state, log)
    done = callback.state["epochs_done"]
    if done < cfg.fit.epochs and not callback.state["stopped_early"]:
        model.fit(
            train_batches,
            validation_data=val_batches,
            epochs=cfg.fit.epochs,
            initial_epoch=done,
            callbacks=[callback, EpochClock(), *(callbacks or [])],
            # PaddedBatches shuffles itself, seeded; Keras' own shuffle draws from Python's
            # global `random`, whose state differs in a resumed process (JAX showed it)
            shuffle=False,
            # a progress bar on a terminal, one line per epoch in logs
            verbose=1 if sys.stdout.isatty() else 2,
        )
    best = keras.models.load_model(checkpoint_dir / callback.state["best_model"])
    return (_plain(best, cfg) if cfg.fit.adversarial else best), callback.state


def _plain(model: keras.Model, cfg: Config) -> keras.Model:
    """An adversarially trained `model` as the plain network with its weights: the
    adversarial step is training's business, and a plain network is what predicts,
    saves and exports everywhere (JAX, ONNX)."""
    n_outputs = model.output_shape[-1]
    plain = build_model(cfg.set({"fit.adversarial": 0.0}), 2 if n_outputs == 1 else n_outputs)
    plain.set_weights(model.get_weights())
    return plain
