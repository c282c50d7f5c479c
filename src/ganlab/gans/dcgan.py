"""The study's DCGAN (Radford et al. 2016) trained as the TensorFlow DCGAN tutorial trains it:
one noise batch, both tapes around the same forward pass, one D and one G update per batch.

The stabilisers (smoothed.py, noised.py) are this train step with other targets or with
noise on the discriminator's inputs: they override `discriminator_inputs` or the targets. Every
family takes its options (its settings from params.yaml) in its constructor."""

from __future__ import annotations

import tensorflow as tf

from ganlab.gans.base import GAN, MINIMAX_METRICS, adam_optimizers, discriminator_network
from ganlab.family_settings import DataSpec, DCGANVariant
from ganlab.losses import (discriminator_accuracy, discriminator_saturation, minimax_discriminator_loss,
                           modified_generator_loss)
from ganlab.models import dcgan_discriminator, dcgan_generator


class DCGAN(GAN):
    metric_names = MINIMAX_METRICS
    # BCE targets: D wants real -> real_target, fake -> fake_target; G wants fake -> generator_target.
    real_target = 1.0
    fake_target = 0.0
    generator_target = 1.0

    def discriminator_inputs(self, real, fake):
        """What D sees of a real and a fake batch (the identity here)."""
        return real, fake

    def train_step(self, data):
        real = data[0] if isinstance(data, tuple) else data
        noise = self.sample_noise(tf.shape(real)[0])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(noise, training=True)
            seen_real, seen_fake = self.discriminator_inputs(self.augment(real), self.augment(fake))
            real_logits, penalty = self.real_scores(seen_real)
            fake_logits = self.discriminator(seen_fake, training=True)
            d_loss = minimax_discriminator_loss(real_logits, fake_logits, self.real_target, self.fake_target) + penalty
            g_loss = modified_generator_loss(fake_logits, self.generator_target)
            d_target = self.gradient_loss(d_loss, self.d_optimizer)
            g_target = self.gradient_loss(g_loss, self.g_optimizer)
        d_grads = d_tape.gradient(d_target, self.discriminator.trainable_weights)
        g_grads = g_tape.gradient(g_target, self.generator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(d_grads, self.discriminator.trainable_weights))
        self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_weights))
        acc_real, acc_fake = discriminator_accuracy(real_logits, fake_logits)
        return self.record(g_loss=g_loss, d_loss=d_loss, d_acc_real=acc_real, d_acc_fake=acc_fake,
                           g_grad_norm=self.gradient_norm(g_grads, self.g_optimizer),
                           d_saturation=discriminator_saturation(fake_logits))


def build_dcgan(cls: type[DCGAN], options: DCGANVariant, data: DataSpec, noise_dim: int, seed: int,
                total_steps: int) -> DCGAN:
    gan = cls(
        dcgan_generator(noise_dim, data.image_size, data.channels),
        discriminator_network(options, dcgan_discriminator(data.image_size, data.channels)),
        noise_dim=noise_dim,
        seed=seed,
        total_steps=total_steps,
        options=options,
        name=options.family,
    )
    gan.compile(**adam_optimizers(options))
    return gan


def build(options: DCGANVariant, data: DataSpec, noise_dim: int, seed: int, total_steps: int) -> GAN:
    return build_dcgan(DCGAN, options, data, noise_dim, seed, total_steps)
