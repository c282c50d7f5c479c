"""DCGAN with label smoothing: the discriminator's real target alpha instead of 1.

One-sided (Salimans et al. 2016, "Improved Techniques for Training GANs", sec. 3.4): only the
real target moves; smoothing the fake target too would reinforce the generator's current
mistakes. two_sided reproduces the study's code: fake target 1 - alpha, generator target alpha.
"""

from __future__ import annotations

from ganlab.gans.base import GAN
from ganlab.gans.dcgan import DCGAN, build_dcgan
from ganlab.family_settings import DataSpec, SmoothedVariant


class SmoothedDCGAN(DCGAN):
    def __init__(self, *args, options: SmoothedVariant, **kwargs):
        super().__init__(*args, options=options, **kwargs)
        self.real_target = options.alpha
        if options.two_sided:
            self.fake_target = 1.0 - options.alpha
            self.generator_target = options.alpha


def build(options: SmoothedVariant, data: DataSpec, noise_dim: int, seed: int, total_steps: int) -> GAN:
    return build_dcgan(SmoothedDCGAN, options, data, noise_dim, seed, total_steps)
