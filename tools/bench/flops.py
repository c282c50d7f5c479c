"""FLOPs of a train step (layer by layer) and the machine's peak: nominal and measured."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ganlab.gans.base import GAN


def forward_flops(model: keras.Model) -> int:
    """FLOPs of one forward pass of one image (2 per multiply-add), dense and conv layers only
    (BatchNorm, activations, dropout add under 1 %)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += forward_flops(layer)
            continue
        if not hasattr(layer, "kernel") or not getattr(layer, "built", False):
            continue
        kernel = int(np.prod(layer.kernel.shape))  # kh*kw*cin*cout (conv) or in*out (dense)
        if isinstance(layer, keras.layers.Conv2DTranspose):
            _, h, w, _ = layer.input.shape  # each input position scatters the whole kernel
            total += 2 * kernel * h * w
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, _ = layer.output.shape
            total += 2 * kernel * h * w
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * kernel
    return total


def step_flops(gan: GAN, options, batch: int) -> float:
    """FLOPs of one train step: a training pass (forward + the two backward products) costs
    about 3x a forward pass; G's backward in a G update runs through D, counted in D's 3x."""
    g, d = forward_flops(gan.generator), forward_flops(gan.discriminator)
    if options.batches_per_step > 1:  # a critic family: n_critic critic steps, then a G step
        penalty = 5 * d if getattr(options, "gp_weight", 0.0) else 0  # the GP's double backward
        critic = g + 3 * 2 * d + penalty  # G forward, D on real and fake
        return batch * (options.batches_per_step * critic + 3 * (g + d))
    return batch * 3 * (g + 2 * d)


GEMM_SIZE, GEMM_REPETITIONS = 2048, 5  # the measured peak's product and how many times it is timed


def measured_gemm_gflops(size: int = GEMM_SIZE, repetitions: int = GEMM_REPETITIONS) -> float:
    """The best rate of a size x size float32 matrix product through TensorFlow (oneDNN/Eigen):
    what this machine's cores reach on the friendliest dense kernel, the practical ceiling a
    convolution can approach. Best of several, so a slow phase of a shared machine does not
    lower the ceiling."""
    a, b = tf.random.normal([size, size], seed=1), tf.random.normal([size, size], seed=2)
    product = tf.function(tf.linalg.matmul)
    product(a, b).numpy()
    best = float("inf")
    for _ in range(repetitions):
        started = time.perf_counter()
        product(a, b).numpy()
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def machine_peak() -> dict:
    """Nominal single-precision peak: cores x clock x FLOPs per cycle per core, the last from the
    vector units the CPU reports (AVX-512: 2 FMA x 16 lanes x 2 = 64; AVX2+FMA: 2 x 8 x 2 = 32)."""
    cores = len(os.sched_getaffinity(0))
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    mhz = [float(line.split(":", 1)[1]) for line in info.splitlines() if line.startswith("cpu MHz")]
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                 platform.processor())
    per_cycle = 64 if "avx512f" in flags else 32 if {"avx2", "fma"} <= set(flags) else 8
    ghz = (max(mhz) if mhz else 2000.0) / 1000
    return {"cpu": model, "cores": cores, "ghz": round(ghz, 2), "flops_per_cycle": per_cycle,
            "peak_gflops": round(cores * ghz * per_cycle, 1),
            "how": "cores x reported clock (cpu MHz) x FLOPs/cycle/core from the vector units (AVX-512 64, "
                   "AVX2+FMA 32); turbo and thermal limits are ignored, so it is nominal"}
