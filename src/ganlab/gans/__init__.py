"""The GAN families and their registry: a variant's `family` in params.yaml names one of them."""

from __future__ import annotations

from collections.abc import Callable

from ganlab.gans import dcgan
from ganlab.gans.base import GAN, DataSpec

# family -> build(options, data spec, noise_dim, seed) -> compiled GAN
FAMILIES: dict[str, Callable[..., GAN]] = {
    "dcgan": dcgan.build,
}


def build_gan(options, data: DataSpec, noise_dim: int, seed: int) -> GAN:
    return FAMILIES[options.family](options, data, noise_dim, seed)


__all__ = ["FAMILIES", "GAN", "DataSpec", "build_gan"]
