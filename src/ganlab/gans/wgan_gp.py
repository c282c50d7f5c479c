"""WGAN-GP (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Algorithm 1): the
WGAN of wgan.py without clipping, its critic loss plus lambda * E[(||grad f(x_hat)||_2 - 1)^2]
at x_hat = eps * x + (1 - eps) * G(z), eps ~ U(0, 1) drawn per sample (keras-io's example
draws it from a normal, a known bug), Adam(1e-4, 0.5, 0.9), n_critic 5, lambda 10.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from ganlab.gans.base import GAN, adam_optimizers
from ganlab.family_settings import DataSpec, WGANGPVariant
from ganlab.gans.wgan import WGAN, build_wgan
from ganlab.losses import gradient_penalty, wasserstein_critic_loss


class WGANGP(WGAN):
    def __init__(self, *args, options: WGANGPVariant, **kwargs):
        super().__init__(*args, options=options, **kwargs)
        self.gp_weight = options.gp_weight

    def interpolates(self, real, fake):
        eps = self.replica_rows(lambda n: keras.random.uniform((n, 1, 1, 1), 0.0, 1.0, seed=self.stabiliser_seeds),
                                tf.shape(real)[0])
        return eps * real + (1.0 - eps) * fake

    def critic_loss(self, real, fake, real_scores, fake_scores):
        mixed = self.interpolates(real, fake)
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            scores = self.discriminator(mixed, training=True)
        penalty = gradient_penalty(tape.gradient(scores, mixed))
        return wasserstein_critic_loss(real_scores, fake_scores) + self.gp_weight * penalty


def build(options: WGANGPVariant, data: DataSpec, noise_dim: int, seed: int, total_steps: int) -> GAN:
    return build_wgan(WGANGP, options, data, noise_dim, seed, total_steps, **adam_optimizers(options))
