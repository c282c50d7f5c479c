"""The reference: a train step written the way the TensorFlow DCGAN tutorial writes one (a
`tf.function` over a Python loop, tf.keras losses), on the project's networks built from Keras'
own layers, keyed by family. A family without an entry has no reference: the bench times it
without a ratio."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import tensorflow as tf

from ganlab.fused_norm import with_keras_layers
from ganlab.gans.base import GAN


def _fresh_optimizer(optimizer: keras.optimizers.Optimizer, variables) -> keras.optimizers.Optimizer:
    copy = optimizer.__class__.from_config(optimizer.get_config())
    copy.build(variables)
    return copy


def _bce():
    return tf.keras.losses.BinaryCrossentropy(from_logits=True)


def dcgan_step(G: keras.Model, D: keras.Model, gan: GAN, options, batch: int, g_opt, d_opt):
    """The tutorial's DCGAN step, with the targets of label smoothing and the instance noise of
    the stabilised variants when their options ask for them."""
    noise_dim, bce = gan.noise_dim, _bce()
    real_t, fake_t, gen_t = getattr(options, "alpha", 1.0), 0.0, 1.0
    if getattr(options, "two_sided", False):
        fake_t, gen_t = 1.0 - options.alpha, options.alpha
    max_std = getattr(options, "max_std", 0.0)
    noise_fake = getattr(options, "apply_to", "both") == "both"

    @tf.function
    def step(images):
        noise = tf.random.normal([batch, noise_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = G(noise, training=True)
            if max_std:
                std = tf.random.uniform([]) * max_std
                images = images + std * tf.random.normal(tf.shape(images))
                if noise_fake:
                    generated = generated + std * tf.random.normal(tf.shape(generated))
            real_output = D(images, training=True)
            fake_output = D(generated, training=True)
            gen_loss = bce(tf.fill(tf.shape(fake_output), gen_t), fake_output)
            disc_loss = (bce(tf.fill(tf.shape(real_output), real_t), real_output)
                         + bce(tf.fill(tf.shape(fake_output), fake_t), fake_output))
        g_grads = gen_tape.gradient(gen_loss, G.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, D.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, G.trainable_variables))
        d_opt.apply_gradients(zip(d_grads, D.trainable_variables))
    return step


def acgan_step(G: keras.Model, D: keras.Model, gan: GAN, options, batch: int, g_opt, d_opt):
    noise_dim, bce = gan.noise_dim, _bce()
    sce = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    classes = gan.num_classes

    @tf.function
    def step(element):
        images, labels = element
        noise = tf.random.normal([batch, noise_dim])
        fake_labels = tf.random.uniform([batch], 0, classes, dtype=tf.int32)
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = G([noise, tf.one_hot(fake_labels, classes)], training=True)
            real_source, real_class = D(images, training=True)
            fake_source, fake_class = D(generated, training=True)
            fake_class_loss = sce(fake_labels, fake_class)
            disc_loss = (bce(tf.ones_like(real_source), real_source) + bce(tf.zeros_like(fake_source), fake_source)
                         + sce(labels, real_class) + fake_class_loss)
            gen_loss = bce(tf.ones_like(fake_source), fake_source) + fake_class_loss
        g_grads = gen_tape.gradient(gen_loss, G.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, D.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, G.trainable_variables))
        d_opt.apply_gradients(zip(d_grads, D.trainable_variables))
    return step


def critic_step(G: keras.Model, D: keras.Model, gan: GAN, options, batch: int, g_opt, d_opt):
    """WGAN's Algorithm 1 (clipping when the options have `clip`) or WGAN-GP's (a penalty when
    they have `gp_weight`): n_critic critic steps, then one generator step."""
    noise_dim = gan.noise_dim
    n_critic, clip, gp_weight = options.n_critic, getattr(options, "clip", None), getattr(options, "gp_weight", 0.0)

    @tf.function
    def step(images):
        for i in range(n_critic):
            real = images[i * batch:(i + 1) * batch]
            generated = G(tf.random.normal([batch, noise_dim]), training=True)
            with tf.GradientTape() as tape:
                critic_loss = tf.reduce_mean(D(generated, training=True)) - tf.reduce_mean(D(real, training=True))
                if gp_weight:
                    eps = tf.random.uniform([batch, 1, 1, 1])
                    mixed = eps * real + (1.0 - eps) * generated
                    with tf.GradientTape() as gp_tape:
                        gp_tape.watch(mixed)
                        scores = D(mixed, training=True)
                    grads = gp_tape.gradient(scores, mixed)
                    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)
                    critic_loss += gp_weight * tf.reduce_mean(tf.square(norms - 1.0))
            d_grads = tape.gradient(critic_loss, D.trainable_variables)
            d_opt.apply_gradients(zip(d_grads, D.trainable_variables))
            if clip is not None:
                for v in D.trainable_variables:
                    v.assign(tf.clip_by_value(v, -clip, clip))
        with tf.GradientTape() as tape:
            gen_loss = -tf.reduce_mean(D(G(tf.random.normal([batch, noise_dim]), training=True), training=True))
        g_grads = tape.gradient(gen_loss, G.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, G.trainable_variables))
    return step


# family -> builder(G, D, gan, options, batch, g_optimizer, d_optimizer) -> step(dataset element)
REFERENCE_LOOPS: dict[str, Callable] = {
    "dcgan": dcgan_step, "smoothed": dcgan_step, "noised": dcgan_step,
    "acgan": acgan_step,
    "wgan": critic_step, "wgan_gp": critic_step,
}


@dataclass(frozen=True)
class Reference:
    step: Callable  # step(dataset element)
    generator: keras.Model
    discriminator: keras.Model


def reference_step(gan: GAN, options, batch: int) -> Reference | None:
    """The family's reference step on copies of the GAN's networks in Keras' own layers (same
    weights, fresh optimisers of the same kind and settings); None for a family without one."""
    builder = REFERENCE_LOOPS.get(options.family)
    if builder is None:
        return None
    generator, discriminator = with_keras_layers(gan.generator), with_keras_layers(gan.discriminator)
    g_opt = _fresh_optimizer(gan.g_optimizer, generator.trainable_variables)
    d_opt = _fresh_optimizer(gan.d_optimizer, discriminator.trainable_variables)
    return Reference(builder(generator, discriminator, gan, options, batch, g_opt, d_opt), generator, discriminator)
