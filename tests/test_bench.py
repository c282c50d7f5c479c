"""The benchmark's parts that can be wrong without being slow: FLOP counts and the reference
loops (the timings themselves are what `make bench` measures, never asserted here)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from conftest import tiny_params
from ganlab.bench import forward_flops, machine_peak, reference_step, step_flops
from ganlab.config import config_from_dict
from ganlab.gans import FAMILIES, DataSpec, build_gan
from ganlab.models import dcgan_discriminator, dcgan_generator


def test_forward_flops_of_the_study_networks_by_hand():
    # G: Dense 100 -> 8*8*256; ConvT 5x5 256 -> 64 over 8x8 inputs; ConvT 5x5 64 -> 1 over 16x16.
    g = 2 * 100 * 16384 + 2 * 25 * 256 * 64 * 8 * 8 + 2 * 25 * 64 * 1 * 16 * 16
    # D: Conv 5x5 1 -> 64 to 16x16; Conv 5x5 64 -> 128 to 8x8; Dense 8192 -> 1.
    d = 2 * 25 * 1 * 64 * 16 * 16 + 2 * 25 * 64 * 128 * 8 * 8 + 2 * 8192
    assert forward_flops(dcgan_generator(100, 32)) == g
    assert forward_flops(dcgan_discriminator(32)) == d


def test_machine_peak_says_how_it_is_estimated():
    peak = machine_peak()
    assert peak["peak_gflops"] == pytest.approx(peak["cores"] * peak["ghz"] * peak["flops_per_cycle"], rel=1e-2)
    assert "nominal" in peak["how"]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_reference_loop_trains_the_same_networks(family, params, npz_file):
    raw = tiny_params(params, npz_file)
    raw["variants"] = {"v": {"family": family, **({"n_critic": 2} if family.startswith("wgan") else {})}}
    cfg = config_from_dict(raw)
    options = cfg.variant("v")
    gan = build_gan(options, DataSpec(32, 1, 3), noise_dim=8, seed=0)
    batch = 4
    images = np.random.default_rng(0).uniform(-1, 1, (batch * gan.batches_per_step, 32, 32, 1)).astype("float32")
    element = (images, np.array([0, 1, 2, 0] * gan.batches_per_step)) if gan.conditional else images
    before = [w.numpy().copy() for w in (gan.generator.trainable_weights[0], gan.discriminator.trainable_weights[0])]
    reference_step(gan, options, batch)(element)
    after = [w.numpy() for w in (gan.generator.trainable_weights[0], gan.discriminator.trainable_weights[0])]
    assert not np.array_equal(before[0], after[0]) and not np.array_equal(before[1], after[1])
    if family == "wgan":
        assert all(np.abs(w.numpy()).max() <= options.clip + 1e-7 for w in gan.discriminator.trainable_weights)
    assert step_flops(gan, options, batch) > 3 * batch * forward_flops(gan.generator)
    keras.backend.clear_session()
