"""DiffAugment (ganlab.augment): what each transformation does, and that G learns through it."""

from __future__ import annotations

from typing import get_args

import numpy as np
import pytest
import tensorflow as tf

from ganlab.augment import TRANSFORMS, cutout, diff_augment, translation
from ganlab.family_settings import VariantSettings


def fixed_rand(seed: int = 0):
    """A reproducible `rand`: the same draws on every call with the same arguments."""
    def rand(tail, low, high, dtype="float32"):
        shape = (4, *tail)
        if dtype == "int32":
            return tf.random.stateless_uniform(shape, (seed, 1), low, high, dtype=tf.int32)
        return tf.random.stateless_uniform(shape, (seed, 2), low, high)
    return rand


def images(n=4, size=16, channels=1):
    return tf.constant(np.random.default_rng(0).uniform(-1, 1, (n, size, size, channels)).astype("float32"))


def test_the_options_name_the_transform_groups():
    option = VariantSettings.model_fields["diffaugment"].annotation
    assert set(get_args(get_args(option)[0])) == set(TRANSFORMS)


def test_an_empty_policy_is_the_identity():
    x = images()
    assert diff_augment(x, [], fixed_rand()) is x


def test_translation_moves_each_image_by_at_most_an_eighth_with_zeros_behind():
    x = images()
    moved = translation(x, fixed_rand()).numpy()
    for original, shifted in zip(x.numpy(), moved):
        # Some shift (dy, dx) within 2 pixels of 16 explains the image exactly.
        found = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                expected = np.zeros_like(original)
                src = original[max(0, dy):16 + min(0, dy), max(0, dx):16 + min(0, dx)]
                expected[max(0, -dy):16 + min(0, -dy), max(0, -dx):16 + min(0, -dx)] = src
                found.append(np.array_equal(expected, shifted))
        assert any(found)


def test_cutout_zeroes_one_square_of_half_the_size_clipped_at_the_edges():
    x = tf.ones((4, 16, 16, 1))
    cut = cutout(x, fixed_rand()).numpy()[..., 0]
    for image in cut:
        rows, cols = np.nonzero(image == 0)
        assert 0 < len(rows) <= 64
        assert rows.max() - rows.min() < 8 and cols.max() - cols.min() < 8
        assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)  # a rectangle
        assert set(np.unique(image)) <= {0.0, 1.0}


@pytest.mark.parametrize("policy", [["color"], ["translation"], ["cutout"], ["color", "translation", "cutout"]])
def test_gradients_flow_through_the_augmentation(policy):
    """G learns through D's view: the autodiff gradient of a loss of the augmented images
    matches central finite differences (the transformations are linear in the image for fixed
    draws, so they agree to float precision), and is not zero."""
    x = images(size=8)
    weights = tf.constant(np.random.default_rng(1).normal(size=x.shape).astype("float32"))

    def loss(inputs):
        return tf.reduce_sum(weights * diff_augment(inputs, policy, fixed_rand()))

    with tf.GradientTape() as tape:
        tape.watch(x)
        value = loss(x)
    gradient = tape.gradient(value, x).numpy()
    assert np.abs(gradient).sum() > 0
    step = 1e-2
    for index in [(0, 3, 4, 0), (1, 0, 0, 0), (2, 5, 2, 0), (3, 7, 7, 0)]:
        bump = np.zeros(x.shape, "float32")
        bump[index] = step
        numeric = (loss(x + bump) - loss(x - bump)).numpy() / (2 * step)
        assert numeric == pytest.approx(gradient[index], abs=2e-3)
