"""The study's networks (the course report this project reproduces: University of Tehran, Neural
Networks and Deep Learning, assignment 6), built for any image size divisible by 4.

Layer for layer as the study wrote them, Keras defaults included: `LeakyReLU()` without an
argument meant the Keras 2 default slope 0.3, so the slope is spelled out here.
"""

from __future__ import annotations

import keras
from keras import layers

from ganlab.fused_norm import BatchNormalization

KERAS2_LEAKY_SLOPE = 0.3
# Output layers compute in float32 under a mixed-precision policy (ganlab.devices), as Keras
# advises: the tanh images and the logits the losses take keep their precision.
OUTPUT_DTYPE = "float32"


def dcgan_generator(noise_dim: int, image_size: int, channels: int = 1) -> keras.Model:
    """noise -> Dense -> 2 transposed convs (stride 2) -> tanh image of image_size^2."""
    base = image_size // 4
    return keras.Sequential(
        [
            keras.Input((noise_dim,)),
            layers.Dense(base * base * 256),
            BatchNormalization(),
            layers.LeakyReLU(0.2),
            layers.Reshape((base, base, 256)),
            BatchNormalization(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same"),
            BatchNormalization(),
            layers.LeakyReLU(KERAS2_LEAKY_SLOPE),
            layers.Conv2DTranspose(channels, 5, strides=2, padding="same", activation="tanh", dtype=OUTPUT_DTYPE),
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
            layers.Dense(1, dtype=OUTPUT_DTYPE),
        ],
        name="discriminator",
    )


def acgan_generator(noise_dim: int, num_classes: int, image_size: int, channels: int = 1) -> keras.Model:
    """[noise, one-hot label] -> Dense(relu) -> two (upsample, 3x3 conv) blocks -> tanh image.

    The study's AC-GAN generator (Odena et al. 2017's conditioning by concatenation)."""
    base = image_size // 4
    noise = keras.Input((noise_dim,), name="noise")
    label = keras.Input((num_classes,), name="label")
    x = layers.Concatenate()([noise, label])
    x = layers.Dense(base * base * 256, activation="relu")(x)
    x = BatchNormalization()(x)
    x = layers.Reshape((base, base, 256))(x)
    x = BatchNormalization()(x)
    x = layers.UpSampling2D()(x)
    x = layers.Conv2D(128, 3, padding="same", activation="relu")(x)
    x = BatchNormalization()(x)
    x = layers.UpSampling2D()(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = BatchNormalization()(x)
    image = layers.Conv2D(channels, 3, padding="same", activation="tanh", dtype=OUTPUT_DTYPE)(x)
    return keras.Model([noise, label], image, name="generator")


def acgan_discriminator(image_size: int, num_classes: int, channels: int = 1) -> keras.Model:
    """image -> four 3x3 convs with dropout 0.5 -> (real/fake logit, class logits).

    The study's heads are Dense(1, sigmoid) and Dense(K, softmax); they are kept as logits here
    and the losses apply the sigmoid/softmax, the same objective computed stably."""
    image = keras.Input((image_size, image_size, channels))
    x = layers.Conv2D(32, 3, strides=2, padding="same")(image)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Dropout(0.5)(x)
    for filters, strides in ((64, 1), (128, 2), (256, 1)):
        x = layers.Conv2D(filters, 3, strides=strides, padding="same")(x)
        x = BatchNormalization()(x)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.Dropout(0.5)(x)
    x = layers.Flatten()(x)
    source = layers.Dense(1, name="source", dtype=OUTPUT_DTYPE)(x)
    label = layers.Dense(num_classes, name="label", dtype=OUTPUT_DTYPE)(x)
    return keras.Model(image, [source, label], name="discriminator")


def spectrally_normalised(discriminator: keras.Model) -> keras.Model:
    """The network with every conv and dense kernel spectrally normalised (Miyato et al. 2018),
    by Keras' SpectralNormalization: one power iteration per training call, the kernel
    replaced by kernel / sigma. Built anew (fresh weights, the same initialisers)."""
    def clone(layer):
        copy = type(layer).from_config(layer.get_config())
        if not isinstance(copy, (layers.Conv2D, layers.Dense)):
            return copy
        # the wrapper computes in the layer's dtype: a float32 output layer (the logits) stays
        # float32 under a mixed policy, as the losses expect
        return layers.SpectralNormalization(copy, dtype=copy.dtype_policy)

    return keras.models.clone_model(discriminator, clone_function=clone)
