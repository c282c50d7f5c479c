"""The stabilisers beyond the study, as options of every family: separate learning rates
(TTUR), the generator's weight average (EMA), DiffAugment, spectral normalisation and R1."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from ganlab.gans.build import build_gan
from ganlab.family_settings import FAMILIES
from test_variants import NOISE_DIM, SPEC, options, real_batch

MINIMAX = ("dcgan", "smoothed", "noised", "acgan")  # the families R1 applies to


def take_step(gan):
    batch = real_batch(gan)
    gan.train_on_batch(*(batch if gan.conditional else (batch,)))
    return [np.array(w) for w in gan.generator.trainable_weights]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_network_takes_its_own_learning_rate(family):
    default = build_gan(options(family), SPEC, NOISE_DIM, seed=0)
    rate = default.options.learning_rate
    assert float(default.d_optimizer.learning_rate) == float(default.g_optimizer.learning_rate) == pytest.approx(rate)
    ttur = build_gan(options(family, d_learning_rate=4e-4, g_learning_rate=1e-4), SPEC, NOISE_DIM, seed=0)
    assert float(ttur.d_optimizer.learning_rate) == pytest.approx(4e-4)
    assert float(ttur.g_optimizer.learning_rate) == pytest.approx(1e-4)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_weight_average_is_the_exponential_average_of_the_steps(family):
    decay = 0.75
    gan = build_gan(options(family, ema=decay), SPEC, NOISE_DIM, seed=0)
    initial = [np.array(w) for w in gan.generator.trainable_weights]
    gan.load_average()  # before any step: the initial weights
    assert all(np.array_equal(a, np.array(w)) for a, w in zip(initial, gan.averaged_generator.trainable_weights))
    after_one, after_two, after_three = take_step(gan), take_step(gan), take_step(gan)
    gan.load_average()
    # By hand: the first step's weights start the average (Keras' rule), each later step
    # moves it by (1 - decay) towards the new weights.
    expected = [decay * (decay * w1 + (1 - decay) * w2) + (1 - decay) * w3
                for w1, w2, w3 in zip(after_one, after_two, after_three)]
    for average, hand in zip(gan.averaged_generator.trainable_weights, expected):
        np.testing.assert_allclose(np.array(average), hand, rtol=1e-5, atol=1e-6)
    assert not np.allclose(expected[0], after_three[0])  # the average is not the raw generator
    # The raw generator keeps training on its own weights; the samples are the average's.
    assert all(np.array_equal(a, np.array(w)) for a, w in zip(after_three, gan.generator.trainable_weights))
    noise = np.random.default_rng(0).standard_normal((4, NOISE_DIM)).astype("float32")
    labels = np.arange(4) % SPEC.num_classes if gan.conditional else None
    np.testing.assert_array_equal(
        gan.generate(noise, labels), np.asarray(gan.averaged_generator(gan.generator_inputs(noise, labels))))
    assert gan.sampler is gan.averaged_generator


def test_without_ema_the_generator_samples():
    gan = build_gan(options("dcgan"), SPEC, NOISE_DIM, seed=0)
    assert gan.averaged_generator is None and gan.sampler is gan.generator
    gan.load_average()  # nothing to do


@pytest.mark.parametrize("value", [0, 1, 1.5])
def test_ema_decay_is_checked(value):
    from ganlab.config import ConfigError

    with pytest.raises(ConfigError, match="variants.v.ema"):
        options("dcgan", ema=value)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_trains_with_every_option(family):
    extra = {"r1": 1.0} if family in MINIMAX else {}
    if family != "wgan":  # its clipping and spectral normalisation are refused together (below)
        extra["spectral_norm"] = True
    gan = build_gan(options(family, ema=0.9, d_learning_rate=4e-4, g_learning_rate=1e-4,
                            diffaugment=["color", "translation", "cutout"], **extra), SPEC, NOISE_DIM, seed=0)
    before = [np.array(w) for w in gan.generator.trainable_weights]
    for _ in range(2):
        batch = real_batch(gan)
        logs = gan.train_on_batch(*(batch if gan.conditional else (batch,)), return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())
    assert any(not np.allclose(a, np.array(w)) for a, w in zip(before, gan.generator.trainable_weights))


def test_diffaugment_changes_what_d_sees_and_nothing_without_a_policy():
    plain = build_gan(options("dcgan"), SPEC, NOISE_DIM, seed=0)
    x = tf.constant(real_batch(plain))
    assert plain.augment(x) is x
    augmented = build_gan(options("dcgan", diffaugment=["translation", "cutout"]), SPEC, NOISE_DIM, seed=0)
    first, second = augmented.augment(x).numpy(), augmented.augment(x).numpy()
    assert not np.array_equal(first, x.numpy()) and not np.array_equal(first, second)  # fresh draws each call
    again = build_gan(options("dcgan", diffaugment=["translation", "cutout"]), SPEC, NOISE_DIM, seed=0)
    np.testing.assert_array_equal(again.augment(x).numpy(), first)  # seeded: the same draws


def test_diffaugment_policy_is_checked():
    from ganlab.config import ConfigError

    with pytest.raises(ConfigError, match="variants.v.diffaugment"):
        options("dcgan", diffaugment=["rotation"])


@pytest.mark.parametrize("family", MINIMAX)
def test_r1_is_half_the_weight_times_the_squared_gradient_norm_on_real_images(family):
    """With a linear D(x) = <w, x> (+ b) the gradient is w for every image: R1 = r1 / 2 ||w||^2."""
    gan = build_gan(options(family, r1=3.0), SPEC, NOISE_DIM, seed=0)
    w = np.random.default_rng(0).normal(size=(SPEC.image_size**2, 1)).astype("float32")
    inputs = keras.Input((SPEC.image_size, SPEC.image_size, 1))
    flat = keras.layers.Flatten()(inputs)
    source = keras.layers.Dense(1)(flat)
    outputs = [source, keras.layers.Dense(SPEC.num_classes)(flat)] if gan.conditional else source
    gan.discriminator = keras.Model(inputs, outputs)
    gan.discriminator.layers[2].set_weights([w, np.array([0.7], "float32")])
    real = real_batch(gan)
    real = real[0] if gan.conditional else real
    _, penalty = gan.real_scores(tf.constant(real))
    assert float(penalty) == pytest.approx(0.5 * 3.0 * float(np.sum(w**2)), rel=1e-5)
    _, none = build_gan(options(family), SPEC, NOISE_DIM, seed=0).real_scores(tf.constant(real))
    assert none == 0.0


@pytest.mark.parametrize("family", ["dcgan", "acgan", "wgan_gp"])
def test_spectral_norm_makes_each_kernel_s_largest_singular_value_one(family):
    gan = build_gan(options(family, spectral_norm=True), SPEC, NOISE_DIM, seed=0)
    normalised = [layer for layer in gan.discriminator.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    wrapped = [layer for layer in gan.discriminator.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    assert normalised and not wrapped  # every conv and dense layer, and only through the wrapper
    # Glorot's initial kernels have a largest singular value near 1 already: scaled by 5, an
    # unnormalised kernel would stay at ~5.
    for layer in normalised:
        layer.kernel.assign(layer.kernel * 5.0)
    x = tf.constant(real_batch(gan)[0] if gan.conditional else real_batch(gan))
    # One power iteration per training call; it converges as (sigma_2 / sigma_1)^n, and a kernel
    # whose two largest singular values lie close needs more than 50 (AC-GAN's: 1.03 after 50 from
    # an unlucky start, 1.000 after 150 from every start tried).
    for _ in range(150):
        gan.discriminator(x[:8], training=True)
    for layer in normalised:
        kernel = np.asarray(layer.kernel)
        sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert sigma == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize("family, values", [("wgan", {"spectral_norm": True}), ("wgan", {"r1": 1.0}),
                                            ("wgan_gp", {"r1": 1.0})])
def test_a_second_constraint_on_the_critic_is_refused(family, values):
    from ganlab.config import ConfigError

    with pytest.raises(ConfigError, match="variants.v: wgan"):
        options(family, **values)


def test_a_family_that_repeats_nothing_gets_the_options_the_base_applies():
    # issue 28: a family's constructor used to have to store `self.options` itself, and one that
    # forgot trained silently without DiffAugment or R1. A bare subclass now gets them from GAN.
    from ganlab.gans.base import GAN
    from ganlab.models import dcgan_discriminator, dcgan_generator

    class Bare(GAN):
        pass

    settings = options("dcgan", diffaugment=["translation"], r1=2.0)
    gan = Bare(dcgan_generator(NOISE_DIM, SPEC.image_size, SPEC.channels),
               dcgan_discriminator(SPEC.image_size, SPEC.channels), NOISE_DIM, 0, options=settings)
    x = tf.constant(real_batch(gan))
    assert not np.array_equal(gan.augment(x).numpy(), x.numpy())
    assert float(gan.real_scores(x)[1]) > 0
    assert gan.conditional is False and gan.batches_per_step == 1  # facts of the settings, not of the class
    critic = Bare(dcgan_generator(NOISE_DIM, SPEC.image_size, SPEC.channels),
                  dcgan_discriminator(SPEC.image_size, SPEC.channels), NOISE_DIM, 0, options=options("wgan"))
    assert critic.batches_per_step == options("wgan").n_critic
