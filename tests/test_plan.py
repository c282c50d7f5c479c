"""Settings checked against each other and the data's size before any stage runs (ganlab.plan)."""

from __future__ import annotations

import pytest

from ganlab.config import ConfigError, config_from_dict
from ganlab.plan import AUTO_SAMPLES, SplitSizes, check_plan, evaluate_samples, problems

FIVE = ["T-shirt/top", "Trouser", "Dress", "Sneaker", "Bag"]


def sizes(per_class: int, classes: list[str] = FIVE) -> SplitSizes:
    """Fashion-MNIST's split capped at per_class: as many test images as training images."""
    return SplitSizes(classes, [per_class] * len(classes), [per_class] * len(classes))


def test_the_quick_experiment_fits(params):
    """`make exp S="train.epochs=2 data.per_class=64"`: 320 training images, no other key touched."""
    params["train"]["epochs"] = 2
    cfg = config_from_dict(params)
    assert problems(cfg, sizes(64)) == []
    assert evaluate_samples(cfg.evaluate.samples, 320) == 320
    assert evaluate_samples(cfg.evaluate.samples, 5000) == AUTO_SAMPLES


def test_too_few_images_for_a_critic_step_names_both_wgans(params):
    found = problems(config_from_dict(params), sizes(48))
    assert len(found) == 2
    for variant, line in zip(("wgan", "wgan_gp"), found):
        # the batch is named where params.yaml sets it: train's, which every variant shares
        assert line.startswith(f"variant {variant} takes 320 images a step (train.batch_size 64 x 5 critic batches")
        assert "training split has 240" in line
    # a variant block that sets its own batch is named as that block's
    params["variants"]["wgan"]["batch_size"] = 64
    line = problems(config_from_dict(params), sizes(48))[0]
    assert line.startswith("variant wgan takes 320 images a step (variants.wgan.batch_size 64 x 5 critic batches")


def test_a_shared_batch_size_is_named_where_it_is_set(params):
    params["variants"] = {"dcgan": params["variants"]["dcgan"]}
    params["train"]["batch_size"] = 512
    [line] = problems(config_from_dict(params), sizes(64))
    assert "(train.batch_size 512)" in line and "lower train.batch_size" in line


def test_a_fixed_sample_count_larger_than_the_split_is_refused(params):
    params["evaluate"]["samples"] = 2000
    with pytest.raises(ConfigError, match=r"evaluate.samples is 2000 but the training split has 320 images: "
                                          r"set evaluate.samples: auto"):
        check_plan(config_from_dict(params), sizes(64))


def test_neighbour_counts_must_fit_the_smallest_compared_set(params):
    params["evaluate"]["dc_k"] = 10
    cfg = config_from_dict(params)
    tiny_test = SplitSizes(FIVE, [400] * 5, [2] * 5)  # 10 test images: real_test compares 10
    [line] = problems(cfg, tiny_test)
    assert line.startswith("evaluate.dc_k is 10 but the evaluation compares sets of 10 images")


def test_acgan_needs_two_classes(params):
    [line] = problems(config_from_dict(params), sizes(1000, ["Bag"]))
    assert line.startswith("variant acgan (acgan) learns to make a requested class and needs at least 2 classes")


def test_every_problem_in_one_refusal(params):
    params["evaluate"].update(samples=5000, pr_k=400)
    with pytest.raises(ConfigError) as info:
        check_plan(config_from_dict(params), sizes(48))
    message = str(info.value)
    assert "\n" not in message and message.count("; ") == 3  # samples, pr_k, wgan, wgan_gp


def test_the_trainers_agree_with_the_plan_on_images_per_step(params, npz_file):
    from ganlab.gans.build import build_gan
    from ganlab.family_settings import DataSpec

    cfg = config_from_dict(params)
    for name, variant in cfg.variants.items():
        gan = build_gan(variant, DataSpec(16, 1, 3), noise_dim=4, seed=0)
        assert gan.batches_per_step == variant.batches_per_step, name
        assert gan.conditional == variant.conditional, name
