"""Differentiable augmentation of everything the discriminator sees: DiffAugment (Zhao, Liu,
Lin, Zhu and Han 2020, "Differentiable Augmentation for Data-Efficient GAN Training"), as its
authors' TensorFlow code (DiffAugment_tf.py) computes it, on images in [-1, 1].

Real and generated batches get the same kinds of transformation, each image its own random
draw, and every transformation is differentiable in the image, so G learns through it. The
policy names the groups: `color` (brightness, saturation, contrast), `translation` (by up to
1/8 of the size, zeros where the image moved away), `cutout` (a square of half the size set
to zero at a random place).

`rand(tail, low, high, dtype)` draws one [batch, *tail] tensor of uniform numbers in
[low, high); the GAN passes its seeded, replica-aware draw (GAN.augment).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5

Rand = Callable[..., tf.Tensor]


def brightness(x, rand: Rand):
    return x + (rand((1, 1, 1), 0.0, 1.0) - 0.5)


def saturation(x, rand: Rand):
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    return (x - mean) * (rand((1, 1, 1), 0.0, 1.0) * 2) + mean


def contrast(x, rand: Rand):
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (rand((1, 1, 1), 0.0, 1.0) + 0.5) + mean


def translation(x, rand: Rand, ratio: float = TRANSLATION_RATIO):
    """Each image moved by whole pixels, up to ratio x its size along each axis."""
    height, width = x.shape[1], x.shape[2]
    shift_y, shift_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    move_y = rand((1,), -shift_y, shift_y + 1, "int32")
    move_x = rand((1,), -shift_x, shift_x + 1, "int32")
    # Index 0 and size + 1 of the padded image are the zero border.
    rows = tf.clip_by_value(tf.range(height)[None, :] + move_y + 1, 0, height + 1)
    cols = tf.clip_by_value(tf.range(width)[None, :] + move_x + 1, 0, width + 1)
    x = tf.gather_nd(tf.pad(x, [[0, 0], [1, 1], [0, 0], [0, 0]]), rows[..., None], batch_dims=1)
    x = tf.transpose(x, [0, 2, 1, 3])
    x = tf.gather_nd(tf.pad(x, [[0, 0], [1, 1], [0, 0], [0, 0]]), cols[..., None], batch_dims=1)
    return tf.transpose(x, [0, 2, 1, 3])


def cutout(x, rand: Rand, ratio: float = CUTOUT_RATIO):
    """A square of ratio x the size, centred at a random pixel (clipped at the edges), set to 0."""
    height, width = x.shape[1], x.shape[2]
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    centre_y = rand((1, 1), 0, height + (1 - size_y % 2), "int32")
    centre_x = rand((1, 1), 0, width + (1 - size_x % 2), "int32")
    rows = tf.range(height)[None, :, None]
    cols = tf.range(width)[None, None, :]
    inside = ((rows >= centre_y - size_y // 2) & (rows < centre_y - size_y // 2 + size_y)
              & (cols >= centre_x - size_x // 2) & (cols < centre_x - size_x // 2 + size_x))
    return x * tf.cast(~inside, x.dtype)[..., None]


TRANSFORMS = {"color": (brightness, saturation, contrast), "translation": (translation,), "cutout": (cutout,)}


def diff_augment(x, policy: Sequence[str], rand: Rand):
    """x with every transformation of the policy applied in order; x itself for an empty one."""
    for group in policy:
        for transform in TRANSFORMS[group]:
            x = transform(x, rand)
    return x
