"""Keras' BatchNormalization with TensorFlow's fused kernel in training mode.

Keras 3 normalises a training batch with separate ops (moments, then scale and shift, each
with its own gradient): about a tenth of a DCGAN or AC-GAN train step on a CPU. TensorFlow's
FusedBatchNormV3 computes the same function in one op and one gradient op, and `make bench`
measured the study's steps ~10 % faster with it (README, Performance). The layer is Keras'
own in everything else: weights, config, inference, the moving statistics' update rule (with
the batch's biased variance, as Keras keeps it), and every case the fused op does not cover
(another dtype, a mask, synchronised replicas), which fall back to Keras' code. Saved and
logged models are first copied into Keras' own layers (`with_keras_layers`), so they need
nothing of this project to load.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class BatchNormalization(keras.layers.BatchNormalization):
    def _fusable(self, inputs, mask) -> bool:
        return (mask is None and not self.synchronized and not self.renorm and self.scale and self.center
                and inputs.dtype == tf.float32 and len(inputs.shape) in (2, 4)
                and self.axis in (-1, len(inputs.shape) - 1))

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and self._fusable(inputs, mask)):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        images = inputs if len(inputs.shape) == 4 else tf.reshape(inputs, (-1, 1, 1, channels))
        outputs, mean, unbiased_variance = tf.compat.v1.nn.fused_batch_norm(
            images, self.gamma, self.beta, epsilon=self.epsilon, is_training=True)[:3]
        # The op returns the variance with Bessel's correction; Keras' moving average takes the
        # biased one (what the batch was normalised with).
        count = tf.cast(tf.size(images) // channels, unbiased_variance.dtype)
        variance = unbiased_variance * (count - 1.0) / count
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return tf.reshape(outputs, tf.shape(inputs))


def with_keras_layers(model: keras.Model) -> keras.Model:
    """A copy of the model in Keras' own layers (this BatchNormalization as Keras' own), with
    the same weights and moving statistics; the model itself where it has none of this module's."""
    if not any(isinstance(layer, BatchNormalization) for layer in model.layers):
        return model

    def clone(layer):
        cls = keras.layers.BatchNormalization if isinstance(layer, BatchNormalization) else type(layer)
        return cls.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy
