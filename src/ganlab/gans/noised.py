"""DCGAN with instance noise (Arjovsky and Bottou 2017, "Towards Principled Methods for
Training GANs", sec. 3.1; Sonderby et al. 2017): Gaussian noise added to what the
discriminator sees, so the real and generated distributions overlap.

Per batch the stddev is drawn from U(0, max_std) with TF ops (the study drew it with NumPy in
a traced step, which fixes it at trace time). `apply_to: both` noises real and fake (the usual
form), `real` only the real images (the study's form); `decay` shrinks max_std linearly to 0.
"""

from __future__ import annotations

import keras
from keras import ops

from ganlab.gans.base import GAN
from ganlab.gans.dcgan import DCGAN, build_dcgan
from ganlab.family_settings import DataSpec, NoisedVariant


class NoisedDCGAN(DCGAN):
    def __init__(self, *args, options: NoisedVariant, **kwargs):
        super().__init__(*args, options=options, **kwargs)
        self.max_std = options.max_std
        self.noise_fake = options.apply_to == "both"
        self.decay = options.decay

    def noise_scale(self):
        """max_std now: constant, or falling linearly from max_std to 0 over the training."""
        if not self.decay:
            return ops.convert_to_tensor(self.max_std, "float32")
        progress = ops.cast(self.g_optimizer.iterations, "float32") / float(max(self.total_steps, 1))
        return self.max_std * ops.maximum(0.0, 1.0 - progress)

    def pixel_noise(self, images):
        shape = ops.shape(images)
        return self.replica_rows(lambda n: keras.random.normal((n, *shape[1:]), seed=self.stabiliser_seeds), shape[0])

    def discriminator_inputs(self, real, fake):
        std = keras.random.uniform((), 0.0, 1.0, seed=self.stabiliser_seeds) * self.noise_scale()
        real = real + std * self.pixel_noise(real)
        if self.noise_fake:
            fake = fake + std * self.pixel_noise(fake)
        return real, fake


def build(options: NoisedVariant, data: DataSpec, noise_dim: int, seed: int, total_steps: int) -> GAN:
    return build_dcgan(NoisedDCGAN, options, data, noise_dim, seed, total_steps)
