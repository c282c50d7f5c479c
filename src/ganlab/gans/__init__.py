"""The GAN families and their registry: a variant's `family` in params.yaml names one of them.

Adding a family: a module here with a `build(options, data, noise_dim, seed)`, one line below,
and its settings class in config.py's VARIANT_TYPES."""

from __future__ import annotations

from collections.abc import Callable

from ganlab.gans import acgan, dcgan, noised, smoothed, wgan, wgan_gp
from ganlab.gans.base import GAN, DataSpec

# family -> build(options, data spec, noise_dim, seed) -> compiled GAN
FAMILIES: dict[str, Callable[..., GAN]] = {
    "dcgan": dcgan.build,
    "smoothed": smoothed.build,
    "noised": noised.build,
    "acgan": acgan.build,
    "wgan": wgan.build,
    "wgan_gp": wgan_gp.build,
}


def build_gan(options, data: DataSpec, noise_dim: int, seed: int) -> GAN:
    return FAMILIES[options.family](options, data, noise_dim, seed)


__all__ = ["FAMILIES", "GAN", "DataSpec", "build_gan"]
