"""Paired seeds (issue 27): within one training seed, the variants of a family start from the
same weights where their networks match and visit the data in the same order, so a difference
between them is the variant's, not the draws'; across seeds both differ."""

from __future__ import annotations

import numpy as np
from test_variants import NOISE_DIM, SPEC, options, real_batch

from ganlab.data import Dataset
from ganlab.gans.build import build_gan
from ganlab.training import make_dataset, seed_everything


def initial_weights(family: str, seed: int) -> list[np.ndarray]:
    seed_everything(seed, deterministic=True)  # as training.set_up does before it builds
    gan = build_gan(options(family), SPEC, NOISE_DIM, seed=seed)
    return [w for net in (gan.generator, gan.discriminator) for w in net.get_weights()]


def same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_the_dcgan_family_starts_from_the_same_weights_within_a_seed_and_other_weights_across():
    dcgan = initial_weights("dcgan", 0)
    assert same(dcgan, initial_weights("smoothed", 0)) and same(dcgan, initial_weights("noised", 0))
    assert not same(dcgan, initial_weights("dcgan", 1))
    # the WGAN's critic has the DCGAN's layers but no sigmoid; its networks are its own
    assert same(initial_weights("wgan", 0), initial_weights("wgan_gp", 0))


def first_batches(seed: int, steps: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (40, 16, 16, 1), dtype=np.uint8)
    data = Dataset(x, np.arange(40) % 3, x[:4], np.arange(4) % 3, ["a", "b", "c"], "npz", "0" * 64)
    dataset, _ = make_dataset(data, images_per_step=8, seed=seed, conditional=False, first_epoch=0, epochs=2)
    return [batch.numpy() for batch in dataset.take(steps)]


def test_data_order_is_the_seeds_and_no_variants():
    # make_dataset takes no variant: every variant of a seed gets these batches
    assert same(first_batches(0), first_batches(0))
    assert not same(first_batches(0), first_batches(1))


def noise_after_one_step(family: str, seed: int = 0) -> np.ndarray:
    """G's noise for the second step of a variant trained one step on a fixed batch."""
    seed_everything(seed, deterministic=True)
    gan = build_gan(options(family), SPEC, NOISE_DIM, seed=seed)
    gan.train_step(real_batch(gan))
    return np.asarray(gan.sample_noise(8))


def test_a_stabiliser_draws_from_its_own_stream_and_leaves_gs_noise_to_the_seed():
    # instance noise used to draw from G's stream, so noised's G saw other noise than dcgan's
    # from the second step on; now both draw the same (common random numbers)
    dcgan = noise_after_one_step("dcgan")
    assert np.array_equal(dcgan, noise_after_one_step("noised"))
    assert not np.array_equal(dcgan, noise_after_one_step("dcgan", seed=1))
    # WGAN-GP's interpolation points likewise: its G sees the clipped WGAN's noise
    assert np.array_equal(noise_after_one_step("wgan"), noise_after_one_step("wgan_gp"))
