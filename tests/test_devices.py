"""Execution settings (ganlab.devices): what `auto` picks, strict settings, and mixed precision
with loss scaling. The tf.distribute runs are in test_distributed.py."""

from __future__ import annotations


import keras
import numpy as np
import pytest

from conftest import config_with_variants
from ganlab import devices
from ganlab.config import ConfigError, config_from_dict
from ganlab.gans.build import build_gan
from ganlab.family_settings import DataSpec
from ganlab.training import make_dataset, seed_everything

class FakeGpu:
    def __init__(self, capability):
        self.capability = capability


@pytest.fixture
def fake_gpu_details(monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(tf.config.experimental, "get_device_details",
                        lambda device: {"compute_capability": device.capability})


def test_auto_is_float32_without_xla_on_one_cpu():
    assert devices.resolve_precision("auto", []) == "float32"
    assert devices.resolve_xla("auto", []) is False
    assert devices.resolve_distribute("auto", []) == "none"


STUDY_FAMILIES = ["dcgan", "smoothed", "noised", "acgan", "wgan", "wgan_gp"]


@pytest.mark.parametrize("family", STUDY_FAMILIES)
def test_auto_on_an_amx_cpu_is_bfloat16_for_every_study_family(family):
    # bench-precision on an AMX Xeon: every family inside the seed spread (docs/budget.md)
    assert devices.resolve_precision("auto", [], family, cpu_bfloat16="amx") == "mixed_bfloat16"
    # an explicit setting wins over the CPU
    assert devices.resolve_precision("float32", [], family, cpu_bfloat16="amx") == "float32"


@pytest.mark.parametrize("family, precision", [
    ("dcgan", "mixed_bfloat16"), ("smoothed", "mixed_bfloat16"), ("noised", "mixed_bfloat16"),
    ("wgan_gp", "mixed_bfloat16"),
    ("acgan", "float32"),  # its FID moved by more than the seed spread on AVX512-BF16 (an AMD Zen 5)
    ("wgan", "float32"),  # not checked on AVX512-BF16 without AMX
])
def test_auto_on_avx512_bf16_without_amx_is_bfloat16_only_where_checked_there(family, precision):
    assert devices.resolve_precision("auto", [], family, cpu_bfloat16="avx512_bf16") == precision


@pytest.mark.parametrize("family", STUDY_FAMILIES)
def test_auto_is_float32_where_the_cpu_emulates_bfloat16_or_cannot_be_read(family):
    assert devices.resolve_precision("auto", [], family, cpu_bfloat16="none") == "float32"
    assert devices.resolve_precision("auto", [], family, cpu_bfloat16="unknown") == "float32"


def test_auto_is_float32_for_a_family_no_check_has_seen():
    assert devices.resolve_precision("auto", [], "a_new_family", cpu_bfloat16="amx") == "float32"
    assert devices.resolve_precision("auto", [], None, cpu_bfloat16="amx") == "float32"


def test_a_run_records_the_precision_auto_chose_for_its_family(monkeypatch):
    monkeypatch.setattr(devices, "cpu_facts", lambda: {"cpu": "Made-up Xeon", "cpu_bfloat16": "avx512_bf16"})
    try:
        execution = devices.resolve("auto", "off", "none", "noised")
        assert execution.facts() == {"precision": "mixed_bfloat16", "device": "CPU", "cpu": "Made-up Xeon",
                                     "cpu_bfloat16": "avx512_bf16"}
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
        assert devices.resolve("auto", "off", "none", "acgan").facts()["precision"] == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_auto_on_gpus_is_mixed_precision_xla_and_mirrored_over_several(fake_gpu_details):
    ampere, volta = FakeGpu((8, 0)), FakeGpu((7, 0))
    assert devices.resolve_precision("auto", [ampere]) == "mixed_bfloat16"
    assert devices.resolve_precision("auto", [volta]) == "mixed_float16"  # no native bfloat16
    assert devices.resolve_precision("auto", [ampere, volta]) == "mixed_float16"
    assert devices.resolve_xla("auto", [ampere]) == "auto"  # Keras: on, except under a strategy
    assert devices.resolve_distribute("auto", [ampere]) == "none"
    assert devices.resolve_distribute("auto", [ampere, ampere]) == "mirrored"


def test_explicit_settings_win_over_auto(fake_gpu_details):
    assert devices.resolve_precision("float32", [FakeGpu((9, 0))]) == "float32"
    assert devices.resolve_xla("off", [FakeGpu((9, 0))]) is False
    assert devices.resolve_xla("on", []) is True
    assert devices.resolve_distribute("none", [FakeGpu((9, 0))] * 2) == "none"


@pytest.mark.parametrize("key,value", [("precision", "float64"), ("xla", "yes"), ("distribute", "tpu")])
def test_unknown_settings_are_refused(params, key, value):
    params["train"][key] = value
    with pytest.raises(ConfigError, match=f"train.{key}"):
        config_from_dict(params)


def test_multi_worker_without_tf_config_says_what_to_set(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="TF_CONFIG"):
        devices.make_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ConfigError, match="not JSON"):
        devices.make_strategy("multi_worker")


def test_the_cpu_default_changes_nothing(params):
    cfg = config_from_dict(params)
    execution = devices.resolve("auto", "auto", "auto")
    assert (execution.precision, execution.jit_compile, execution.replicas) == ("float32", False, 1)
    gan = build_gan(cfg.variant("dcgan"), DataSpec(16, 1, 3), noise_dim=8, seed=0)
    devices.adapt(gan, execution)
    assert not isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert gan.jit_compile is False and execution.is_chief


@pytest.mark.parametrize("family", ["dcgan", "wgan"])
def test_the_train_step_is_traced_once(params, family, monkeypatch):
    # Optimizer slots created inside the first step would make tf.function trace it twice: on
    # this CPU that is 2-6 s of every train stage.
    cfg = config_with_variants({family: {"family": family, **({"n_critic": 2} if family == "wgan" else {})}})
    gan = build_gan(cfg.variant(family), DataSpec(16, 1, 3), noise_dim=8, seed=0)
    devices.adapt(gan, devices.resolve("auto", "auto", "auto"))
    traces = []
    step = type(gan).train_step
    monkeypatch.setattr(type(gan), "train_step", lambda self, data: traces.append(1) or step(self, data))
    dataset, steps = tiny_batches(gan, steps=3)
    gan.fit(dataset, epochs=2, steps_per_epoch=steps, verbose=0)
    assert len(traces) == 1


@pytest.fixture
def restore_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


def tiny_batches(gan, steps: int = 2, batch: int = 8):
    rng = np.random.default_rng(0)
    per_step = batch * gan.batches_per_step
    from ganlab.data import Dataset

    images = rng.integers(0, 256, (steps * per_step, 16, 16, 1), dtype=np.uint8)
    data = Dataset(x_train=images, y_train=rng.integers(0, 3, steps * per_step), x_test=images[:1],
                   y_test=np.zeros(1, int), class_names=["a", "b", "c"], source="random", source_sha256="")
    return make_dataset(data, per_step, 0, gan.conditional, 0, 1, gan.batches_per_step)


@pytest.mark.parametrize("precision,family,options", [
    ("mixed_float16", "dcgan", {}), ("mixed_float16", "wgan_gp", {}), ("mixed_bfloat16", "acgan", {}),
    # a spectrally normalised D's logits are float32 too: the R1 penalty (float32) adds to its loss
    ("mixed_bfloat16", "dcgan", {"spectral_norm": True, "r1": 1.0}),
])
def test_mixed_precision_trains_with_float32_outputs_and_loss_scaling_for_float16(family, precision, options,
                                                                                   restore_policy):
    cfg = config_with_variants({family: {"family": family, **options}})
    seed_everything(0, True)
    execution = devices.resolve(precision, "off", "none")
    gan = build_gan(cfg.variant(family), DataSpec(16, 1, 3), noise_dim=8, seed=0)
    devices.adapt(gan, execution)
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer) == (precision == "mixed_float16")
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer) == (precision == "mixed_float16")
    assert gan.generator.layers[1].compute_dtype == precision.removeprefix("mixed_")  # the body computes low
    before = [np.array(w) for w in gan.generator.trainable_weights]

    dataset, steps = tiny_batches(gan)
    history = gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in history.values()), history
    assert all(w.dtype == "float32" for w in gan.generator.trainable_weights)  # master weights stay float32
    assert any(not np.array_equal(b, np.array(w)) for b, w in zip(before, gan.generator.trainable_weights))
    labels = np.arange(2) % 3 if gan.conditional else None
    images = gan.generate(np.zeros((2, 8), np.float32), labels)
    assert images.dtype == np.float32 and np.isfinite(images).all()


def test_a_run_records_its_precision_and_device():
    facts = devices.resolve("float32", "off", "none").facts()
    assert facts["precision"] == "float32" and facts["device"] == "CPU"
    assert set(facts) == {"precision", "device", "cpu", "cpu_bfloat16"}
