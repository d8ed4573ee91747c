"""Language-model pretraining: `pretrain` writes an LM folder, `load_lm` reads one back.

The LM reads the texts of the whole train set (labels unused) and the unlabeled reviews,
never the test texts; the last reviews of the unlabeled set (or of train, when there are
none) are held out to measure perplexity. Its folder is like a run folder (config,
tokenizer, weights, per-chunk history, a perplexity plot, sampled continuations, a
manifest written last) and is cached under $GRU_SENTIMENT_HOME/lm keyed by the token ids
it reads and its settings, so every classifier seed and every later `train` reuses it.

Training runs in chunks of about CHUNK_TOKENS; after each one the weights and the
history are checkpointed, so a killed pretraining resumes at its last chunk (with a fresh
optimizer state: Adam's moments re-estimate within a few hundred steps).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import Config, old_names
from ..data.text import TextEncoder
from ..errors import ConfigError, RunError
from ..io import runs
from ..io.files import home_dir, read_json, write_atomic, write_json, write_text
from ..io.terminal import Log
from ..report import plots
from .outputs import versions

WEIGHTS = "weights.npz"
SAMPLES = "samples.json"
STATE = "state.json"
# Tokens between checkpoints and perplexity measurements (at least 4 of them in all).
CHUNK_TOKENS = 1_000_000
HELD_OUT_SHARE = 0.01  # of the unlabeled reviews, for perplexity
HELD_OUT_WINDOWS = 128  # windows of held-out text scored with the full softmax
LM_SEED = 0  # one LM serves every classifier seed
# The classifier fields the LM's shapes and meaning depend on, and the LM's own.
LM_FIELDS = (
    "vocab_size",
    "embed_dim",
    "units",
    "lm_tokens",
    "lm_seq_len",
    "lm_batch_size",
    "lm_samples",
    "lm_learning_rate",
    "lm_dropout",
)


@dataclass
class LMCorpus:
    """The reviews (token ids) the LM trains on, and those held out for perplexity."""

    train: list[np.ndarray]
    held_out: list[np.ndarray]


def lm_corpus(encoded: dict[str, list[np.ndarray]]) -> LMCorpus:
    """Train + validation texts (all of IMDB's train set) and the unlabeled reviews; the
    test split never enters. The last HELD_OUT_SHARE of the unlabeled reviews (of the
    labeled ones when there are none) is held out."""
    # A classifier seed splits train and validation its own way; ordered by a checksum of
    # their ids (a shuffle that ignores the split), the LM's stream is the same for every
    # seed, so one LM (one cache entry) serves them all.
    labeled = sorted(encoded["train"] + encoded["validation"], key=_checksum)
    unlabeled = encoded["unlabeled"]
    pool = unlabeled or labeled
    n_held = max(1, int(len(pool) * HELD_OUT_SHARE))
    held_out = pool[-n_held:]
    train = labeled + unlabeled[:-n_held] if unlabeled else labeled[:-n_held]
    return LMCorpus(train, held_out)


def _checksum(seq: np.ndarray) -> int:
    return zlib.crc32(seq.tobytes())


def lm_settings(cfg: Config) -> dict:
    """The LM's settings under their flat names (what LM folders record and are keyed by)."""
    flat = cfg.identity()
    return {name: flat[name] for name in LM_FIELDS}


def lm_key(cfg: Config, encoder: TextEncoder, corpus: LMCorpus) -> str:
    """What the LM depends on: its settings, the tokenizer and the ids it reads."""
    key = hashlib.sha256(json.dumps(lm_settings(cfg), sort_keys=True).encode())
    key.update(encoder.tokenizer.to_str().encode())
    for part in (corpus.train, corpus.held_out):
        for seq in part:
            key.update(seq.tobytes())
        key.update(b"\0part")
    return key.hexdigest()[:20]


def pretrain(
    cfg: Config,
    encoder: TextEncoder,
    encoded: dict[str, list[np.ndarray]],
    out: Path | None = None,
    log: Log = print,
    epochs: float | None = None,
    force: bool = False,
) -> Path:
    """Train (or reuse, or resume) the LM for `cfg` on the texts of `encoded`; its folder.
    `epochs`: passes over the LM's corpus, instead of `cfg.init.lm.tokens` tokens. A complete
    LM of other settings in `out` is replaced only with `force` (the cache's folders are
    named by their settings, so none is ever replaced)."""
    corpus = lm_corpus(encoded)
    if epochs is not None:
        tokens = int(epochs * sum(len(seq) for seq in corpus.train))
        cfg = cfg.set({"init.lm.tokens": tokens}).validate()
    key = lm_key(cfg, encoder, corpus)
    out = Path(out) if out else home_dir() / "lm" / key
    if runs.is_complete(out) and read_json(out / runs.CONFIG).get("key") == key:
        log(f"using the cached language model {out}")
        return out
    record = {"key": key}
    with runs.claim(out, record, force) as resuming:
        checkpoint = out / runs.CHECKPOINTS / STATE  # absent when killed before a chunk ended
        state = read_json(checkpoint) if resuming and checkpoint.exists() else None
        if not resuming:
            write_json(out / runs.CONFIG, {**record, "config": lm_settings(cfg)})
        encoder.save(out / runs.TOKENIZER)
        lm, history = _train(cfg, corpus, out, state, log)
        _write_outputs(out, cfg, encoder, corpus, lm, history, key)
    return out


def _train(cfg: Config, corpus: LMCorpus, out: Path, state: dict | None, log: Log):
    """The chunked training loop with its checkpoints; the LM and its history rows."""
    import keras

    from ..model.language_model import (
        LMBatches,
        build_language_model,
        perplexity,
        stream_windows,
        unigram_proposal,
    )

    keras.utils.set_random_seed(LM_SEED)  # the same LM whichever classifier seed asks first
    settings = cfg.init.language_model
    windows = stream_windows(corpus.train, settings.seq_len)  # (n, seq_len + 2)
    held_out = stream_windows(corpus.held_out, settings.seq_len)[:HELD_OUT_WINDOWS]
    proposal = unigram_proposal(corpus.train, cfg.text.vocab_size)
    lm = build_language_model(cfg, proposal)
    tokens_per_step = settings.batch_size * settings.seq_len
    total_steps = max(1, min(settings.tokens, windows.size) // tokens_per_step)
    chunk_steps = max(1, min(CHUNK_TOKENS // tokens_per_step, total_steps // 4))
    history = state["history"] if state else []
    done = state["steps"] if state else 0
    if state:
        _set_weights(lm, out / runs.CHECKPOINTS / WEIGHTS)
        log(f"resuming the language model after {done * tokens_per_step:,} tokens")
    log(
        f"language model: {total_steps * tokens_per_step:,} tokens of {windows.size:,} "
        f"(train + unlabeled reviews), held-out perplexity on {held_out.size:,} tokens"
    )
    started = time.perf_counter()
    while done < total_steps:
        steps = min(chunk_steps, total_steps - done)
        batches = LMBatches(
            windows, settings.batch_size, proposal, settings.samples, LM_SEED + done, steps
        )
        chunk_started = time.perf_counter()
        # a progress bar (steps, time left) on a terminal; the line below after each chunk
        # shuffle=False: the batches are seeded; Keras' shuffle would not be after a resume
        fit = lm.fit(batches, epochs=1, shuffle=False, verbose=1 if sys.stdout.isatty() else 0)
        seconds = time.perf_counter() - chunk_started
        done += steps
        row = {
            "tokens": done * tokens_per_step,
            "seconds": round(seconds, 1),
            "tokens_per_s": round(steps * tokens_per_step / seconds),
            "loss": round(float(fit.history["loss"][-1]), 4),
            **{k: round(v, 2) for k, v in perplexity(lm, held_out, batch_size=8).items()},
        }
        history.append(row)
        _checkpoint(lm, out, {"steps": done, "history": history})
        left = (total_steps - done) * tokens_per_step / max(row["tokens_per_s"], 1)
        log(
            f"LM {row['tokens']:,} / {total_steps * tokens_per_step:,} tokens, "
            f"{row['tokens_per_s']:,} tokens/s, perplexity forward {row['forward']:.0f} "
            f"backward {row['backward']:.0f}, about {left / 60:.0f} min left"
        )
    log(f"language model trained in {time.perf_counter() - started:.0f} s")
    return lm, history


def _checkpoint(lm, out: Path, state: dict) -> None:
    """New weights first, then the state that names them: a kill in between leaves the
    previous state, which still matches a complete weights file."""
    folder = out / runs.CHECKPOINTS
    _save_weights(lm, folder / WEIGHTS)
    write_json(folder / STATE, state)


def _save_weights(lm, path: Path) -> None:
    arrays = {f"w{i:03d}": w for i, w in enumerate(lm.get_weights())}
    write_atomic(path, lambda tmp: np.savez(tmp.open("wb"), **arrays))


def _set_weights(lm, path: Path) -> None:
    with np.load(path, allow_pickle=False) as stored:
        lm.set_weights([stored[name] for name in sorted(stored.files)])


def _write_outputs(
    out: Path,
    cfg: Config,
    encoder: TextEncoder,
    corpus: LMCorpus,
    lm,
    history: list[dict],
    key: str,
) -> None:
    """Weights, history, plot, sampled continuations, config; the manifest last, then the
    checkpoints go (the folder is resumable or complete at every instant)."""
    from ..model.language_model import continue_text

    _save_weights(lm, out / WEIGHTS)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(history[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    write_text(out / runs.HISTORY, table.getvalue())
    plots.lm_perplexity(history, out / runs.PLOTS / "perplexity.png")
    samples = []
    for i, review in enumerate(corpus.held_out[:3]):
        prefix = review[:12]
        ids = continue_text(lm, prefix, 20, seed=i)
        samples.append(
            {"prefix": encoder.decode(prefix[1:]), "continuation": encoder.decode(ids[12:])}
        )
    write_json(out / SAMPLES, samples)
    write_json(
        out / runs.CONFIG,
        {
            "key": key,
            "config": lm_settings(cfg),
            "corpus": {
                "reviews": len(corpus.train),
                "tokens": int(sum(len(s) for s in corpus.train)),
                "held_out_reviews": len(corpus.held_out),
            },
            "params": int(lm.count_params()),
            "versions": versions(),
        },
    )
    runs.write_manifest(out)
    shutil.rmtree(out / runs.CHECKPOINTS, ignore_errors=True)


def load_lm(folder: Path, cfg: Config, encoder: TextEncoder):
    """The LM of a complete, untampered LM folder, checked to fit the classifier `cfg`
    (shapes) and `encoder` (the same vocabulary: an id must mean the same word)."""
    from ..model.language_model import build_language_model

    folder = Path(folder)
    runs.verify(folder, (runs.CONFIG, runs.TOKENIZER, WEIGHTS))
    settings, flat = read_json(folder / runs.CONFIG)["config"], cfg.identity()
    for name in ("vocab_size", "embed_dim", "units"):
        if settings.get(name) != flat[name]:
            path = old_names()[name]
            raise ConfigError(
                f"the language model in {folder} has {path}={settings.get(name)}, "
                f"the classifier {path}={flat[name]}"
            )
    if TextEncoder.load(folder / runs.TOKENIZER).tokenizer.to_str() != encoder.tokenizer.to_str():
        raise RunError(f"the language model in {folder} was trained with another vocabulary")
    uniform = np.full(
        cfg.text.vocab_size, 1.0 / cfg.text.vocab_size
    )  # sampling only matters in training
    lm = build_language_model(Config.from_dict({**flat, **settings, "pretrain_lm": True}), uniform)
    _set_weights(lm, folder / WEIGHTS)
    return lm


def lm_summary(folder: Path) -> dict:
    """What a run records about the LM it started from (shown in its report)."""
    with (Path(folder) / runs.HISTORY).open(newline="") as f:
        history = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    record = read_json(Path(folder) / runs.CONFIG)
    return {
        "folder": str(folder),
        "key": record["key"],
        "params": record["params"],
        "corpus": record["corpus"],
        "history": history,
        "samples": read_json(Path(folder) / SAMPLES),
    }
