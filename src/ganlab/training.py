"""One training run: prepared data -> the variant's GAN -> fit(), with per-epoch curves,
fixed-noise sample grids, a history file for DVC plots, and the trained generator."""

from __future__ import annotations

import csv
import json
import shutil
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from ganlab.config import Config, ConfigError, RunSettings
from ganlab.data import Dataset, load_prepared, to_unit_range
from ganlab.gans import GAN, DataSpec, build_gan
from ganlab.grids import image_grid
from ganlab.tracking import RunLogger, training_run


def seed_everything(seed: int, deterministic: bool) -> None:
    keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def make_dataset(data: Dataset, batch_size: int, seed: int, conditional: bool) -> tf.data.Dataset:
    """Shuffled full batches of images in [-1, 1] (with labels for conditional families).

    Full batches only: a short last batch would change BatchNorm statistics and the step's shape.
    """
    images = to_unit_range(data.x_train)
    tensors = (images, data.y_train) if conditional else images
    return (
        tf.data.Dataset.from_tensor_slices(tensors)
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )


def fixed_noise(seed: int, count: int, noise_dim: int) -> np.ndarray:
    """The same z every epoch (and every rerun), so grids show progress, not new draws."""
    return np.random.default_rng([seed, 1]).standard_normal((count, noise_dim)).astype(np.float32)


def sample_grid(gan: GAN, noise: np.ndarray, grid_size: int) -> np.ndarray:
    return image_grid(gan.generate(noise), columns=grid_size)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class EpochReporter(keras.callbacks.Callback):
    """Per epoch: console progress, the fixed-noise grid, the history row, the MLflow log."""

    def __init__(self, settings: RunSettings, steps: int, noise: np.ndarray, history_file: Path,
                 samples_dir: Path, logger: RunLogger):
        super().__init__()
        self.settings, self.steps, self.noise, self.logger = settings, steps, noise, logger
        self.history_file = history_file
        self.samples_dir = samples_dir
        self.rows: list[dict[str, float]] = []
        self.bar: tqdm | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()
        # A live step bar on a terminal; in logs (CI, dvc queue) the per-epoch line is the progress.
        self.bar = tqdm(total=self.steps, desc=f"{self.settings.variant} epoch {epoch + 1}/{self.settings.epochs}",
                        unit="step", leave=False, file=sys.stderr, disable=not sys.stderr.isatty(),
                        dynamic_ncols=True)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.close()
        seconds = time.perf_counter() - self.started
        step = epoch + 1  # MLflow steps and file names count epochs from 1
        row = {"epoch": step, **{k: float(logs[k]) for k in self.model.metric_names}}
        row["images_per_sec"] = self.steps * self.settings.batch_size / seconds
        row["epoch_seconds"] = seconds
        self.rows.append(row)

        grid = sample_grid(self.model, self.noise, self.settings.grid_size)
        iio.imwrite(self.samples_dir / f"epoch_{step:03d}.png", grid)
        self._write_history()
        self.logger.log_epoch(step, {k: v for k, v in row.items() if k != "epoch"}, grid)

        mean_seconds = float(np.mean([r["epoch_seconds"] for r in self.rows]))
        eta = mean_seconds * (self.settings.epochs - step)
        curves = "  ".join(f"{k} {row[k]:.3f}" for k in self.model.metric_names)
        print(f"{self.settings.variant} epoch {step:>3}/{self.settings.epochs}  {curves}  "
              f"| {row['images_per_sec']:.0f} img/s  {seconds:.1f}s  ETA {_duration(eta)}", flush=True)

    def _write_history(self) -> None:
        with open(self.history_file, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(self.rows[0]))
            writer.writeheader()
            writer.writerows(self.rows)


def _fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def train(cfg: Config, variant: str) -> dict:
    """Train one variant as params.yaml says; returns (and writes) its summary."""
    settings = cfg.run_settings(variant)
    data = load_prepared(cfg.prepared_dataset)
    facts = json.loads(cfg.prepared_facts.read_text()) if cfg.prepared_facts.is_file() else {}
    steps = len(data.y_train) // settings.batch_size
    if steps == 0:
        raise ConfigError(
            f"batch_size {settings.batch_size} is larger than the training set ({len(data.y_train)} images): "
            f"lower train.batch_size (or variants.{variant}.batch_size), or keep more data (data.per_class)"
        )

    seed_everything(settings.seed, settings.deterministic)
    spec = DataSpec(image_size=data.x_train.shape[1], channels=data.x_train.shape[3], num_classes=data.num_classes)
    gan = build_gan(cfg.variant(variant), spec, settings.noise_dim, settings.seed)
    dataset = make_dataset(data, settings.batch_size, settings.seed, gan.conditional)
    noise = fixed_noise(settings.seed, settings.grid_size**2, settings.noise_dim)

    _fresh_dir(cfg.training_dir(variant))
    cfg.samples_dir(variant).mkdir()
    model_dir = _fresh_dir(cfg.model_dir(variant))

    print(f"{variant}: {settings.family}, {len(data.y_train)} images of {data.num_classes} classes, "
          f"{settings.epochs} epochs of {steps} steps (batch {settings.batch_size})", flush=True)
    with training_run(cfg, variant, facts) as logger:
        reporter = EpochReporter(settings, steps, noise, cfg.history_file(variant), cfg.samples_dir(variant), logger)
        # shuffle=False: the tf.data pipeline shuffles, seeded; fit's own flag does not apply to it.
        gan.fit(dataset, epochs=settings.epochs, verbose=0, shuffle=False, callbacks=[reporter])

        card = {
            "variant": variant, "family": settings.family, "noise_dim": settings.noise_dim,
            "image_size": spec.image_size, "channels": spec.channels, "num_classes": spec.num_classes,
            "class_names": data.class_names, "conditional": gan.conditional, "epochs": settings.epochs,
            "mlflow_run_id": logger.run_id,
        }
        gan.generator.save(model_dir / "generator.keras")
        (model_dir / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
        logger.log_generator(gan.generator, card, noise[:4], gan.generate(noise[:4]))
        logger.log_files([cfg.history_file(variant)])

    last = reporter.rows[-1]
    summary = {
        "variant": variant,
        "mlflow_run_id": logger.run_id,
        "epochs": settings.epochs,
        **{k: last[k] for k in gan.metric_names},
        "images_per_sec": float(np.median([r["images_per_sec"] for r in reporter.rows])),
        "train_seconds": float(sum(r["epoch_seconds"] for r in reporter.rows)),
    }
    cfg.summary_file(variant).write_text(json.dumps(summary, indent=2) + "\n")
    return summary
