"""How a training run uses the machine: numeric precision, XLA, and a tf.distribute strategy.

Three params.yaml settings (train.precision, train.xla, train.distribute) whose `auto` picks
what wins where the run is:
- CPU: no XLA, one device (XLA made the study's DCGAN step ~3x slower on the project's 2-core
  CPU). float32, but mixed bfloat16 for the families BFLOAT16_ON_CPU names for the CPU's kind of
  native bfloat16 (AMX or AVX512-BF16, ganlab.machine): 1.4-1.8x on their steps, and their
  results stay inside the seed spread there (make bench-precision). CPUs have no fast float16.
- GPU: mixed precision, bfloat16 where the card computes it natively (compute capability >= 8,
  Ampere on; no loss scaling needed) else float16 with dynamic loss scaling on each of the two
  optimisers; XLA on (Keras' own rule for `jit_compile="auto"`).
- Several GPUs: MirroredStrategy. `multi_worker` (MultiWorkerMirroredStrategy) is never chosen
  by `auto`: it needs TF_CONFIG naming the workers, set by whoever starts them.

Under a strategy the global batch (train.batch_size) is split over the replicas, each replica's
loss is divided by their number (their gradients are summed), BatchNorm is synchronised across
replicas, and every random draw of a train step is taken for the global batch and sliced, so a
distributed run sees the noise a one-device run sees (see GAN.replica_rows).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import keras
import tensorflow as tf

from ganlab.config import ConfigError
from ganlab.machine import cpu_facts


# Per kind of native bfloat16 (ganlab.machine.cpu_facts), the families whose mixed-bfloat16
# training `make bench-precision` checked against float32 on such a CPU (3 seeds at the default's
# epochs, docs/budget.md) and found inside the seed spread in FID and recognisable; smoothed and
# noised are the DCGAN's networks and step. On AVX512-BF16 without AMX (an AMD Zen 5, 2026-12-03)
# AC-GAN's FID moved by more than its spread (+5.5 against sd 4.3) and the clipped WGAN was not
# checked; on AMX (an Intel Xeon, 2026-12-06) both stayed inside (AC-GAN +0.7 against 6.7, WGAN
# +2.1 against 4.0). Every other family, and every family on another CPU, trains in float32.
DCGAN_FAMILY = frozenset({"dcgan", "smoothed", "noised"})
BFLOAT16_ON_CPU = {
    "amx": DCGAN_FAMILY | {"wgan_gp", "acgan", "wgan"},
    "avx512_bf16": DCGAN_FAMILY | {"wgan_gp"},
}


@dataclass(frozen=True)
class Execution:
    """What `auto` resolved to for one run, and the strategy to build and train under."""

    precision: str  # a Keras dtype policy name
    jit_compile: bool | str  # True, False or Keras' own "auto"
    strategy: tf.distribute.Strategy
    distribute: str  # none | mirrored | multi_worker

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    @property
    def loss_scaling(self) -> bool:
        """float16 gradients underflow without it; bfloat16 has float32's exponent range."""
        return self.precision == "mixed_float16"

    @property
    def is_chief(self) -> bool:
        """The one process that writes files and logs to MLflow (always true off multi-worker)."""
        if self.distribute != "multi_worker":
            return True
        resolver = self.strategy.cluster_resolver  # TensorFlow's rule: the chief, else worker 0
        return resolver.task_type in (None, "chief") or (resolver.task_type == "worker" and resolver.task_id == 0)

    def facts(self) -> dict[str, str]:
        """What every run records of how it computed (summary.json, MLflow tags): the precision
        changes the numbers, the device and the CPU say where they were made."""
        device = ", ".join(sorted({d.name for d in gpus()})) or "CPU"
        return {"precision": self.precision, "device": device, **cpu_facts()}

    def describe(self) -> str:
        xla = {True: "on", False: "off"}.get(self.jit_compile, "auto")
        return f"{self.precision}, XLA {xla}, {self.distribute} ({self.replicas} replica{'s' * (self.replicas > 1)})"


def gpus() -> list:
    return tf.config.list_physical_devices("GPU")


def natively_bfloat16(devices: list) -> bool:
    """Every GPU has compute capability >= 8.0 (Ampere and later compute bfloat16 natively)."""
    capabilities = [tf.config.experimental.get_device_details(d).get("compute_capability") for d in devices]
    return bool(capabilities) and all(c is not None and tuple(c) >= (8, 0) for c in capabilities)


def resolve_precision(setting: str, devices: list, family: str | None = None,
                      cpu_bfloat16: str | None = None) -> str:
    """The dtype policy `setting` means for a family here; cpu_bfloat16 as ganlab.machine
    reports it (read from this CPU when not given)."""
    if setting != "auto":
        return setting
    if not devices:
        checked = BFLOAT16_ON_CPU.get(cpu_bfloat16 or cpu_facts()["cpu_bfloat16"], frozenset())
        return "mixed_bfloat16" if family in checked else "float32"
    return "mixed_bfloat16" if natively_bfloat16(devices) else "mixed_float16"


def resolve_xla(setting: str, devices: list) -> bool | str:
    if setting == "on":
        return True
    if setting == "off" or not devices:
        return False
    return "auto"  # Keras: XLA on a GPU, off under a tf.distribute strategy


def resolve_distribute(setting: str, devices: list) -> str:
    if setting != "auto":
        return setting
    return "mirrored" if len(devices) > 1 else "none"


def make_strategy(kind: str) -> tf.distribute.Strategy:
    if kind == "none":
        return tf.distribute.get_strategy()  # the default: one device, no wrapping at all
    if kind == "mirrored":
        # Every visible GPU; on a CPU-only machine, every logical CPU device (how it is tested).
        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
        devices = devices or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if kind == "multi_worker":
        try:
            cluster = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster")
        except json.JSONDecodeError as exc:
            raise ConfigError(f"train.distribute is multi_worker but TF_CONFIG is not JSON: {exc}") from None
        if not cluster:
            raise ConfigError("train.distribute is multi_worker but TF_CONFIG names no cluster: set TF_CONFIG "
                              "on every worker (https://www.tensorflow.org/guide/distributed_training), "
                              "or use distribute: mirrored / none on one machine")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(f"train.distribute: unknown strategy {kind!r}")


def resolve(precision: str, xla: str, distribute: str, family: str | None = None) -> Execution:
    """The run's execution settings for a family; call before any model is built (the dtype
    policy is global)."""
    devices = gpus()
    kind = resolve_distribute(distribute, devices)
    execution = Execution(
        precision=resolve_precision(precision, devices, family),
        jit_compile=resolve_xla(xla, devices),
        strategy=make_strategy(kind),
        distribute=kind,
    )
    keras.mixed_precision.set_global_policy(execution.precision)
    return execution


def synchronize_batchnorm(model: keras.Model) -> None:
    """Batch statistics over the global batch, not each replica's share: the same normalisation
    a one-device run computes (read by BatchNormalization at call time, so set before tracing)."""
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True


def adapt(gan, execution: Execution) -> None:
    """Fit a freshly built GAN to the execution settings (inside the strategy's scope)."""
    if execution.loss_scaling:
        gan.use_loss_scaling()
    if execution.replicas > 1:
        synchronize_batchnorm(gan.generator)
        synchronize_batchnorm(gan.discriminator)
    # Every variable exists before the first step. Optimizer slots created lazily by the first
    # step make tf.function trace the step twice (2-6 s of every train stage here), and under
    # a strategy, created inside a replica, they break the step. Keras would build the model by
    # calling it on a data batch, but a GAN's call takes noise and its networks are built
    # already; its default optimizer (unused: each network has its own) is built empty rather
    # than with copies of every weight.
    gan.built = True
    gan.optimizer.build([])
    gan.d_optimizer.build(gan.discriminator.trainable_variables)
    gan.g_optimizer.build(gan.generator.trainable_variables)
    if execution.jit_compile != "auto":
        gan.jit_compile = execution.jit_compile
