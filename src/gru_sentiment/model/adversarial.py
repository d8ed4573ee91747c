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
that a checkpoint resumes with its training step. The step is TensorFlow's (imported
only when a step runs: the classes load where JAX alone is installed); training.fit
refuses the option on another backend.
"""

from __future__ import annotations

import keras


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
    """A functional classifier whose `train_step` adds the loss on adversarially
    perturbed embeddings to the loss on the batch; its layer "embedding" is a
    PerturbableEmbedding."""

    def __init__(self, *args, adversarial: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.adversarial = adversarial

    def get_config(self) -> dict:
        return {**super().get_config(), "adversarial": self.adversarial}

    def train_step(self, data):
        import tensorflow as tf

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
        """Batch `x` as it is: predictions, loss, the loss's gradients for the trainable
        weights, and the adversarial perturbation of the embedded reviews, (batch, time,
        embed_dim): along the loss's gradient, each review's of norm `adversarial` times
        its embedded norm (real tokens only)."""
        import tensorflow as tf

        embedding = self.get_layer("embedding")
        embedded = tf.gather(embedding.embeddings, x)  # (batch, time, embed_dim)
        with tf.GradientTape() as tape:
            zero = tf.zeros_like(embedded)  # the gradient here: the loss's by the embedding
            tape.watch(zero)
            y_pred, loss = self.loss_at(zero, x, y, sample_weight)
        *gradients, direction = tape.gradient(loss, [*self.trainable_variables, zero])
        mask = embedding.compute_mask(x)  # (batch, time) bool, or None
        if mask is not None:
            embedded = embedded * tf.cast(mask, embedded.dtype)[:, :, None]
        size = self.adversarial * tf.norm(embedded, axis=(1, 2), keepdims=True)  # (batch, 1, 1)
        # direction is 0 at masked steps; a constant for the adversarial pass
        perturbation = direction * size / (tf.norm(direction, axis=(1, 2), keepdims=True) + 1e-12)
        return y_pred, loss, gradients, tf.stop_gradient(perturbation)

    def loss_at(self, perturbation, x, y, sample_weight=None):
        """Predictions and loss of batch `x` with `perturbation` added to its embedding."""
        embedding = self.get_layer("embedding")
        embedding.perturbation = perturbation
        try:
            y_pred = self(x, training=True)
        finally:
            embedding.perturbation = None
        return y_pred, self.compute_loss(x, y, y_pred, sample_weight, training=True)


def _add(a, b):
    """The sum of two gradients of one weight: an embedding's come as row slices (of the
    rows the batch used), summed by concatenating them."""
    import tensorflow as tf

    if isinstance(a, tf.IndexedSlices) and isinstance(b, tf.IndexedSlices):
        return tf.IndexedSlices(
            tf.concat([a.values, b.values], 0), tf.concat([a.indices, b.indices], 0), a.dense_shape
        )
    return a + b
