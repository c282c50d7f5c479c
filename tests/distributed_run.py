"""Run by test_distributed.py in fresh processes (logical devices and TF_CONFIG must be set before
TensorFlow starts). Modes:

  compare FAMILY STEPS BATCH [MISTAKE]
                                 train on one device and under MirroredStrategy over two logical
                                 CPU devices, same seed and data, with plain SGD; print how far apart
                                 they are. MISTAKE plants a bug the comparison must catch:
                                 no_loss_division (each replica's loss not divided by the replicas,
                                 so the summed gradient is 2x) or shared_noise (every replica draws
                                 the same noise rows instead of its own slice)
  worker FAMILY STEPS BATCH OUT  one worker of a MultiWorkerMirroredStrategy run with SGD (TF_CONFIG set by
                                 the caller); the chief saves its weights to OUT (.npz)
  single FAMILY STEPS BATCH OUT  the same training on one device, initial and final weights to OUT
  stage PARAMS VARIANT           the train stage itself (ganlab.training.train) on two logical
                                 CPU devices, for a params file that asks for `distribute: mirrored`

Dropout is switched off in the comparisons: each replica's Dropout layer draws from its own
mirrored seed generator, so masks cannot match a one-device run's; everything else should.
The comparisons train with plain SGD, whose step is proportional to the gradient: the families'
Adam and RMSProp normalise the step, so a gradient twice too large moves their weights by float
noise only (~2e-5 after a few steps) and a comparison under them cannot see that mistake.
"""

import json
import sys

import tensorflow as tf

if sys.argv[1] in ("compare", "stage"):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from ganlab import devices  # noqa: E402
from conftest import config_with_variants  # noqa: E402
from ganlab.gans.build import build_gan  # noqa: E402
from ganlab.family_settings import DataSpec  # noqa: E402
from ganlab.data import Dataset  # noqa: E402
from ganlab.training import make_dataset, seed_everything  # noqa: E402


SGD_LEARNING_RATE = 0.01


def plant(mistake: str) -> None:
    """Break the distributed step the way a careless change would."""
    from ganlab.gans.base import GAN

    if mistake == "no_loss_division":
        GAN.gradient_loss = staticmethod(lambda loss, optimizer: optimizer.scale_loss(loss))
    elif mistake == "shared_noise":
        GAN.replica_rows = staticmethod(lambda draw, batch_size: draw(batch_size))
    elif mistake != "none":
        raise SystemExit(f"unknown mistake {mistake}")


def train(family: str, distribute: str, steps: int, batch: int, seed: int = 3, sgd: bool = False) -> dict:
    cfg = config_with_variants({family: {"family": family}})
    seed_everything(seed, True)
    execution = devices.resolve("float32", "off", distribute)
    spec = DataSpec(image_size=16, channels=1, num_classes=3)
    with execution.strategy.scope():
        gan = build_gan(cfg.variant(family), spec, noise_dim=8, seed=seed)
        if sgd:
            gan.d_optimizer = keras.optimizers.SGD(SGD_LEARNING_RATE)
            gan.g_optimizer = keras.optimizers.SGD(SGD_LEARNING_RATE)
        devices.adapt(gan, execution)
    initial = [np.array(w) for w in [*gan.generator.weights, *gan.discriminator.weights]]
    for model in (gan.generator, gan.discriminator):
        for layer in model._flatten_layers(include_self=False):
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0
    rng = np.random.default_rng(0)
    per_step = batch * gan.batches_per_step
    images = rng.integers(0, 256, (steps * per_step, 16, 16, 1), dtype=np.uint8)
    data = Dataset(x_train=images, y_train=rng.integers(0, 3, steps * per_step), x_test=images[:1],
                   y_test=np.zeros(1, int), class_names=["a", "b", "c"], source="random", source_sha256="")
    dataset, steps = make_dataset(data, per_step, seed, gan.conditional, 0, 1, gan.batches_per_step, execution.replicas)
    history = gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    return {
        "replicas": execution.replicas,
        "chief": execution.is_chief,
        "initial": initial,
        "weights": [np.asarray(w) for w in [*gan.generator.weights, *gan.discriminator.weights]],
        "curves": {k: float(v[-1]) for k, v in history.history.items()},
    }


def compare(family: str, steps: int, batch: int, mistake: str = "none") -> None:
    one = train(family, "none", steps, batch, sgd=True)
    plant(mistake)  # after the one-device run: only the distributed run carries the bug
    two = train(family, "mirrored", steps, batch, sgd=True)

    def flat(arrays):
        return np.concatenate([np.ravel(a) for a in arrays]).astype(np.float64)

    start, end_one, end_two = flat(one["initial"]), flat(one["weights"]), flat(two["weights"])
    assert np.array_equal(start, flat(two["initial"])), "the two runs must start from the same weights"
    moved, apart = np.linalg.norm(end_one - start), np.linalg.norm(end_two - end_one)
    print(json.dumps({"replicas": [one["replicas"], two["replicas"]], "mistake": mistake,
                      # how far apart the runs end, as a share of how far one device moved the weights
                      "relative_weight_diff": float(apart / moved), "moved": float(moved),
                      "max_abs_weight_diff": float(np.abs(end_two - end_one).max()),
                      "curves_one": one["curves"], "curves_two": two["curves"]}))


def save_weights(family: str, distribute: str, steps: int, batch: int, out: str) -> None:
    result = train(family, distribute, steps, batch, sgd=True)
    if result["chief"]:
        np.savez(out, **{f"initial_{i:03d}": w for i, w in enumerate(result["initial"])},
                 **{f"weights_{i:03d}": w for i, w in enumerate(result["weights"])})
    print(json.dumps({"replicas": result["replicas"], "chief": result["chief"], "curves": result["curves"]}))


def stage(params: str, variant: str) -> None:
    from ganlab.config import load_config
    from ganlab.training import train as train_stage

    cfg = load_config(params)
    summary = train_stage(cfg, variant, cfg.seeds[0])
    print(json.dumps(summary))


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "compare":
        compare(args[0], int(args[1]), int(args[2]), *args[3:4])
    elif mode in ("worker", "single"):
        save_weights(args[0], "multi_worker" if mode == "worker" else "none", int(args[1]), int(args[2]), args[3])
    elif mode == "stage":
        stage(args[0], args[1])
    else:
        raise SystemExit(f"unknown mode {mode}")
