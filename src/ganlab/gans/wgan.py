"""WGAN (Arjovsky, Chintala and Bottou 2017, "Wasserstein GAN", Algorithm 1): a critic with an
unbounded score, trained n_critic times per generator step with RMSProp, its weights clipped
to [-c, c] after every critic step. The critic is the study's DCGAN discriminator (its output is
already linear).

One train_step is one generator iteration: it receives n_critic real batches at once and gives
each critic step its own batch, so an epoch still shows the critic every training image once.

Curves: `d_loss` is the critic loss E[f(fake)] - E[f(real)], `wasserstein` the estimate
E[f(real)] - E[f(fake)] (both averaged over the critic steps), and, since a critic has no
threshold, `d_acc_real` is the share of real images scored above the batch's mean fake score and
`d_acc_fake` the share of fakes scored below the mean real score (see losses.critic_accuracy).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from ganlab.gans.base import SHARED_METRICS, GAN, discriminator_network
from ganlab.family_settings import DataSpec, WGANGPVariant, WGANVariant
from ganlab.losses import critic_accuracy, wasserstein_critic_loss, wasserstein_generator_loss
from ganlab.models import dcgan_discriminator, dcgan_generator


class WGAN(GAN):
    metric_names = (*SHARED_METRICS, "wasserstein")

    def __init__(self, *args, options: WGANVariant | WGANGPVariant, **kwargs):
        super().__init__(*args, options=options, **kwargs)
        self.n_critic = options.n_critic

    def critic_loss(self, real, fake, real_scores, fake_scores):
        return wasserstein_critic_loss(real_scores, fake_scores)

    def critic_step(self, real):
        fake = self.generator(self.sample_noise(tf.shape(real)[0]), training=True)
        # What the critic sees (the gradient penalty's interpolates too): DiffAugment's view.
        real, fake = self.augment(real), self.augment(fake)
        with tf.GradientTape() as tape:
            real_scores = self.discriminator(real, training=True)
            fake_scores = self.discriminator(fake, training=True)
            loss = self.critic_loss(real, fake, real_scores, fake_scores)
            target = self.gradient_loss(loss, self.d_optimizer)
        grads = tape.gradient(target, self.discriminator.trainable_weights)
        # Clips every critic weight (the constraints set in build_wgan) right after the update.
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        estimate = ops.mean(real_scores) - ops.mean(fake_scores)
        return loss, estimate, critic_accuracy(real_scores, fake_scores)

    def train_step(self, data):
        reals = data[0] if isinstance(data, tuple) else data
        batch = tf.shape(reals)[0] // self.n_critic
        losses, estimates, accs_real, accs_fake = [], [], [], []
        for i in range(self.n_critic):  # unrolled at trace time: n_critic is a Python int
            loss, estimate, (acc_real, acc_fake) = self.critic_step(reals[i * batch:(i + 1) * batch])
            losses.append(loss), estimates.append(estimate), accs_real.append(acc_real), accs_fake.append(acc_fake)

        with tf.GradientTape() as tape:
            fake = self.generator(self.sample_noise(batch), training=True)
            g_loss = wasserstein_generator_loss(self.discriminator(self.augment(fake), training=True))
            g_target = self.gradient_loss(g_loss, self.g_optimizer)
        grads = tape.gradient(g_target, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        mean = lambda values: ops.mean(ops.stack(values))  # noqa: E731
        return self.record(g_loss=g_loss, d_loss=mean(losses), wasserstein=mean(estimates),
                           g_grad_norm=self.gradient_norm(grads, self.g_optimizer),
                           d_acc_real=mean(accs_real), d_acc_fake=mean(accs_fake))


def build_wgan(cls: type[WGAN], options: WGANVariant | WGANGPVariant, data: DataSpec, noise_dim: int, seed: int,
               total_steps: int, d_optimizer: keras.optimizers.Optimizer,
               g_optimizer: keras.optimizers.Optimizer) -> WGAN:
    gan = cls(
        dcgan_generator(noise_dim, data.image_size, data.channels),
        discriminator_network(options, dcgan_discriminator(data.image_size, data.channels)),
        noise_dim=noise_dim, seed=seed, total_steps=total_steps, options=options, name=options.family,
    )
    clip = getattr(options, "clip", None)
    if clip is not None:
        # As Keras constraints the optimizer applies them after each update, on every replica's
        # copy alike (a plain assign from a replica is refused under tf.distribute).
        for weight in gan.discriminator.trainable_weights:
            weight.constraint = lambda value: ops.clip(value, -clip, clip)
    gan.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer)
    return gan


def build(options: WGANVariant, data: DataSpec, noise_dim: int, seed: int, total_steps: int) -> GAN:
    return build_wgan(
        WGAN, options, data, noise_dim, seed, total_steps,
        d_optimizer=keras.optimizers.RMSprop(options.d_lr),
        g_optimizer=keras.optimizers.RMSprop(options.g_lr, **options.g_optimizer_averaging),
    )
