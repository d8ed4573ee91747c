"""Adversarial training on the embedded review (Miyato, Dai & Goodfellow 2017,
"Adversarial Training Methods for Semi-Supervised Text Classification").

Each training step fits the batch twice: as it is, and with every review's embedded
tokens moved a small step in the direction that raises its loss the most. The network
learns to keep its answer when a review's meaning shifts slightly (a word towards a
near-synonym), which regularises it more than random noise does. The step's size is a
fraction `adversarial` of the embedded review's own norm (the paper: 5 on embeddings
normalised to unit variance per dimension, about 1.5% of a 400-token review's norm), so
it does not depend on the scale the embedding happens to have.

A training-time change only: training.fit returns the plain network with the trained
weights, which predicts, saves and exports as any other. The classes are registered, so
that a checkpoint resumes with its training step. TensorFlow and JAX differentiate
differently, so each has its step (the backend's module is imported only when a step
runs); the perturbation's size is computed once, in `keras.ops`.
"""

from __future__ import annotations

from contextlib import contextmanager

import keras
from keras import ops

from .names import EMBEDDING


@keras.saving.register_keras_serializable(package="gru_sentiment")
class PerturbableEmbedding(keras.layers.Embedding):
    """An Embedding whose output gets `perturbation`, (batch, time, output_dim), added
    while one is set: the adversarial step's handle on the embedded review (None: a plain
    Embedding)."""

    perturbation = None

    def call(self, inputs):
        embedded = super().call(inputs)  # (batch, time, output_dim)
        return embedded if self.perturbation is None else embedded + self.perturbation


@keras.saving.register_keras_serializable(package="gru_sentiment")
class AdversarialClassifier(keras.Model):
    """A functional classifier whose training step adds the loss on adversarially
    perturbed embeddings to the loss on the batch; its layer "embedding" is a
    PerturbableEmbedding."""

    def __init__(self, *args, adversarial: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.adversarial = adversarial

    def get_config(self) -> dict:
        return {**super().get_config(), "adversarial": self.adversarial}

    def scaled(self, direction, ids, table):
        """`direction`, (batch, time, embed_dim), rescaled so that each review's has norm
        `adversarial` times the norm of its embedded real tokens (`table`: the embedding's
        weights)."""
        embedded = ops.take(table, ids, axis=0)
        mask = self.get_layer(EMBEDDING).compute_mask(ids)  # (batch, time) bool, or None
        if mask is not None:
            embedded = embedded * ops.expand_dims(ops.cast(mask, embedded.dtype), -1)
        size = self.adversarial * _norm(embedded)  # (batch, 1, 1)
        return direction * size / (_norm(direction) + 1e-12)

    def loss_at(self, perturbation, x, y, sample_weight=None):
        """Predictions and loss of batch `x` with `perturbation` added to its embedding
        (TensorFlow)."""
        with _perturbed(self.get_layer(EMBEDDING), perturbation):
            y_pred = self(x, training=True)
        return y_pred, self.compute_loss(x, y, y_pred, sample_weight, training=True)

    # --- TensorFlow

    def train_step(self, *args):
        if keras.backend.backend() != "tensorflow":
            # JAX's own step, which differentiates compute_loss_and_updates below
            return super().train_step(*args)
        import tensorflow as tf

        (data,) = args
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        weights = self.trainable_variables
        # Two forward and two backward passes, twice a plain step: the clean pass's one
        # backward gives both its weights' gradients and the perturbation's direction.
        y_pred, loss, gradients, perturbation = self.clean_pass(x, y, sample_weight)
        with tf.GradientTape() as tape:
            _, adversarial_loss = self.loss_at(perturbation, x, y, sample_weight)
        adversarial = tape.gradient(adversarial_loss, weights)
        self.optimizer.apply(
            [_add(a, b) for a, b in zip(gradients, adversarial, strict=True)], weights
        )
        for metric in self.metrics:
            if metric.name == "loss":  # the clean loss: comparable with val_loss
                metric.update_state(loss, sample_weight=tf.shape(x)[0])
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def clean_pass(self, x, y, sample_weight=None):
        """Batch `x` as it is (TensorFlow): predictions, loss, the loss's gradients for
        the trainable weights, and the adversarial perturbation of the embedded reviews,
        (batch, time, embed_dim)."""
        import tensorflow as tf

        table = self.get_layer(EMBEDDING).embeddings
        with tf.GradientTape() as tape:
            # the gradient at a zero perturbation: the loss's by the embedded review
            zero = tf.zeros(tf.concat([tf.shape(x), [table.shape[1]]], 0))
            tape.watch(zero)
            y_pred, loss = self.loss_at(zero, x, y, sample_weight)
        *gradients, direction = tape.gradient(loss, [*self.trainable_variables, zero])
        perturbation = tf.stop_gradient(self.scaled(direction, x, table))  # 0 where masked
        return y_pred, loss, gradients, perturbation

    # --- JAX

    def compute_loss_and_updates(
        self,
        trainable_variables,
        non_trainable_variables,
        metrics_variables,
        x,
        y,
        sample_weight,
        training=False,
        optimizer_variables=None,
    ):
        """JAX's training step differentiates this (stateless) function: in training, the
        loss at the adversarial perturbation, found by a gradient of its own and held
        constant, joins the clean loss; the metrics see the clean pass."""
        import jax

        parent = super().compute_loss_and_updates

        def loss_at(perturbation, trainable):
            with _perturbed(self.get_layer(EMBEDDING), perturbation):
                return parent(
                    trainable,
                    non_trainable_variables,
                    metrics_variables,
                    x,
                    y,
                    sample_weight,
                    training,
                    optimizer_variables,
                )

        if not training:
            return loss_at(None, trainable_variables)
        table = self._embedding_table(trainable_variables, non_trainable_variables)
        zero = jax.numpy.zeros((*x.shape, table.shape[1]), table.dtype)
        (loss, aux), direction = jax.value_and_grad(loss_at, has_aux=True)(
            zero, trainable_variables
        )
        perturbation = jax.lax.stop_gradient(self.scaled(direction, x, table))
        adversarial_loss, _ = loss_at(perturbation, trainable_variables)
        return loss + adversarial_loss, aux

    def _embedding_table(self, trainable_variables, non_trainable_variables):
        """The embedding's weights among the stateless values of a JAX step."""
        table = self.get_layer(EMBEDDING).embeddings
        for variables, values in (
            (self.trainable_variables, trainable_variables),
            (self.non_trainable_variables, non_trainable_variables),
        ):
            for variable, value in zip(variables, values, strict=True):
                if variable is table:
                    return value
        raise ValueError("the embedding's weights are not among the model's variables")


@contextmanager
def _perturbed(embedding: PerturbableEmbedding, perturbation):
    """`embedding` adds `perturbation` to its output inside the block."""
    embedding.perturbation = perturbation
    try:
        yield
    finally:
        embedding.perturbation = None


def _norm(x):
    """(batch, 1, 1): the norm of each review's (time, features) slice."""
    return ops.sqrt(ops.sum(ops.square(x), axis=(1, 2), keepdims=True))


def _add(a, b):
    """The sum of two gradients of one weight (TensorFlow): an embedding's come as row
    slices (of the rows the batch used), summed by concatenating them."""
    import tensorflow as tf

    if isinstance(a, tf.IndexedSlices) and isinstance(b, tf.IndexedSlices):
        return tf.IndexedSlices(
            tf.concat([a.values, b.values], 0), tf.concat([a.indices, b.indices], 0), a.dense_shape
        )
    return a + b
