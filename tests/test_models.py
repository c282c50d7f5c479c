"""The study's networks, layer for layer (the course report: University of Tehran, Neural Networks
and Deep Learning, assignment 6), and their losses."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from ganlab.losses import discriminator_accuracy, minimax_discriminator_loss, modified_generator_loss
from ganlab.models import dcgan_discriminator, dcgan_generator


def layer_summary(model: keras.Model) -> list[tuple[str, tuple]]:
    return [(type(layer).__name__, tuple(layer.output.shape[1:])) for layer in model.layers]


def test_dcgan_generator_matches_the_spec():
    g = dcgan_generator(100, 32, 1)
    assert layer_summary(g) == [
        ("Dense", (8 * 8 * 256,)),
        ("BatchNormalization", (8 * 8 * 256,)),
        ("LeakyReLU", (8 * 8 * 256,)),
        ("Reshape", (8, 8, 256)),
        ("BatchNormalization", (8, 8, 256)),
        ("Conv2DTranspose", (16, 16, 64)),
        ("BatchNormalization", (16, 16, 64)),
        ("LeakyReLU", (16, 16, 64)),
        ("Conv2DTranspose", (32, 32, 1)),
    ]
    dense, _, leaky_1, _, _, up_1, _, leaky_2, up_2 = g.layers
    assert leaky_1.negative_slope == pytest.approx(0.2)
    assert leaky_2.negative_slope == pytest.approx(0.3)  # Keras 2's LeakyReLU() default
    assert up_1.kernel_size == (5, 5) and up_1.strides == (2, 2) and up_1.padding == "same"
    assert up_2.activation.__name__ == "tanh"
    # Dense(100 -> 16384) with bias: the study's parameter count for this layer.
    assert dense.count_params() == 100 * 16384 + 16384
    out = g(np.random.default_rng(0).standard_normal((3, 100)).astype("float32"), training=False)
    assert out.shape == (3, 32, 32, 1) and np.abs(np.asarray(out)).max() <= 1.0


def test_dcgan_discriminator_matches_the_spec():
    d = dcgan_discriminator(32, 1)
    assert layer_summary(d) == [
        ("Conv2D", (16, 16, 64)),
        ("LeakyReLU", (16, 16, 64)),
        ("Dropout", (16, 16, 64)),
        ("Conv2D", (8, 8, 128)),
        ("LeakyReLU", (8, 8, 128)),
        ("Dropout", (8, 8, 128)),
        ("Flatten", (8192,)),
        ("Dense", (1,)),
    ]
    conv_1, leaky, dropout = d.layers[:3]
    assert conv_1.kernel_size == (5, 5) and conv_1.strides == (2, 2)
    assert leaky.negative_slope == pytest.approx(0.3) and dropout.rate == pytest.approx(0.3)
    assert d.layers[-1].activation.__name__ == "linear"  # a logit: the losses apply the sigmoid


@pytest.mark.parametrize("size, channels", [(16, 1), (28, 3), (64, 1)])
def test_networks_follow_the_data_shape(size, channels):
    g = dcgan_generator(8, size, channels)
    d = dcgan_discriminator(size, channels)
    images = g(np.zeros((2, 8), "float32"))
    assert images.shape == (2, size, size, channels)
    assert d(images).shape == (2, 1)


def bce(target: float, logit: float) -> float:
    p = 1 / (1 + np.exp(-logit))
    return -(target * np.log(p) + (1 - target) * np.log(1 - p))


def test_minimax_losses_against_hand_computed_values():
    real, fake = np.array([[2.0], [-1.0]], "float32"), np.array([[0.5], [-3.0]], "float32")
    # log(1 + e^-2) = 0.126928, log(1 + e^1) = 1.313262 ; log(1 + e^0.5) = 0.974077, log(1 + e^-3) = 0.048587
    expected_d = (0.126928 + 1.313262) / 2 + (0.974077 + 0.048587) / 2
    assert float(minimax_discriminator_loss(real, fake)) == pytest.approx(expected_d, abs=1e-5)
    expected_g = (bce(1, 0.5) + bce(1, -3.0)) / 2
    assert float(modified_generator_loss(fake)) == pytest.approx(expected_g, abs=1e-5)
    assert expected_g == pytest.approx((0.474077 + 3.048587) / 2, abs=1e-5)


def test_soft_targets_change_the_loss_as_bce_says():
    real, fake = np.array([[1.5]], "float32"), np.array([[-0.5]], "float32")
    got = float(minimax_discriminator_loss(real, fake, real_target=0.9, fake_target=0.1))
    assert got == pytest.approx(bce(0.9, 1.5) + bce(0.1, -0.5), abs=1e-5)
    assert float(modified_generator_loss(fake, target=0.9)) == pytest.approx(bce(0.9, -0.5), abs=1e-5)


def test_losses_are_stable_for_extreme_logits():
    huge = np.array([[80.0], [-80.0]], "float32")
    assert np.isfinite(float(minimax_discriminator_loss(huge, huge)))
    assert float(modified_generator_loss(np.array([[-80.0]], "float32"))) == pytest.approx(80.0, rel=1e-3)


def test_discriminator_accuracy_counts_the_logit_sign():
    acc_real, acc_fake = discriminator_accuracy(np.array([[1.0], [-1.0], [2.0], [3.0]], "float32"),
                                                np.array([[-1.0], [0.5]], "float32"))
    assert float(acc_real) == pytest.approx(0.75) and float(acc_fake) == pytest.approx(0.5)


def test_wasserstein_losses_against_hand_computed_values():
    from ganlab.losses import wasserstein_critic_loss, wasserstein_generator_loss

    real, fake = np.array([[3.0], [1.0]], "float32"), np.array([[0.5], [-1.5], [2.0]], "float32")
    # E[f(fake)] - E[f(real)] = (0.5 - 1.5 + 2) / 3 - (3 + 1) / 2 = 1/3 - 2
    assert float(wasserstein_critic_loss(real, fake)) == pytest.approx(1 / 3 - 2, abs=1e-6)
    assert float(wasserstein_generator_loss(fake)) == pytest.approx(-1 / 3, abs=1e-6)


def test_gradient_penalty_against_hand_computed_norms():
    from ganlab.losses import gradient_penalty

    grads = np.zeros((3, 2, 2, 1), "float32")
    grads[0, 0, 0, 0], grads[0, 1, 1, 0] = 3.0, 4.0  # norm 5 -> (5 - 1)^2 = 16
    grads[1, 0, 1, 0] = 1.0                          # norm 1 -> 0
    # sample 2: all zero, norm 0 -> (0 - 1)^2 = 1
    assert float(gradient_penalty(grads)) == pytest.approx((16 + 0 + 1) / 3, abs=1e-4)


def test_critic_accuracy_compares_with_the_other_batchs_mean():
    from ganlab.losses import critic_accuracy

    real = np.array([[2.0], [0.0], [5.0], [1.5]], "float32")  # mean 2.125
    fake = np.array([[1.0], [3.0], [-1.0]], "float32")        # mean 1.0
    acc_real, acc_fake = critic_accuracy(real, fake)
    assert float(acc_real) == pytest.approx(3 / 4)  # 2, 5, 1.5 are above 1.0
    assert float(acc_fake) == pytest.approx(2 / 3)  # 1 and -1 are below 2.125


def test_auxiliary_class_loss_and_accuracy_against_hand_computed_values():
    from ganlab.losses import auxiliary_class_loss, class_accuracy

    logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], "float32")
    labels = np.array([0, 2])
    # -log softmax: row 0 -> log(e^2 + 2) - 2 ; row 1 -> log 3
    expected = (np.log(np.exp(2) + 2) - 2 + np.log(3)) / 2
    assert float(auxiliary_class_loss(labels, logits)) == pytest.approx(expected, abs=1e-5)
    assert float(class_accuracy(labels, logits)) == pytest.approx(0.5)  # row 1's argmax is 0


def test_acgan_networks_match_the_spec():
    from ganlab.models import acgan_discriminator, acgan_generator

    g = acgan_generator(100, 5, 32, 1)
    assert [tuple(i.shape[1:]) for i in g.inputs] == [(100,), (5,)]
    kinds = [type(layer).__name__ for layer in g.layers if type(layer).__name__ != "InputLayer"]
    assert kinds == ["Concatenate", "Dense", "BatchNormalization", "Reshape", "BatchNormalization",
                     "UpSampling2D", "Conv2D", "BatchNormalization", "UpSampling2D", "Conv2D",
                     "BatchNormalization", "Conv2D"]
    convs = [layer for layer in g.layers if type(layer).__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [128, 64, 1] and all(c.kernel_size == (3, 3) for c in convs)
    assert convs[-1].activation.__name__ == "tanh"
    assert g.output.shape[1:] == (32, 32, 1)

    d = acgan_discriminator(32, 5, 1)
    convs = [layer for layer in d.layers if type(layer).__name__ == "Conv2D"]
    assert [(c.filters, c.strides) for c in convs] == [(32, (2, 2)), (64, (1, 1)), (128, (2, 2)), (256, (1, 1))]
    assert [layer.rate for layer in d.layers if type(layer).__name__ == "Dropout"] == [0.5] * 4
    assert [tuple(o.shape[1:]) for o in d.outputs] == [(1,), (5,)]


def test_discriminator_saturation_counts_fakes_at_or_below_one_percent():
    from ganlab.losses import discriminator_saturation

    limit = np.log(0.01 / 0.99)  # the logit of p(real) = 0.01
    logits = np.array([[limit - 3], [limit], [limit + 0.01], [0.0]], "float32")
    # the first two are saturated (at or below 1 %); a threshold on the logit 0 would count none
    assert float(discriminator_saturation(logits)) == pytest.approx(0.5)
