"""GAN losses as pure functions of logits (TF-GAN's shape: `<kind>_generator_loss` and
`<kind>_discriminator_loss`, variants as arguments). Each returns a scalar batch mean."""

from __future__ import annotations

import numpy as np
from keras import ops


def _bce(target: float, logits):
    # Binary cross-entropy against a constant (possibly soft) target, numerically stable form.
    return ops.mean(ops.binary_crossentropy(ops.full_like(logits, target), logits, from_logits=True))


def minimax_discriminator_loss(real_logits, fake_logits, real_target: float = 1.0, fake_target: float = 0.0):
    """BCE(real_target, D(x)) + BCE(fake_target, D(G(z))).

    Goodfellow et al. 2014, "Generative Adversarial Nets", eq. 1, as the DCGAN of Radford et al.
    2016 and the TensorFlow DCGAN tutorial train it. `real_target` < 1 with `fake_target` = 0 is
    one-sided label smoothing (Salimans et al. 2016, "Improved Techniques for Training GANs").
    """
    return _bce(real_target, real_logits) + _bce(fake_target, fake_logits)


def modified_generator_loss(fake_logits, target: float = 1.0):
    """BCE(target, D(G(z))): the non-saturating generator loss of Goodfellow et al. 2014, sec. 3
    (maximise log D(G(z)) rather than minimise log(1 - D(G(z)))), which TF-GAN calls the modified
    loss (`modified_generator_loss`); its `minimax_generator_loss` is the saturating original."""
    return _bce(target, fake_logits)


def discriminator_accuracy(real_logits, fake_logits):
    """Share of real images scored real (logit > 0) and of fakes scored fake (logit < 0)."""
    real = ops.mean(ops.cast(real_logits > 0, "float32"))
    fake = ops.mean(ops.cast(fake_logits < 0, "float32"))
    return real, fake


# D is saturated on a fake when it gives it at most this probability of being real: there the
# original minimax loss log(1 - D(G(z))) is flat (Goodfellow et al. 2014, sec. 3; Arjovsky and
# Bottou 2017, sec. 2.2, the vanishing gradients the Wasserstein loss is meant to avoid).
SATURATED_PROBABILITY = 0.01


def discriminator_saturation(fake_logits, probability: float = SATURATED_PROBABILITY):
    """Share of fakes that D gives a probability of being real of at most `probability`."""
    threshold = float(np.log(probability / (1 - probability)))
    return ops.mean(ops.cast(fake_logits <= threshold, "float32"))


def wasserstein_critic_loss(real_scores, fake_scores):
    """E[f(G(z))] - E[f(x)]: the critic's loss of Arjovsky, Chintala and Bottou 2017,
    "Wasserstein GAN", Algorithm 1 (the critic maximises E[f(x)] - E[f(G(z))])."""
    return ops.mean(fake_scores) - ops.mean(real_scores)


def wasserstein_generator_loss(fake_scores):
    """-E[f(G(z))]: the generator's loss of Arjovsky et al. 2017, Algorithm 1."""
    return -ops.mean(fake_scores)


def gradient_penalty(gradients):
    """E[(||grad f(x_hat)||_2 - 1)^2] over the batch, from the critic's gradients at the
    interpolates x_hat (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", eq. 3).
    `gradients` has the batch on axis 0; the norm is taken over every other axis."""
    flat = ops.reshape(gradients, (ops.shape(gradients)[0], -1))
    norms = ops.sqrt(ops.sum(ops.square(flat), axis=1) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def r1_penalty(gradients, weight: float):
    """(weight / 2) E[||grad_x D(x)||^2] over a batch of real images: the zero-centred penalty R1
    of Mescheder, Geiger and Nowozin 2018, "Which Training Methods for GANs do actually
    Converge?", eq. 9. `gradients` has the batch on axis 0."""
    flat = ops.reshape(gradients, (ops.shape(gradients)[0], -1))
    return 0.5 * weight * ops.mean(ops.sum(ops.square(flat), axis=1))


def critic_accuracy(real_scores, fake_scores):
    """A critic has no decision threshold, so "accuracy" here is relative to the other batch:
    the share of real images scored above the mean fake score, and the share of fakes scored
    below the mean real score. Both are 0.5-ish when the critic cannot tell them apart and 1
    when it separates them completely, like a classifier's accuracies."""
    real = ops.mean(ops.cast(real_scores > ops.mean(fake_scores), "float32"))
    fake = ops.mean(ops.cast(fake_scores < ops.mean(real_scores), "float32"))
    return real, fake


def auxiliary_class_loss(labels, class_logits):
    """-E[log P(C = c | x)]: the class term L_C of Odena et al. 2017, "Conditional Image
    Synthesis with Auxiliary Classifier GANs", eq. 2-3, as a mean cross-entropy on logits."""
    return ops.mean(ops.sparse_categorical_crossentropy(labels, class_logits, from_logits=True))


def class_accuracy(labels, class_logits):
    """Share of images whose auxiliary-head prediction is their label."""
    predicted = ops.argmax(class_logits, axis=-1)
    return ops.mean(ops.cast(ops.equal(predicted, ops.cast(labels, predicted.dtype)), "float32"))
