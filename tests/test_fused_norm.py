"""The fused BatchNormalization (ganlab.fused_norm) computes what Keras' own computes."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from ganlab.fused_norm import BatchNormalization


def both_layers(shape, momentum=0.99):
    keras_layer, fused_layer = keras.layers.BatchNormalization(momentum=momentum), BatchNormalization(momentum=momentum)
    keras_layer.build(shape)
    fused_layer.build(shape)
    rng = np.random.default_rng(0)
    weights = [rng.uniform(0.5, 1.5, v.shape).astype("float32") for v in keras_layer.weights]
    keras_layer.set_weights(weights)
    fused_layer.set_weights(weights)
    return keras_layer, fused_layer


def training_pass(layer, x, upstream):
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x, training=True) * upstream)
    return [layer(x, training=True), *tape.gradient(loss, [x, layer.gamma, layer.beta])]


# A batch of 8 rows: the moving variance of a layer that kept the op's Bessel-corrected variance
# would be off by 8/7 - 1 = 14 % of the update, far outside these tolerances.
@pytest.mark.parametrize("shape", [(8, 30), (8, 5, 5, 6)], ids=["dense", "image"])
def test_training_step_matches_keras(shape):
    keras_layer, fused_layer = both_layers(shape, momentum=0.0)  # moving statistics := the batch's
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(2.0, 3.0, shape).astype("float32"))
    upstream = tf.constant(rng.normal(size=shape).astype("float32"))
    expected, got = training_pass(keras_layer, x, upstream), training_pass(fused_layer, x, upstream)
    for name, a, b in zip(("outputs", "input gradient", "gamma gradient", "beta gradient"), expected, got):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4, err_msg=name)
    np.testing.assert_allclose(fused_layer.moving_mean, keras_layer.moving_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fused_layer.moving_variance, keras_layer.moving_variance, rtol=1e-5)


def test_inference_and_uncovered_cases_are_keras_own():
    keras_layer, fused_layer = both_layers((8, 4))
    x = tf.constant(np.random.default_rng(2).normal(size=(8, 4)).astype("float32"))
    np.testing.assert_array_equal(fused_layer(x, training=False), keras_layer(x, training=False))
    # A mask is not something the fused op takes: Keras' own code runs, to the bit.
    mask = tf.constant([True] * 6 + [False] * 2)
    np.testing.assert_array_equal(fused_layer(x, training=True, mask=mask), keras_layer(x, training=True, mask=mask))
