"""What a training run does after each epoch, as named steps: measure the epoch (its history
row, the health of its losses), score it (the cheap in-training scores and the best generator so
far), keep it (grid, history, checkpoint), and report it (MLflow, the console line, the health
check). EpochReporter is the Keras callback that calls them in that order; StepBar is the live
step bar of a terminal."""

from __future__ import annotations

import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import imageio.v3 as iio
import keras
import numpy as np
from tqdm import tqdm

from ganlab.checkpoints import Checkpoint, save_checkpoint
from ganlab.config import RunSettings
from ganlab.gans.base import GAN
from ganlab.grids import image_grid
from ganlab.model_files import save_model
from ganlab.tracking import RunLogger
from ganlab.trained_run import TrainedRun, run_name
from ganlab.training_scores import TrainingScores
from ganlab.watch import HealthWatch


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def best_fid(rows: list[dict]) -> tuple[float, int]:
    """(lowest fid so far, its epoch); (inf, 0) before any."""
    scored = [(r["fid"], r["epoch"]) for r in rows if not np.isnan(r.get("fid", np.nan))]
    return min(scored) if scored else (float("inf"), 0)


def sample_grid(gan: GAN, noise: np.ndarray, grid_size: int) -> np.ndarray:
    grid_noise, labels, columns = gan.grid_inputs(noise, grid_size)
    return image_grid(gan.generate(grid_noise, labels), columns=columns)


def write_history(path: Path, rows: list[dict]) -> None:
    # Every row's columns: a run resumed from an older checkpoint has rows without the new ones.
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="nan")
        writer.writeheader()
        writer.writerows(rows)


class StepBar(keras.callbacks.Callback):
    """A live step bar, for a terminal only (in logs, the per-epoch line is the progress).

    Separate from EpochReporter because a callback with a per-batch hook costs every step: Keras
    then turns each step's metrics into Python floats before the next step starts, where it
    otherwise keeps dispatching steps. `async_safe` lets Keras call this one from a worker thread."""

    async_safe = True

    def __init__(self, name: str, steps: int, epochs: int):
        super().__init__()
        self.name, self.steps, self.epochs = name, steps, epochs
        self.bar: tqdm | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.bar = tqdm(total=self.steps, desc=f"{self.name} epoch {epoch + 1}/{self.epochs}", unit="step",
                        leave=False, file=sys.stderr, dynamic_ncols=True)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(batch + 1 - self.bar.n)  # one call may cover several steps (steps_per_call)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.close()


def progress_callbacks(settings: RunSettings, steps: int) -> list[keras.callbacks.Callback]:
    return [StepBar(run_name(settings.variant, settings.seed), steps, settings.epochs)] if sys.stderr.isatty() else []


@dataclass
class EpochPlan:
    """What every epoch of one run is reported with: its settings and sizes, the fixed noise of
    its grid and of BatchNorm's calibration, its files and its checkpoint's fingerprint."""

    settings: RunSettings
    steps: int
    images_per_step: int
    grid_noise: np.ndarray
    calibration: tuple[np.ndarray, np.ndarray | None]
    files: TrainedRun
    fingerprint: str


def measure_epoch(gan: GAN, logs: dict, step: int) -> dict:
    """The epoch's history row as the train steps left it: the epoch and its curves."""
    return {"epoch": step, **{k: float(logs[k]) for k in gan.metric_names}}


def timing(plan: EpochPlan, step: int, seconds: float, rows: list[dict]) -> dict:
    """Speed and the compute axes (variants compared at equal images seen or seconds, not at
    equal epochs)."""
    images = plan.steps * plan.images_per_step
    return {"images_per_sec": images / seconds, "epoch_seconds": seconds, "images_seen": step * images,
            "train_seconds": seconds + (rows[-1].get("train_seconds", 0.0) if rows else 0.0)}


def score_epoch(plan: EpochPlan, gan: GAN, scores: TrainingScores | None, step: int, rows: list[dict]) -> dict:
    """The in-training scores when this epoch is scored (every fid_every and the last), and the
    generator saved as the best one when its FID is the lowest so far. The sampling generator
    (the weight average with `ema`) must hold inference-mode statistics already."""
    settings = plan.settings
    if scores is None or not (step % settings.fid_every == 0 or step == settings.epochs):
        return {}
    scored = scores(gan)
    if scored["fid"] < best_fid(rows)[0]:
        # Before the checkpoint: a checkpoint never names a best generator not on disk.
        save_model(gan.sampler, plan.files.checkpoint_best_generator_file)
    return scored


def keep_epoch(plan: EpochPlan, gan: GAN, rows: list[dict], grid: np.ndarray, run_id: str | None) -> None:
    """The epoch's grid, the history so far and the checkpoint that covers them."""
    step = rows[-1]["epoch"]
    iio.imwrite(plan.files.grid_file(step), grid)
    write_history(plan.files.history_file, rows)
    save_checkpoint(plan.files.checkpoint_dir, gan, Checkpoint(
        epoch=step, run_id=run_id, fingerprint=plan.fingerprint, history=rows, complete=step == plan.settings.epochs))


def epoch_line(plan: EpochPlan, gan: GAN, rows: list[dict]) -> str:
    """The console's line for the last epoch: its curves, speed and the ETA of the run."""
    row, settings = rows[-1], plan.settings
    eta = float(np.mean([r["epoch_seconds"] for r in rows])) * (settings.epochs - row["epoch"])
    curves = "  ".join(f"{k} {row[k]:.3f}" for k in (*gan.metric_names, "fid", "recognisable") if not np.isnan(row[k]))
    return (f"{plan.files.name} epoch {row['epoch']:>3}/{settings.epochs}  {curves}  "
            f"| {row['images_per_sec']:.0f} img/s  {row['epoch_seconds']:.1f}s  ETA {duration(eta)}")


class EpochReporter(keras.callbacks.Callback):
    """Per epoch: the health of the losses, the scores, the grid, the history row, the
    checkpoint, the MLflow log, the console line and the run's health, in that order: what is
    logged is always covered by a checkpoint, and non-finite losses are never kept."""

    def __init__(self, plan: EpochPlan, history: list[dict], logger: RunLogger, scores: TrainingScores | None,
                 watch: HealthWatch):
        super().__init__()
        self.plan, self.logger, self.scores, self.watch = plan, logger, scores, watch
        self.rows = list(history)

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.started
        step = epoch + 1  # MLflow steps and file names count epochs from 1
        row = measure_epoch(self.model, logs, step)
        self.watch.check_losses(step, row, last_checkpoint=self.rows[-1]["epoch"] if self.rows else 0)
        row |= timing(self.plan, step, seconds, self.rows)
        row |= dict.fromkeys(TrainingScores.keys(self.model.conditional), float("nan"))
        # First: FID, the best-generator copy and the grid all use the sampling generator (the
        # weight average with `ema`) with inference-mode statistics.
        self.model.load_average()
        self.model.calibrate_batchnorm(*self.plan.calibration)
        row |= score_epoch(self.plan, self.model, self.scores, step, self.rows)
        self.rows.append(row)

        grid = sample_grid(self.model, self.plan.grid_noise, self.plan.settings.grid_size)
        keep_epoch(self.plan, self.model, self.rows, grid, self.logger.run_id)
        self.logger.log_epoch(step, {k: v for k, v in row.items() if k != "epoch"}, grid)
        print(epoch_line(self.plan, self.model, self.rows), flush=True)
        if self.watch.check(self.rows):
            self.model.stop_training = True
