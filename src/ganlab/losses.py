"""GAN losses as pure functions of logits (TF-GAN's shape: `<kind>_generator_loss` and
`<kind>_discriminator_loss`, variants as arguments). Each returns a scalar batch mean."""

from __future__ import annotations

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


def minimax_generator_loss(fake_logits, target: float = 1.0):
    """BCE(target, D(G(z))): the non-saturating generator loss of Goodfellow et al. 2014, sec. 3
    (maximise log D(G(z)) rather than minimise log(1 - D(G(z))))."""
    return _bce(target, fake_logits)


def discriminator_accuracy(real_logits, fake_logits):
    """Share of real images scored real (logit > 0) and of fakes scored fake (logit < 0)."""
    real = ops.mean(ops.cast(real_logits > 0, "float32"))
    fake = ops.mean(ops.cast(fake_logits < 0, "float32"))
    return real, fake
