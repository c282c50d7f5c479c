"""The study's networks (../shared/seed-spec.md), built for any image size divisible by 4.

Layer for layer as the study wrote them, Keras defaults included: `LeakyReLU()` without an
argument meant the Keras 2 default slope 0.3, so the slope is spelled out here.
"""

from __future__ import annotations

import keras
from keras import layers

KERAS2_LEAKY_SLOPE = 0.3


def dcgan_generator(noise_dim: int, image_size: int, channels: int = 1) -> keras.Model:
    """noise -> Dense -> 2 transposed convs (stride 2) -> tanh image of image_size^2."""
    base = image_size // 4
    return keras.Sequential(
        [
            keras.Input((noise_dim,)),
            layers.Dense(base * base * 256),
            layers.BatchNormalization(),
            layers.LeakyReLU(0.2),
            layers.Reshape((base, base, 256)),
            layers.BatchNormalization(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same"),
            layers.BatchNormalization(),
            layers.LeakyReLU(KERAS2_LEAKY_SLOPE),
            layers.Conv2DTranspose(channels, 5, strides=2, padding="same", activation="tanh"),
        ],
        name="generator",
    )


def dcgan_discriminator(image_size: int, channels: int = 1) -> keras.Model:
    """image -> 2 strided convs with dropout -> one logit (no sigmoid: losses take logits)."""
    return keras.Sequential(
        [
            keras.Input((image_size, image_size, channels)),
            layers.Conv2D(64, 5, strides=2, padding="same"),
            layers.LeakyReLU(KERAS2_LEAKY_SLOPE),
            layers.Dropout(0.3),
            layers.Conv2D(128, 5, strides=2, padding="same"),
            layers.LeakyReLU(KERAS2_LEAKY_SLOPE),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1),
        ],
        name="discriminator",
    )
