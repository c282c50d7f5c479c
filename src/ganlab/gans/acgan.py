"""AC-GAN (Odena et al. 2017, "Conditional Image Synthesis with Auxiliary Classifier GANs")
with the study's networks. The generator gets noise and a one-hot label; the discriminator has
two heads, real/fake (S) and class (C).

Objectives (the paper's eq. 2-3): D maximises L_S + L_C, G maximises L_C - L_S, with
L_S = E[log P(S=real|x_real)] + E[log P(S=fake|x_fake)] and
L_C = E[log P(C=c|x_real)] + E[log P(C=c|x_fake)]. As cross-entropies to minimise: D takes
BCE(1, S(real)) + BCE(0, S(fake)) + CE(c, C(real)) + CE(c, C(fake)); G takes the non-saturating
BCE(1, S(fake)) + CE(c, C(fake)) (Goodfellow et al. 2014's trick, as the paper's code does).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ganlab.data import DataError
from ganlab.gans.base import GAN, MINIMAX_METRICS, adam_optimizers, discriminator_network
from ganlab.family_settings import CONDITIONAL_MIN_CLASSES, ACGANVariant, DataSpec
from ganlab.losses import (auxiliary_class_loss, class_accuracy, discriminator_accuracy, discriminator_saturation,
                           minimax_discriminator_loss, modified_generator_loss)
from ganlab.models import acgan_discriminator, acgan_generator


class ACGAN(GAN):
    metric_names = (*MINIMAX_METRICS, "class_acc_real", "class_acc_fake")

    def __init__(self, *args, num_classes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.num_classes = num_classes

    def one_hot(self, labels):
        return ops.one_hot(ops.cast(labels, "int32"), self.num_classes)

    def train_step(self, data):
        real, labels = data[:2]  # (images, labels) from fit; (x, y, sample_weight) from train_on_batch
        batch = tf.shape(real)[0]
        noise = self.sample_noise(batch)
        fake_labels = self.replica_rows(
            lambda n: keras.random.randint((n,), 0, self.num_classes, seed=self.seed_generator), batch)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator([noise, self.one_hot(fake_labels)], training=True)
            (real_source, real_class), penalty = self.real_scores(self.augment(real))
            fake_source, fake_class = self.discriminator(self.augment(fake), training=True)
            fake_class_loss = auxiliary_class_loss(fake_labels, fake_class)
            d_loss = (minimax_discriminator_loss(real_source, fake_source)
                      + auxiliary_class_loss(labels, real_class) + fake_class_loss + penalty)
            g_loss = modified_generator_loss(fake_source) + fake_class_loss
            d_target = self.gradient_loss(d_loss, self.d_optimizer)
            g_target = self.gradient_loss(g_loss, self.g_optimizer)
        d_grads = d_tape.gradient(d_target, self.discriminator.trainable_weights)
        g_grads = g_tape.gradient(g_target, self.generator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(d_grads, self.discriminator.trainable_weights))
        self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_weights))
        acc_real, acc_fake = discriminator_accuracy(real_source, fake_source)
        return self.record(g_loss=g_loss, d_loss=d_loss, d_acc_real=acc_real, d_acc_fake=acc_fake,
                           g_grad_norm=self.gradient_norm(g_grads, self.g_optimizer),
                           d_saturation=discriminator_saturation(fake_source),
                           class_acc_real=class_accuracy(labels, real_class),
                           class_acc_fake=class_accuracy(fake_labels, fake_class))

    def grid_inputs(self, noise: np.ndarray, grid_size: int) -> tuple[np.ndarray, np.ndarray, int]:
        """One column per class, one row per noise vector: a row shows one z across the classes."""
        rows = noise[:grid_size]
        labels = np.tile(np.arange(self.num_classes), len(rows))
        return np.repeat(rows, self.num_classes, axis=0), labels, self.num_classes

    def generator_inputs(self, noise: np.ndarray, labels: np.ndarray | None = None):
        if labels is None:
            raise ValueError("AC-GAN generates for given labels; pass one label per noise row")
        return [noise, np.eye(self.num_classes, dtype=np.float32)[np.asarray(labels)]]


def build(options: ACGANVariant, data: DataSpec, noise_dim: int, seed: int, total_steps: int) -> GAN:
    if data.num_classes < CONDITIONAL_MIN_CLASSES:  # plan.py refuses it before any work; this guards a direct build
        raise DataError(f"AC-GAN needs at least {CONDITIONAL_MIN_CLASSES} classes; the prepared data has {data.num_classes}: "
                        "keep more classes (data.classes) or remove the acgan variant")
    gan = ACGAN(
        acgan_generator(noise_dim, data.num_classes, data.image_size, data.channels),
        discriminator_network(options, acgan_discriminator(data.image_size, data.num_classes, data.channels)),
        noise_dim=noise_dim, seed=seed, total_steps=total_steps, options=options, num_classes=data.num_classes,
        name=options.family,
    )
    gan.compile(**adam_optimizers(options))
    return gan
