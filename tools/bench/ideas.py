"""`python -m tools.bench.ideas`: the speed-ups tried on the train step, each against the
tutorial's step in one process (alternating, REPETITIONS x STEPS steps each, synthetic 28x28
images): img/s of both and the median (min-max) of the paired ratios. The README's Performance
section lists the results; settings of the whole process (threads, oneDNN, XLA) are compared by
running this under them (TF_ENABLE_ONEDNN_OPTS=0, ...) and reading the tutorial's img/s.
"""

from __future__ import annotations

import statistics
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from ganlab.fused_norm import with_keras_layers
from ganlab.models import acgan_discriminator, acgan_generator, dcgan_discriminator, dcgan_generator

BATCH, NOISE, SIZE, CLASSES = 64, 100, 28, 10
REPETITIONS, STEPS = 6, 20


def tutorial_step(G, D, conditional: bool, one_d_call: bool = False):
    """The tutorial's minimax step; `one_d_call` scores real and fake in one D call (only for a D
    without BatchNorm, whose outputs would otherwise depend on the mix)."""
    bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    g_opt, d_opt = keras.optimizers.Adam(2e-4, 0.5), keras.optimizers.Adam(2e-4, 0.5)

    def source(outputs):
        return outputs[0] if conditional else outputs

    @tf.function
    def step(images):
        noise = tf.random.normal([BATCH, NOISE])
        inputs = [noise, tf.one_hot(tf.zeros([BATCH], tf.int32), CLASSES)] if conditional else noise
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = G(inputs, training=True)
            if one_d_call:
                both = source(D(tf.concat([images, fake], 0), training=True))
                real_out, fake_out = both[:BATCH], both[BATCH:]
            else:
                real_out, fake_out = source(D(images, training=True)), source(D(fake, training=True))
            g_loss = bce(tf.ones_like(fake_out), fake_out)
            d_loss = bce(tf.ones_like(real_out), real_out) + bce(tf.zeros_like(fake_out), fake_out)
        g_opt.apply_gradients(zip(g_tape.gradient(g_loss, G.trainable_variables), G.trainable_variables))
        d_opt.apply_gradients(zip(d_tape.gradient(d_loss, D.trainable_variables), D.trainable_variables))
    return step


def networks(family: str):
    if family == "acgan":
        return acgan_generator(NOISE, CLASSES, SIZE), acgan_discriminator(SIZE, CLASSES)
    return dcgan_generator(NOISE, SIZE), dcgan_discriminator(SIZE)


def ideas() -> dict:
    """name -> (the tutorial's step on Keras' own layers, the step with the idea)."""
    out = {}
    for family in ("dcgan", "acgan"):
        G, D = networks(family)
        plain = tutorial_step(with_keras_layers(G), with_keras_layers(D), family == "acgan")
        out[f"{family}: fused BatchNorm (ganlab.fused_norm)"] = (plain, tutorial_step(G, D, family == "acgan"))
    G, D = networks("dcgan")
    G, D = with_keras_layers(G), with_keras_layers(D)
    out["dcgan: real and fake in one D call"] = (tutorial_step(G, D, False), tutorial_step(G, D, False, True))
    return out


def images_per_second(step, images) -> float:
    started = time.perf_counter()
    for _ in range(STEPS):
        step(images)
    return STEPS * BATCH / (time.perf_counter() - started)


def compare(baseline, idea, images) -> tuple[list[float], list[float]]:
    baseline(images), idea(images)  # trace
    rates = {baseline: [], idea: []}
    for repetition in range(REPETITIONS):
        for step in ((baseline, idea) if repetition % 2 == 0 else (idea, baseline)):
            rates[step].append(images_per_second(step, images))
    return rates[baseline], rates[idea]


def main() -> int:
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, (BATCH, SIZE, SIZE, 1)).astype("float32"))
    print("| idea | tutorial img/s | with the idea img/s | paired ratio, median (min-max) |")
    print("|---|---|---|---|")
    for name, (baseline, idea) in ideas().items():
        before, after = compare(baseline, idea, images)
        ratios = [a / b for a, b in zip(after, before)]
        print(f"| {name} | {statistics.median(before):.0f} | {statistics.median(after):.0f} | "
              f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
