"""One training run: prepared data -> the variant's GAN -> fit(), with per-epoch curves,
fixed-noise sample grids, a history file for DVC plots, and the trained generator."""

from __future__ import annotations

import json
import shutil
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ganlab import devices
from ganlab.atomic import write_json
from ganlab.checkpoints import Checkpoint, fingerprint, read_checkpoint, restore_checkpoint
from ganlab.config import Config, ConfigError, RunSettings
from ganlab.data import Dataset, load_prepared, to_unit_range
from ganlab.epoch_report import EpochPlan, EpochReporter, best_fid, progress_callbacks
from ganlab.fused_norm import with_keras_layers
from ganlab.gans.base import GAN
from ganlab.gans.build import build_gan
from ganlab.family_settings import DataSpec
from ganlab.judge import Judge
from ganlab.model_files import save_model
from ganlab.plan import step_problem
from ganlab.streams import stream
from ganlab.tracking import NullLogger, RunLogger, training_run
from ganlab.trained_run import classes_in_turn
from ganlab.training_scores import TrainingScores
from ganlab.watch import HealthWatch


def seed_everything(seed: int, deterministic: bool) -> None:
    keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow
    if deterministic:
        tf.config.experimental.enable_op_determinism()
        # Grappler's remapper (op fusion) gives up on every GAN train step's graph here ("E0000
        # ... remapper failed: INVALID_ARGUMENT: Mutation::Apply error", a D layer's gradient
        # needs the output it would fuse away); without it each graph runs as traced, which costs
        # nothing measurable on CPU (DCGAN and AC-GAN steps within 2 %, 2026-12-03) and leaves
        # no fusion to vary between processes (one CI run in three had an AC-GAN loss 1 ulp apart).
        tf.config.optimizer.set_experimental_options({"remapping": False})


def epoch_order(num_images: int, seed: int, epoch: int) -> np.ndarray:
    """The order an epoch visits the training images: a function of (seed, epoch) only, so a
    resumed run sees exactly the batches an uninterrupted one would."""
    return stream("epoch_order", seed, epoch).permutation(num_images)


def make_dataset(data: Dataset, images_per_step: int, seed: int, conditional: bool,
                 first_epoch: int, epochs: int, batches_per_step: int = 1,
                 replicas: int = 1) -> tuple[tf.data.Dataset, int]:
    """Batches of images in [-1, 1] (with labels for conditional families) for epochs
    first_epoch..epochs-1, and the steps per epoch.

    Full batches only: a short last batch would change BatchNorm statistics and the step's shape.
    A step of several batches (a WGAN critic's n_critic) under several replicas is laid out so
    that tf.distribute's even split gives replica r the r-th share of every one of those
    batches: each critic step then sees the images a one-device run gives it.
    """
    steps = len(data.y_train) // images_per_step
    order = np.concatenate([epoch_order(len(data.y_train), seed, e)[: steps * images_per_step]
                            for e in range(first_epoch, epochs)])
    if batches_per_step > 1 and replicas > 1:
        share = images_per_step // batches_per_step // replicas
        order = order.reshape(-1, batches_per_step, replicas, share).transpose(0, 2, 1, 3).reshape(-1)
    images, labels = tf.constant(to_unit_range(data.x_train)), tf.constant(data.y_train)

    def gather(indices):
        batch = tf.gather(images, indices)
        return (batch, tf.gather(labels, indices)) if conditional else batch

    # A gather is cheap (the input runs >100x faster than a step): one map thread and a
    # two-batch buffer keep the step fed. tf.data's autotuning stays off: on 2 cores it made
    # whole epochs ~1.5x slower in about half of the iterators it tuned (the bench's bimodal
    # timings; README, "Performance"), whatever the step.
    options = tf.data.Options()
    options.autotune.enabled = False
    dataset = (
        tf.data.Dataset.from_tensor_slices(order)
        .batch(images_per_step, drop_remainder=True)
        .map(gather)
        .prefetch(2)
        .with_options(options)
    )
    return dataset, steps


def fixed_noise(seed: int, count: int, noise_dim: int) -> np.ndarray:
    """The same z every epoch (and every rerun), so grids show progress, not new draws."""
    return stream("grid_noise", seed).standard_normal((count, noise_dim)).astype(np.float32)


def calibration_batch(settings: RunSettings, num_classes: int, conditional: bool,
                      count: int = 256) -> tuple[np.ndarray, np.ndarray | None]:
    """The fixed noise (and labels, cycling over the classes) that BatchNorm is calibrated on.

    256 draws are four training batches: statistics as steady as those the generator trains
    with, at a quarter of the cost of 1024 (a generator pass is compute-bound, ~2 ms an image
    here, and this runs every epoch)."""
    noise = stream("calibration_noise", settings.seed).standard_normal((count, settings.noise_dim))
    return noise.astype(np.float32), (classes_in_turn(count, num_classes) if conditional else None)


def _fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def example_io(gan: GAN, noise: np.ndarray, grid_size: int) -> tuple:
    """A few (input, output) pairs of the generator, for the logged model's signature."""
    grid_noise, labels, _ = gan.grid_inputs(noise, grid_size)
    grid_noise, labels = grid_noise[:4], None if labels is None else labels[:4]
    images = gan.generate(grid_noise, labels)
    if labels is None:
        return grid_noise, images
    noise_input, label_input = gan.generator_inputs(grid_noise, labels)
    return {"noise": noise_input, "label": label_input}, images


def resumable(checkpoint: Checkpoint | None, run_fingerprint: str, epochs: int) -> bool:
    """A checkpoint is resumed from when it belongs to these settings and data and has fewer
    epochs than asked for: a killed run continues, and a finished one trains on when the epochs
    were raised. A finished one at the epochs asked for means a deliberate rerun (`dvc repro
    -f`), which starts afresh, as do fewer epochs than the checkpoint has."""
    return checkpoint is not None and checkpoint.fingerprint == run_fingerprint and 0 < checkpoint.epoch < epochs


@dataclass
class Setup:
    """A training run made ready: its settings, data, execution and built GAN (also what the
    bench times)."""

    settings: RunSettings
    data: Dataset
    facts: dict
    spec: DataSpec
    execution: devices.Execution
    gan: GAN
    images_per_step: int
    steps: int  # per epoch


def set_up(cfg: Config, variant: str, seed: int) -> Setup:
    """Seeds, the execution settings, and the variant's GAN built for them (nothing written)."""
    settings = cfg.run_settings(variant, seed)
    options = cfg.variant(variant)
    data = load_prepared(cfg.prepared_dataset)
    facts = json.loads(cfg.prepared_facts.read_text()) if cfg.prepared_facts.is_file() else {}
    spec = DataSpec(image_size=data.x_train.shape[1], channels=data.x_train.shape[3], num_classes=data.num_classes)
    images_per_step = settings.batch_size * options.batches_per_step
    steps = len(data.y_train) // images_per_step
    if (problem := step_problem(cfg, variant, len(data.y_train))) is not None:
        raise ConfigError(problem)  # the check stage refuses this first; a direct call gets the same words

    seed_everything(settings.seed, settings.deterministic)
    execution = devices.resolve(settings.precision, settings.xla, settings.distribute, options.family)
    if settings.batch_size % execution.replicas:
        raise ConfigError(f"train.batch_size {settings.batch_size} (of variant {variant}) is split over "
                          f"{execution.replicas} replicas ({execution.distribute}): make it a multiple of "
                          f"{execution.replicas}, or set train.distribute: none")
    with execution.strategy.scope():
        gan = build_gan(options, spec, settings.noise_dim, settings.seed, total_steps=steps * settings.epochs)
        devices.adapt(gan, execution)
    gan.steps_per_execution = steps_per_call(steps)
    return Setup(settings, data, facts, spec, execution, gan, images_per_step, steps)


def steps_per_call(steps: int, most: int = 8) -> int:
    """Train steps per call of the traced train function (Keras' steps_per_execution): the
    largest divisor of an epoch's steps up to `most`, so that calls never straddle an epoch (its
    metrics, grid and checkpoint stay the epoch's). Fewer round trips to Python: 3-5 % faster
    here (tools/bench), and the same weights bit for bit."""
    return max(d for d in range(1, most + 1) if steps % d == 0)


def run_fingerprint(cfg: Config, run: Setup) -> str:
    """What a checkpoint must match to be resumed: every setting of the run and the data, but
    stop_unhealthy and the number of epochs, unless the training depends on it (a schedule over
    the total, like noised's `decay`): raising the epochs then trains on from the last checkpoint, and the
    result is the run trained that long from the start (an epoch's batches and draws depend on
    the seed and the epoch only)."""
    settings, options = run.settings.model_dump(), cfg.variant(run.settings.variant).model_dump()
    settings.pop("stop_unhealthy")  # what to do with an unhealthy run, not how to train it
    if not cfg.variant(run.settings.variant).uses_total_steps:
        settings.pop("epochs"), options.pop("epochs", None)
    return fingerprint({"run": settings, "options": options}, run.facts.get("dataset_sha256") or run.data.source_sha256)


def output_config(cfg: Config, execution: devices.Execution) -> Config:
    """Where this process writes: the project, or for a non-chief worker of a multi-worker run a
    scratch folder (every worker trains; only the chief writes outputs and logs to MLflow)."""
    return cfg if execution.is_chief else cfg.relocated(Path(tempfile.mkdtemp(prefix="ganlab-worker-")))


def resume_point(cfg: Config, out: Config, run: Setup, run_fingerprint: str) -> Checkpoint | None:
    """The unfinished checkpoint of these settings, restored into the GAN; or None, after
    clearing what an earlier run of this variant left (its grids, its best generator)."""
    files, written = cfg.trained_run(run.settings.variant, run.settings.seed), out.trained_run(
        run.settings.variant, run.settings.seed)
    checkpoint = read_checkpoint(files.checkpoint_dir)
    if resumable(checkpoint, run_fingerprint, run.settings.epochs):
        with run.execution.strategy.scope():
            restore_checkpoint(files.checkpoint_dir, run.gan)
        how = "training on" if checkpoint.complete else "resuming"
        print(f"{files.name}: {how} after epoch {checkpoint.epoch} from {files.checkpoint_dir}", flush=True)
        return checkpoint
    if checkpoint is not None and checkpoint.epoch < run.settings.epochs and cfg.variant(
            run.settings.variant).uses_total_steps:
        print(f"{files.name}: training afresh, not on from epoch {checkpoint.epoch}: this "
              "variant's schedule spans the total epochs (or another setting changed)", flush=True)
    _fresh_dir(written.samples_dir)
    written.checkpoint_best_generator_file.unlink(missing_ok=True)
    return None


def training_scores(cfg: Config, run: Setup) -> TrainingScores | None:
    if not run.settings.fid_every:
        return None
    if not cfg.judge_model_file.is_file():
        raise ConfigError(f"train.fid_every is {run.settings.fid_every} but there is no judge at "
                          f"{cfg.judge_model_file}: run `dvc repro judge` first, or set train.fid_every: 0")
    return TrainingScores(Judge.load(cfg.judge_model_file), run.data, run.settings)


def save_generators(out: Config, run: Setup, rows: list[dict], logger: RunLogger, noise: np.ndarray) -> None:
    """The last generator (the weight average with `ema`, and then the raw one too), the best
    one (lowest training FID) and the model card; logged too."""
    variant, seed, settings = run.settings.variant, run.settings.seed, run.settings
    files = out.trained_run(variant, seed)
    card = {
        "variant": variant, "seed": seed, "family": settings.family, "noise_dim": settings.noise_dim,
        "image_size": run.spec.image_size, "channels": run.spec.channels, "num_classes": run.spec.num_classes,
        "class_names": run.data.class_names, "conditional": run.gan.conditional, "epochs": settings.epochs,
        "mlflow_run_id": logger.run_id,
    }
    fid_value, fid_epoch = best_fid(rows)
    if fid_epoch:
        shutil.copy2(files.checkpoint_best_generator_file, files.best_generator_file)
        card |= {"best_fid": fid_value, "best_fid_epoch": fid_epoch}
        logger.log_files([files.best_generator_file], "best_generator")
    save_model(run.gan.sampler, files.generator_file)
    if run.gan.averaged_generator is not None:  # `ema`: the average above, the raw weights here
        save_model(run.gan.generator, files.raw_generator_file)
    write_json(files.model_card_file, card)
    # Logged in Keras' own layers: the MLflow model loads without this project.
    logger.log_generator(with_keras_layers(run.gan.sampler), card, *example_io(run.gan, noise, settings.grid_size))
    logger.log_files([files.history_file])


def summarise(rows: list[dict], run: Setup, run_id: str | None) -> dict:
    """The last epoch's numbers, the best FID and the speed: the run's DVC metrics file."""
    settings = run.settings
    last = rows[-1]
    scores = ({k: last[k] for k in TrainingScores.keys(run.gan.conditional)}
              | {"best_fid": best_fid(rows)[0], "best_fid_epoch": best_fid(rows)[1]} if settings.fid_every else {})
    return {
        "variant": settings.variant, "seed": settings.seed, "mlflow_run_id": run_id, "epochs": settings.epochs,
        **{k: last[k] for k in run.gan.metric_names}, **scores,
        **run.execution.facts(),
        "images_per_sec": float(np.median([r["images_per_sec"] for r in rows])),
        "train_seconds": float(sum(r["epoch_seconds"] for r in rows)),
    }


def train(cfg: Config, variant: str, seed: int) -> dict:
    """Train one variant at one training seed as params.yaml says (resuming its unfinished
    checkpoint if it has one); returns (and writes) its summary."""
    run = set_up(cfg, variant, seed)
    settings, fingerprint_ = run.settings, run_fingerprint(cfg, run)
    out = output_config(cfg, run.execution)
    checkpoint = resume_point(cfg, out, run, fingerprint_)
    first_epoch, history = (checkpoint.epoch, checkpoint.history) if checkpoint else (0, [])
    files = out.trained_run(variant, seed)
    for folder in (files.checkpoint_dir, files.training_dir, files.samples_dir):
        folder.mkdir(parents=True, exist_ok=True)
    _fresh_dir(files.model_dir)
    scores = training_scores(cfg, run)
    dataset, _ = make_dataset(run.data, run.images_per_step, seed, run.gan.conditional, first_epoch, settings.epochs,
                              run.gan.batches_per_step, run.execution.replicas)
    noise = fixed_noise(seed, settings.grid_size**2, settings.noise_dim)
    print(f"{files.name}: {settings.family}, {len(run.data.y_train)} images of "
          f"{run.data.num_classes} classes, {settings.epochs} epochs of {run.steps} steps ({run.images_per_step} "
          f"images a step); {run.execution.describe()}", flush=True)

    # A killed run resumes into its MLflow run; a finished one trained on for more epochs gets a
    # new run (its params say the new epochs), which logs the epochs before it again.
    extending = checkpoint is not None and checkpoint.complete
    logged = (training_run(cfg, variant, seed, run.facts,
                           run_id=checkpoint.run_id if checkpoint and not extending else None,
                           extends=checkpoint.run_id if extending else None, execution=run.execution.facts())
              if run.execution.is_chief else nullcontext(NullLogger()))
    with logged as logger:
        if checkpoint:
            logger.catch_up(history, files)
        options = cfg.variant(variant)
        watch = HealthWatch(files.name, (options.d_lr, options.g_lr), settings.stop_unhealthy,
                            tag=logger.set_tag)
        plan = EpochPlan(settings, run.steps, run.images_per_step, noise,
                         calibration_batch(settings, run.data.num_classes, run.gan.conditional), files, fingerprint_)
        reporter = EpochReporter(plan, history, logger, scores, watch)
        run.gan.fit(dataset, epochs=settings.epochs, initial_epoch=first_epoch, steps_per_epoch=run.steps,
                    verbose=0, shuffle=False,  # the order is epoch_order()
                    callbacks=[*progress_callbacks(settings, run.steps), reporter])
        save_generators(out, run, reporter.rows, logger, noise)

    summary = summarise(reporter.rows, run, logger.run_id) | watch.summary()
    write_json(files.summary_file, summary)
    if out is not cfg:
        shutil.rmtree(out.root, ignore_errors=True)
    return summary
