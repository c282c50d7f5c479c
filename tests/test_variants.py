"""Every trainer of the registry, and the semantics of each stabiliser."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from conftest import blob_images, config_with_variants
from ganlab.config import FAMILY_NAMES
from ganlab.gans.build import build_gan
from ganlab.family_settings import FAMILIES, DataSpec

SPEC = DataSpec(image_size=16, channels=1, num_classes=3)
NOISE_DIM = 8


def options(family: str, **values):
    return config_with_variants({"v": {"family": family, **values}}).variant("v")


def real_batch(gan, batch_size: int = 8):
    """One train_step's input: batch_size x batches_per_step images in [-1, 1] (+ labels)."""
    n = batch_size * gan.batches_per_step
    labels = np.arange(n) % SPEC.num_classes
    x = blob_images(labels, SPEC.image_size)[..., None].astype("float32") / 127.5 - 1
    return (x, labels) if gan.conditional else x


def test_registry_and_config_name_the_same_families():
    assert set(FAMILIES) == set(FAMILY_NAMES) == {"dcgan", "smoothed", "noised", "acgan", "wgan", "wgan_gp"}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_takes_real_train_steps(family):
    gan = build_gan(options(family), SPEC, NOISE_DIM, seed=0)
    before = [np.array(w) for w in gan.generator.trainable_weights]
    d_before = [np.array(w) for w in gan.discriminator.trainable_weights]
    for _ in range(2):
        batch = real_batch(gan)
        logs = gan.train_on_batch(*(batch if gan.conditional else (batch,)), return_dict=True)
    assert set(logs) == set(gan.metric_names)
    assert {"g_loss", "d_loss", "d_acc_real", "d_acc_fake"} <= set(logs)
    assert all(np.isfinite(v) for v in logs.values())
    assert any(not np.allclose(a, np.array(w)) for a, w in zip(before, gan.generator.trainable_weights))
    assert any(not np.allclose(a, np.array(w)) for a, w in zip(d_before, gan.discriminator.trainable_weights))
    noise = np.zeros((4, NOISE_DIM), "float32")
    images = gan.generate(noise, np.arange(4) % 3 if gan.conditional else None)
    assert images.shape == (4, 16, 16, 1) and np.abs(images).max() <= 1


def test_smoothing_is_one_sided_by_default_and_two_sided_on_request():
    one = build_gan(options("smoothed", alpha=0.8), SPEC, NOISE_DIM, seed=0)
    assert (one.real_target, one.fake_target, one.generator_target) == (0.8, 0.0, 1.0)
    two = build_gan(options("smoothed", alpha=0.8, two_sided=True), SPEC, NOISE_DIM, seed=0)
    assert (two.real_target, two.fake_target, two.generator_target) == (0.8, pytest.approx(0.2), 0.8)
    plain = build_gan(options("dcgan"), SPEC, NOISE_DIM, seed=0)
    assert (plain.real_target, plain.fake_target, plain.generator_target) == (1.0, 0.0, 1.0)


def added_noise_std(gan, apply_to_fake: bool, draws: int = 60) -> np.ndarray:
    real = np.zeros((64, 16, 16, 1), "float32")
    fake = np.zeros_like(real)
    stds = []
    for _ in range(draws):
        seen_real, seen_fake = (np.asarray(t) for t in gan.discriminator_inputs(real, fake))
        assert (seen_fake.std() > 0) == apply_to_fake
        # One stddev per batch: real and fake get noise of the same scale.
        if apply_to_fake:
            assert seen_fake.std() == pytest.approx(seen_real.std(), rel=0.1, abs=1e-3)
        stds.append(seen_real.std())
    return np.array(stds)


def test_instance_noise_stddev_is_drawn_per_batch_from_uniform():
    gan = build_gan(options("noised", max_std=0.1), SPEC, NOISE_DIM, seed=0)
    stds = added_noise_std(gan, apply_to_fake=True)
    assert stds.max() <= 0.1 * 1.05
    assert stds.min() < 0.03 and stds.max() > 0.07  # spread over U(0, 0.1), not one fixed draw
    # U(0, 0.1) has sd 0.029; one stddev fixed at trace time would leave only the pixel noise's
    # own wobble (~0.0003)
    assert 0.02 < stds.std() < 0.04


def test_instance_noise_on_real_only_is_the_studys_form():
    gan = build_gan(options("noised", apply_to="real"), SPEC, NOISE_DIM, seed=0)
    added_noise_std(gan, apply_to_fake=False, draws=5)


def test_instance_noise_decays_linearly_to_zero():
    gan = build_gan(options("noised", max_std=0.1, decay=True), SPEC, NOISE_DIM, seed=0, total_steps=100)
    gan.g_optimizer.build(gan.generator.trainable_variables)
    assert float(gan.noise_scale()) == pytest.approx(0.1)
    gan.g_optimizer.iterations.assign(50)
    assert float(gan.noise_scale()) == pytest.approx(0.05)
    gan.g_optimizer.iterations.assign(100)
    assert float(gan.noise_scale()) == 0.0


def test_wgan_clipping_keeps_every_critic_weight_in_range():
    gan = build_gan(options("wgan", clip=0.01), SPEC, NOISE_DIM, seed=0)
    assert max(np.abs(np.array(w)).max() for w in gan.discriminator.trainable_weights) > 0.01  # clipping has work
    gan.train_on_batch(real_batch(gan), return_dict=True)
    for w in gan.discriminator.trainable_weights:
        assert np.abs(np.array(w)).max() <= 0.01 + 1e-7, w.path


@pytest.mark.parametrize("family", ["wgan", "wgan_gp"])
def test_n_critic_critic_steps_per_generator_step(family):
    gan = build_gan(options(family, n_critic=3), SPEC, NOISE_DIM, seed=0)
    assert gan.batches_per_step == 3
    for _ in range(2):
        gan.train_on_batch(real_batch(gan), return_dict=True)
    assert int(gan.g_optimizer.iterations) == 2
    assert int(gan.d_optimizer.iterations) == 6


def test_wgan_gp_interpolates_with_uniform_weights_per_sample():
    gan = build_gan(options("wgan_gp"), SPEC, NOISE_DIM, seed=0)
    real, fake = np.ones((4000, 2, 2, 1), "float32"), np.zeros((4000, 2, 2, 1), "float32")
    eps = np.asarray(gan.interpolates(real, fake))
    assert np.all(eps == eps[:, :1, :1, :1])  # one weight per sample, the same for all its pixels
    weights = eps[:, 0, 0, 0]
    assert weights.min() >= 0 and weights.max() <= 1
    # U(0, 1): mean 1/2, variance 1/12, a quarter of the mass in each quarter (a normal fails these)
    assert weights.mean() == pytest.approx(0.5, abs=0.03) and weights.var() == pytest.approx(1 / 12, abs=0.01)
    assert np.histogram(weights, bins=4, range=(0, 1))[0] / len(weights) == pytest.approx([0.25] * 4, abs=0.03)


def test_acgan_grid_has_one_column_per_class():
    gan = build_gan(options("acgan"), SPEC, NOISE_DIM, seed=0)
    noise = np.random.default_rng(0).standard_normal((16, NOISE_DIM)).astype("float32")
    grid_noise, labels, columns = gan.grid_inputs(noise, grid_size=4)
    assert columns == SPEC.num_classes
    table = labels.reshape(4, columns)
    assert all((table[:, c] == c).all() for c in range(columns))  # column c asks for class c
    rows = grid_noise.reshape(4, columns, NOISE_DIM)
    assert all(np.array_equal(rows[r, c], noise[r]) for r in range(4) for c in range(columns))


def test_acgan_needs_two_classes():
    from ganlab.data import DataError

    with pytest.raises(DataError, match="AC-GAN needs at least 2 classes"):
        build_gan(options("acgan"), DataSpec(16, 1, 1), NOISE_DIM, seed=0)


@pytest.mark.parametrize("family, key, value", [("smoothed", "alpha", 1.0), ("smoothed", "alpha", 0.0),
                                                ("noised", "max_std", -0.1), ("noised", "apply_to", "fake"),
                                                ("wgan", "clip", 0), ("wgan_gp", "n_critic", 0)])
def test_variant_options_are_validated(family, key, value):
    from ganlab.config import ConfigError

    with pytest.raises(ConfigError, match=f"variants.v.{key}"):
        options(family, **{key: value})


@pytest.mark.parametrize("family", ["dcgan", "acgan"])
def test_batchnorm_calibration_makes_inference_match_training_mode(family):
    gan = build_gan(options(family), SPEC, NOISE_DIM, seed=0)
    for _ in range(3):
        batch = real_batch(gan)
        gan.train_on_batch(*(batch if gan.conditional else (batch,)))
    noise = np.random.default_rng(1).standard_normal((256, NOISE_DIM)).astype("float32")
    labels = np.arange(256) % SPEC.num_classes if gan.conditional else None
    batch_stats = np.asarray(gan.generator(gan.generator_inputs(noise, labels), training=True))
    assert not np.allclose(gan.generate(noise, labels), batch_stats, atol=1e-3)  # the lag it fixes
    gan.calibrate_batchnorm(noise, labels)
    assert np.allclose(gan.generate(noise, labels), batch_stats, atol=1e-4)
    assert all(layer.momentum == 0.99 for layer in gan.generator.layers
               if isinstance(layer, keras.layers.BatchNormalization))


@pytest.mark.parametrize("family", ["dcgan", "acgan", "wgan"])
def test_the_logged_gradient_norm_is_the_norm_of_g_s_update_under_plain_sgd(family):
    # Under SGD a step moves G's weights by exactly lr * gradient: the update's norm over lr is the
    # gradient's norm, measured outside the train step (a norm of D's gradient, or of a scaled
    # loss's, would not match).
    gan = build_gan(options(family), SPEC, NOISE_DIM, seed=0)
    lr = 1e-3
    gan.compile(d_optimizer=keras.optimizers.SGD(lr), g_optimizer=keras.optimizers.SGD(lr))
    before = [np.array(w) for w in gan.generator.trainable_weights]
    batch = real_batch(gan)
    logs = gan.train_on_batch(*(batch if gan.conditional else (batch,)), return_dict=True)
    moved = np.sqrt(sum(np.sum((np.array(w) - b) ** 2) for w, b in zip(gan.generator.trainable_weights, before)))
    assert logs["g_grad_norm"] > 0
    assert logs["g_grad_norm"] == pytest.approx(moved / lr, rel=1e-3)
