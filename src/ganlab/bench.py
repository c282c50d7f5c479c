"""`make bench`: how fast the project trains, against the plain TensorFlow tutorial loop.

For every variant of params.yaml:
- images/s of the project's own train step (Keras `fit`, as the train stage runs it) and of a
  reference written the way the TensorFlow DCGAN tutorial writes it (a `tf.function` step over a
  Python loop, tf.keras losses), same networks, batch and data, in this process, alternating,
  several repetitions: median and spread of each, and the median of the repetitions' paired
  ratios;
- the achieved GFLOP/s (FLOPs of each model counted layer by layer) against the machine's
  nominal peak and against the rate a large float32 matrix product reaches here (how each is
  estimated is written next to it);
- the per-epoch work outside train steps (FID, BatchNorm calibration and grid, checkpoint,
  MLflow logging) timed directly, and the rate the input pipeline delivers on its own;
- the execution settings (precision, XLA, strategy) the train stage would use here.
Then, from the last `dvc repro`'s stage timings (.ganlab/stage_times.jsonl) and summaries: the
share of its wall time outside train steps; and the time of a no-op `dvc repro`.
Writes reports/bench.json and prints a table.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ganlab import devices
from ganlab.checkpoints import Checkpoint, save_checkpoint
from ganlab.cli import STAGE_TIMES
from ganlab.config import Config, load_config
from ganlab.data import Dataset, load_prepared, to_unit_range
from ganlab.gans import GAN, DataSpec, build_gan
from ganlab.training import TrainingFid, calibration_batch, fixed_noise, make_dataset, sample_grid

REPETITIONS = 7
SECONDS_PER_REPETITION = 6.0  # long enough that the per-fit() set-up is amortised as in a run


# ---- the reference: the TensorFlow DCGAN tutorial's way of writing a train step -------------

def _fresh_optimizer(optimizer: keras.optimizers.Optimizer, variables) -> keras.optimizers.Optimizer:
    copy = optimizer.__class__.from_config(optimizer.get_config())
    copy.build(variables)
    return copy


def reference_step(gan: GAN, options, batch: int):
    """A tutorial-style step for the variant's family on the same networks (fresh optimisers of
    the same kind and settings). Returns a function of one dataset element."""
    G, D, noise_dim = gan.generator, gan.discriminator, gan.noise_dim
    g_opt = _fresh_optimizer(gan.g_optimizer, G.trainable_variables)
    d_opt = _fresh_optimizer(gan.d_optimizer, D.trainable_variables)
    bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    family = options.family

    if family in ("dcgan", "smoothed", "noised"):
        real_t, fake_t, gen_t = 1.0, 0.0, 1.0
        if family == "smoothed":
            real_t = options.alpha
            if options.two_sided:
                fake_t, gen_t = 1.0 - options.alpha, options.alpha
        max_std = options.max_std if family == "noised" else 0.0
        noise_fake = family == "noised" and options.apply_to == "both"

        @tf.function
        def step(images):
            noise = tf.random.normal([batch, noise_dim])
            with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
                generated = G(noise, training=True)
                if family == "noised":
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

    if family == "acgan":
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

    if family in ("wgan", "wgan_gp"):
        n_critic = options.n_critic
        clip = options.clip if family == "wgan" else None
        gp_weight = options.gp_weight if family == "wgan_gp" else 0.0

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

    raise ValueError(f"no reference loop for family {family!r}: add one to ganlab.bench")


# ---- FLOPs and the machine's peak ---------------------------------------------------------

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
    if options.family in ("wgan", "wgan_gp"):
        critic = g + 3 * 2 * d + (5 * d if options.family == "wgan_gp" else 0)  # G fwd, D on real+fake(, GP)
        return batch * (options.n_critic * critic + 3 * (g + d))
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


# ---- timing --------------------------------------------------------------------------------

def _time_project(gan: GAN, dataset, steps: int) -> float:
    started = time.perf_counter()
    gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    return time.perf_counter() - started


def _time_reference(step, iterator, steps: int) -> float:
    started = time.perf_counter()
    for _ in range(steps):
        step(next(iterator))
    return time.perf_counter() - started


def _spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def paired_ratios(project_s: list[float], reference_s: list[float]) -> list[float]:
    """reference time / project time of each repetition: the two ran back to back, so a change
    in the machine's speed between repetitions (a shared VM's phases) cancels out of each ratio,
    where a ratio of the two medians would keep it."""
    return [r / p for p, r in zip(project_s, reference_s)]


def bench_variant(cfg: Config, variant: str, data: Dataset, peak: dict, tmp: Path) -> dict:
    settings = cfg.run_settings(variant, cfg.seeds[0])
    options = cfg.variant(variant)
    spec = DataSpec(data.x_train.shape[1], data.x_train.shape[3], data.num_classes)
    keras.utils.set_random_seed(settings.seed)
    execution = devices.resolve(settings.precision, settings.xla, settings.distribute)  # as the stage does
    with execution.strategy.scope():
        gan = build_gan(options, spec, settings.noise_dim, settings.seed)
        devices.adapt(gan, execution)
    images_per_step = settings.batch_size * gan.batches_per_step
    dataset, _ = make_dataset(data, images_per_step, settings.seed, gan.conditional, 0, 1,
                              gan.batches_per_step, execution.replicas)
    dataset = dataset.repeat()
    reference = reference_step(gan, options, settings.batch_size)
    iterator = iter(dataset)

    # Trace both and find how many steps make a repetition of about SECONDS_PER_REPETITION.
    gan.fit(dataset, epochs=1, steps_per_epoch=2, verbose=0)
    _time_reference(reference, iterator, 2)
    probe = _time_reference(reference, iterator, 2) / 2
    steps = max(3, int(SECONDS_PER_REPETITION / max(probe, 1e-3)))

    project_s, reference_s = [], []
    for repetition in range(REPETITIONS):  # alternating, and each goes first every other time
        if repetition % 2:
            reference_s.append(_time_reference(reference, iterator, steps))
            project_s.append(_time_project(gan, dataset, steps))
        else:
            project_s.append(_time_project(gan, dataset, steps))
            reference_s.append(_time_reference(reference, iterator, steps))
    ratios = paired_ratios(project_s, reference_s)
    images = steps * images_per_step
    project_rate = [images / s for s in project_s]
    reference_rate = [images / s for s in reference_s]
    flops = step_flops(gan, options, settings.batch_size)
    gflops = flops * steps / statistics.median(project_s) / 1e9

    overheads = epoch_overheads(cfg, gan, data, settings, tmp)
    input_rate = input_images_per_second(dataset, steps, images_per_step)
    return {
        "family": options.family, "execution": execution.describe(),
        "batch_size": settings.batch_size, "images_per_step": images_per_step,
        "steps_per_repetition": steps, "repetitions": REPETITIONS,
        "project_img_s": _spread(project_rate), "reference_img_s": _spread(reference_rate),
        "ratio": statistics.median(ratios), "ratio_spread": _spread(ratios),
        "gflop_per_step": flops / 1e9, "achieved_gflops": gflops, "share_of_peak": gflops / peak["peak_gflops"],
        "share_of_measured_peak": gflops / peak["measured_gemm_gflops"],
        "per_epoch_overhead_s": overheads,
        "input_img_s": input_rate, "input_headroom": input_rate / statistics.median(project_rate),
    }


def input_images_per_second(dataset, steps: int, images_per_step: int) -> float:
    """What the input pipeline delivers with no step consuming it. The train step pulls from it
    through a prefetch buffer, so with this rate well above the step's the step never waits."""
    iterator = iter(dataset)
    next(iterator)  # the pipeline's own start-up, paid once a run
    started = time.perf_counter()
    for _ in range(steps):
        next(iterator)
    return steps * images_per_step / (time.perf_counter() - started)


def epoch_overheads(cfg: Config, gan: GAN, data: Dataset, settings, tmp: Path) -> dict:
    """What the train stage does after each epoch's steps, each part timed once (warm)."""
    import mlflow

    from ganlab.judge import Judge
    from ganlab.tracking import RunLogger

    timings = {}
    judge_file = cfg.judge_dir / "judge.keras"
    if settings.fid_every and judge_file.is_file():
        fid = TrainingFid(Judge.load(judge_file), data, settings)
        fid(gan)
        started = time.perf_counter()
        fid(gan)
        timings["fid"] = (time.perf_counter() - started) / settings.fid_every
    noise = fixed_noise(settings.seed, settings.grid_size**2, settings.noise_dim)
    calibration = calibration_batch(settings, data.num_classes, gan.conditional)
    gan.calibrate_batchnorm(*calibration)
    started = time.perf_counter()
    gan.calibrate_batchnorm(*calibration)
    grid = sample_grid(gan, noise, settings.grid_size)
    timings["calibration_and_grid"] = time.perf_counter() - started
    started = time.perf_counter()
    save_checkpoint(tmp / "checkpoint", gan, Checkpoint(epoch=1, run_id="x", fingerprint="x", history=[], complete=False))
    timings["checkpoint"] = time.perf_counter() - started
    mlflow.set_tracking_uri(f"sqlite:///{tmp / 'mlflow.db'}")
    experiment = mlflow.set_experiment("bench")
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        logger = RunLogger(run.info.run_id)
        metrics = {name: 0.5 for name in (*gan.metric_names, "images_per_sec", "epoch_seconds", "fid")}
        logger.log_epoch(1, metrics, grid)
        started = time.perf_counter()
        logger.log_epoch(2, metrics, grid)
        timings["mlflow"] = time.perf_counter() - started
    return {k: round(v, 4) for k, v in timings.items()}


# ---- the whole pipeline ---------------------------------------------------------------------

def last_repro_split(cfg: Config) -> dict | None:
    """From the last timings of every stage and the train summaries: how much of the stages'
    wall time went to train steps."""
    path = cfg.root / STAGE_TIMES
    if not path.is_file():
        return None
    last: dict[str, float] = {}
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        last[entry["stage"]] = entry["seconds"]
    stages = ["prepare", "judge", "evaluate", "report"] + [f"train@{v}-{s}" for v in cfg.variants for s in cfg.seeds]
    missing = [s for s in stages if s not in last]
    outside = {s: last[s] for s in stages if s in last}
    steps = 0.0
    for variant in cfg.variants:
        for seed in cfg.seeds:
            summary, stage = cfg.summary_file(variant, seed), f"train@{variant}-{seed}"
            # steps of a stage without a timing would count against the other stages' time
            if summary.is_file() and stage in last:
                train_seconds = json.loads(summary.read_text())["train_seconds"]
                steps += train_seconds
                outside[stage] = round(last[stage] - train_seconds, 1)
    total = sum(last.get(s, 0.0) for s in stages)
    return {"stage_seconds": {s: last[s] for s in stages if s in last}, "missing_stages": missing,
            "stages_total_s": round(total, 1), "train_steps_s": round(steps, 1),
            "outside_train_steps_share": round(1 - steps / total, 4) if total else None,
            "outside_train_steps_s": outside}


def noop_repro_seconds(root: Path, repetitions: int = 3) -> float | None:
    dvc = Path(sys.executable).parent / "dvc"
    if not dvc.exists() or not (root / "dvc.lock").is_file():
        return None
    times = []
    for _ in range(repetitions):
        started = time.perf_counter()
        result = subprocess.run([str(dvc), "repro"], cwd=root, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if result.returncode != 0 or "up to date" not in result.stdout.lower() + result.stderr.lower():
            return None  # something to rerun: not a no-op, do not run the pipeline from a benchmark
    return round(statistics.median(times), 2)


def run(cfg: Config, variants: list[str]) -> dict:
    data = load_prepared(cfg.prepared_dataset)
    peak = machine_peak()
    peak["measured_gemm_gflops"] = round(measured_gemm_gflops(), 1)
    peak["how_measured"] = (f"best of {GEMM_REPETITIONS} float32 {GEMM_SIZE}x{GEMM_SIZE} matrix products through "
                            "TensorFlow on this machine")
    tmp = Path(tempfile.mkdtemp(prefix="ganlab-bench-"))
    try:
        results = {}
        for variant in variants:
            print(f"bench: {variant} ...", flush=True)
            results[variant] = bench_variant(cfg, variant, data, peak, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "machine": peak, "tensorflow": tf.__version__, "keras": keras.__version__,
        "devices": [d.device_type for d in tf.config.list_physical_devices()],
        "variants": results, "repro": last_repro_split(cfg), "noop_repro_s": noop_repro_seconds(cfg.root),
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def table(report: dict) -> str:
    machine = report["machine"]
    lines = [f"machine: {machine['cpu']}, {machine['cores']} cores, nominal peak {machine['peak_gflops']} GFLOP/s, "
             f"measured (float32 GEMM) {machine['measured_gemm_gflops']} GFLOP/s",
             "| variant | project img/s | reference img/s | ratio (paired) | GFLOP/s | % of nominal peak "
             "| % of measured peak | per-epoch extra s | input img/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in report["variants"].items():
        p, q, pair = r["project_img_s"], r["reference_img_s"], r["ratio_spread"]
        lines.append(f"| {name} | {p['median']:.0f} ({p['min']:.0f}-{p['max']:.0f}) | {q['median']:.0f} "
                     f"({q['min']:.0f}-{q['max']:.0f}) | {r['ratio']:.2f} ({pair['min']:.2f}-{pair['max']:.2f}) | "
                     f"{r['achieved_gflops']:.0f} | {100 * r['share_of_peak']:.0f} | "
                     f"{100 * r['share_of_measured_peak']:.0f} | {sum(r['per_epoch_overhead_s'].values()):.2f} | "
                     f"{r['input_img_s']:.0f} |")
    repro = report.get("repro")
    if repro and repro["outside_train_steps_share"] is not None:
        lines.append(f"last dvc repro: {repro['stages_total_s']:.0f} s in stages, {repro['train_steps_s']:.0f} s in "
                     f"train steps: {100 * repro['outside_train_steps_share']:.1f} % outside train steps"
                     + (f" (no timing for {', '.join(repro['missing_stages'])})" if repro["missing_stages"] else ""))
        lines.append("  outside train steps, s: " + ", ".join(f"{stage} {seconds:.0f}" for stage, seconds
                                                            in repro["outside_train_steps_s"].items()))
    if report.get("noop_repro_s") is not None:
        lines.append(f"no-op dvc repro: {report['noop_repro_s']:.2f} s")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    cfg = load_config(os.environ.get("GANLAB_PARAMS", "params.yaml"))
    variants = argv or list(cfg.variants)
    for name in variants:
        cfg.variant(name)
    report = run(cfg, variants)
    out = cfg.root / "reports" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
