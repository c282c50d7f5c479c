"""DCGAN with label smoothing: the discriminator's real target alpha instead of 1.

One-sided (Salimans et al. 2016, "Improved Techniques for Training GANs", sec. 3.4): only the
real target moves; smoothing the fake target too would reinforce the generator's current
mistakes. two_sided reproduces the study's code: fake target 1 - alpha, generator target alpha.
"""

from __future__ import annotations

from ganlab.config import SmoothedVariant
from ganlab.gans.base import GAN, DataSpec
from ganlab.gans.dcgan import DCGAN, build_dcgan


class SmoothedDCGAN(DCGAN):
    def configure(self, options: SmoothedVariant) -> SmoothedDCGAN:
        self.real_target = options.alpha
        if options.two_sided:
            self.fake_target = 1.0 - options.alpha
            self.generator_target = options.alpha
        return self


def build(options: SmoothedVariant, data: DataSpec, noise_dim: int, seed: int) -> GAN:
    return build_dcgan(SmoothedDCGAN, options, data, noise_dim, seed).configure(options)
