"""A bidirectional GRU language model whose encoder is the classifier's first layer.

One model holds the same `Bidirectional(GRU(units, return_sequences=True))` layer the
classifier uses: its forward GRU predicts the next token, its backward GRU (which reads
the sequence reversed) the previous one. Both share the input embedding, which is also the
output embedding (tied weights). Pretraining it on unlabeled reviews and copying the
embedding and the Bidirectional layer into the classifier (`transfer`) gives both
directions of the classifier's encoder weights that already model the language.

The cost of a language model is its output softmax over the vocabulary: training uses a
sampled softmax (the true word against `samples` words drawn from the unigram
distribution ** 0.75, logits corrected by -log(samples * q) as in Jean et al. 2015), so a
step costs `samples` output rows instead of `vocab_size`; perplexity is measured with the
full softmax. Text is read as one contiguous stream of reviews cut into windows
(truncated backpropagation through time: each window starts from a zero state, as each
review does in the classifier).

Only keras.layers / keras.ops: it runs on every Keras backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from ..config import Config
from ..data.text import PAD_ID, RESERVED
from ..errors import ConfigError
from ..runtime import data_replicas
from .batching import FEEDERS
from .names import EMBEDDING, ENCODER


def stream_windows(seqs: Sequence[np.ndarray], seq_len: int) -> np.ndarray:
    """(n, seq_len + 2) int32 windows of the reviews concatenated into one stream, stride
    seq_len: window w gives inputs w[1:-1], next tokens w[2:], previous tokens w[:-2], so
    every position is an input exactly once."""
    stream = np.concatenate([*seqs, np.zeros(0, np.int32)]).astype(np.int32)
    n = max(0, (len(stream) - 2) // seq_len)
    index = np.arange(n)[:, None] * seq_len + np.arange(seq_len + 2)[None, :]
    return stream[index]


def unigram_proposal(seqs: Sequence[np.ndarray], vocab_size: int, power: float = 0.75):
    """(vocab_size,) float64 distribution the negative words are drawn from: unigram
    counts ** power (frequent words less dominant), padding excluded."""
    counts = np.bincount(np.concatenate(seqs), minlength=vocab_size)[:vocab_size]
    weights = counts.astype(np.float64) ** power
    weights[PAD_ID] = 0.0
    return weights / weights.sum()


class LMBatches(keras.utils.PyDataset):
    """((ids, targets, negatives), zeros) batches for `BiGRULanguageModel.fit`.

    ids: (batch, time) int32; targets: (batch, time, 2) int32, [..., 0] the next token and
    [..., 1] the previous one; negatives: (batch, samples) int32, one draw shared by every
    row (each row repeats it: Keras slices inputs by rows). The label is the index of the
    true word among the sampled logits: always 0, (batch, time, 2). Every batch is full,
    so data-parallel training needs `batch_size` to be a multiple of the device count.
    """

    def __init__(
        self,
        windows: np.ndarray,
        batch_size: int,
        proposal: np.ndarray,
        samples: int,
        seed: int = 0,
        steps: int | None = None,
    ):
        # Each batch draws its negatives from its own generator: the order the feeder
        # threads run in changes nothing.
        super().__init__(workers=FEEDERS)
        replicas = data_replicas()
        if batch_size % replicas:
            raise ConfigError(
                f"init.lm.batch_size={batch_size} does not split evenly across the {replicas} "
                f"devices training data-parallel: set it to a multiple of {replicas}"
            )
        self.windows = windows
        self.batch_size = batch_size
        self.samples = samples
        self.cdf = np.cumsum(proposal)
        self.seed, self.epoch = seed, 0
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(windows))
        self.steps = min(steps or len(windows) // batch_size, len(windows) // batch_size)

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int):
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        w = self.windows[rows]  # (batch, time + 2)
        targets = np.stack([w[:, 2:], w[:, :-2]], axis=-1)  # (batch, time, 2)
        draws = np.random.default_rng((self.seed, self.epoch, index)).random(self.samples)
        drawn = np.searchsorted(self.cdf, draws * self.cdf[-1])
        negatives = np.broadcast_to(drawn.astype(np.int32), (len(w), self.samples))
        return (w[:, 1:-1], targets, np.ascontiguousarray(negatives)), np.zeros(
            targets.shape, np.int32
        )

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self.rng.permutation(len(self.windows))


class BiGRULanguageModel(keras.Model):
    """Forward and backward GRU language model with a tied, sampled softmax.

    call((ids (B, T), targets (B, T, 2), negatives (B, S))) -> (B, T, 2, 1 + S) logits of
    the true word (index 0) and the sampled ones, corrected for the sampling; a sampled
    word equal to the true one is masked out. `logits(ids)` -> (B, T, 2, vocab): the full
    softmax, for perplexity and for sampling text.
    """

    def __init__(self, cfg: Config, proposal: np.ndarray, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = cfg.text.vocab_size
        # log(S q(w)): the expected count of w among the S samples (the sampled-softmax
        # correction); floored so that words never drawn stay finite.
        samples = cfg.init.language_model.samples
        self.log_expected = np.log(np.maximum(proposal * samples, 1e-30)).astype("float32")
        self.embedding = keras.layers.Embedding(
            cfg.text.vocab_size, cfg.network.embed_dim, name=EMBEDDING
        )
        self.dropout = keras.layers.Dropout(cfg.init.language_model.dropout)
        rnn = keras.layers.GRU(cfg.network.units, return_sequences=True)
        self.encoder = keras.layers.Bidirectional(rnn, merge_mode=None, name=ENCODER)
        # (B, T, units) -> (B, T, embed_dim): the states meet the tied output embedding
        self.project_forward = keras.layers.Dense(cfg.network.embed_dim, name="project_forward")
        self.project_backward = keras.layers.Dense(cfg.network.embed_dim, name="project_backward")

    def build(self, input_shape=None) -> None:
        self.embedding.build((None, None))
        self.out_bias = self.add_weight(
            shape=(self.vocab_size,), initializer="zeros", name="out_bias"
        )
        self.hidden(np.zeros((1, 2), np.int32))  # builds the encoder and projections
        self.built = True

    def hidden(self, ids, training: bool = False):
        """(B, T) ids -> (B, T, 2, embed_dim): [:, t, 0] has read ids[..t] (predicts t + 1),
        [:, t, 1] has read ids[t..] (predicts t - 1)."""
        x = self.dropout(self.embedding(ids), training=training)  # (B, T, E)
        forward, backward = self.encoder(x, training=training)  # (B, T, U) each, time order
        return ops.stack([self.project_forward(forward), self.project_backward(backward)], axis=2)

    def call(self, inputs, training: bool = False):
        ids, targets, negatives = inputs
        z = self.hidden(ids, training)  # (B, T, 2, E)
        table = self.embedding.embeddings  # (V, E)
        correction = ops.convert_to_tensor(self.log_expected)
        true = ops.sum(z * ops.take(table, targets, axis=0), axis=-1)  # (B, T, 2)
        true = true + ops.take(self.out_bias, targets) - ops.take(correction, targets)
        drawn = negatives[0]  # (S,): every row holds the same draw
        sampled = ops.matmul(z, ops.transpose(ops.take(table, drawn, axis=0)))  # (B, T, 2, S)
        sampled = sampled + ops.take(self.out_bias, drawn) - ops.take(correction, drawn)
        sampled = ops.where(ops.expand_dims(targets, -1) == drawn, -1e9, sampled)
        return ops.concatenate([ops.expand_dims(true, -1), sampled], axis=-1)

    def logits(self, ids):
        """(B, T) ids -> (B, T, 2, vocab) logits of the full softmax."""
        z = self.hidden(ids)
        return ops.matmul(z, ops.transpose(self.embedding.embeddings)) + self.out_bias


def build_language_model(cfg: Config, proposal: np.ndarray) -> BiGRULanguageModel:
    """The LM for the classifier `cfg` describes (its vocabulary, embedding and units),
    built and compiled; gradients clipped (recurrent nets on long streams spike)."""
    lm = BiGRULanguageModel(cfg, proposal)
    lm.build()
    lm.compile(
        optimizer=keras.optimizers.Adam(cfg.init.language_model.learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return lm


def perplexity(lm: BiGRULanguageModel, windows: np.ndarray, batch_size: int = 64) -> dict:
    """Forward and backward perplexity of the full softmax over `windows` (held out)."""
    total, count = np.zeros(2), 0
    for start in range(0, len(windows), batch_size):
        w = windows[start : start + batch_size]
        targets = np.stack([w[:, 2:], w[:, :-2]], axis=-1)  # (B, T, 2)
        logits = ops.convert_to_numpy(lm.logits(w[:, 1:-1])).astype(np.float64)
        top = logits.max(-1, keepdims=True)
        log_norm = np.log(np.exp(logits - top).sum(-1)) + top[..., 0]  # (B, T, 2)
        true = np.take_along_axis(logits, targets[..., None], -1)[..., 0]
        total += (log_norm - true).sum(axis=(0, 1))
        count += targets.shape[0] * targets.shape[1]
    forward, backward = np.exp(total / max(count, 1))
    return {"forward": float(forward), "backward": float(backward)}


def continue_text(
    lm: BiGRULanguageModel, prefix: np.ndarray, n_tokens: int, seed: int = 0, top_k: int = 40
) -> np.ndarray:
    """`prefix` ids followed by `n_tokens` sampled from the forward model (top-k sampling;
    reserved ids never drawn): what the language model expects next."""
    rng = np.random.default_rng(seed)
    table = ops.convert_to_numpy(lm.embedding.embeddings)  # (V, E)
    bias = ops.convert_to_numpy(lm.out_bias)  # (V,)
    # One fixed width for every step (one trace, not one per length): the forward state at
    # step t has read ids[..t] only, so the padding after it changes nothing.
    ids = np.zeros((1, len(prefix) + n_tokens), np.int32)
    ids[0, : len(prefix)] = prefix
    for t in range(len(prefix), ids.shape[1]):
        state = ops.convert_to_numpy(lm.hidden(ids))[0, t - 1, 0]  # (E,): has read ids[..t-1]
        logits = table @ state + bias  # (V,)
        logits[: len(RESERVED)] = -np.inf  # padding, start, unknown, unused: never drawn
        top = np.argpartition(logits, -top_k)[-top_k:]
        p = np.exp(logits[top] - logits[top].max())
        ids[0, t] = rng.choice(top, p=p / p.sum())
    return ids[0]


def transfer(lm: BiGRULanguageModel, classifier: keras.Model) -> None:
    """Copy the LM's embedding and encoder into the classifier's layers of the same names.

    Bidirectional weights are forward_layer [kernel (E, 3U), recurrent_kernel (U, 3U),
    bias (2, 3U)] then backward_layer [the same]; the LM's backward GRU read its windows
    reversed, exactly as the classifier's backward layer reads a review.
    """
    classifier.get_layer(EMBEDDING).set_weights(lm.embedding.get_weights())
    classifier.get_layer(ENCODER).set_weights(lm.encoder.get_weights())
