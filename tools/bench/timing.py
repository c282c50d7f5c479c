"""One variant timed: the train stage itself against the tutorial's loop, each in processes of
their own (see worker.py), alternating; the per-epoch work outside the steps, the input
pipeline's rate and the FLOP rate.

The project side IS the train stage (`ganlab.training.train` on a small project of the bench's
own: a subset of the prepared data, the judge, BENCH_EPOCHS epochs), and its numbers are the
seconds of each epoch's steps that the stage itself records. So the bench's img/s is the stage's
by construction; `stage_img_s` (from the last `dvc repro`'s history) is shown beside it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ruamel.yaml import YAML

from ganlab.checkpoints import Checkpoint, save_checkpoint
from ganlab.config import Config, load_config
from ganlab.data import Dataset, load_prepared, save_prepared
from ganlab.gans.base import GAN
from ganlab.epoch_report import sample_grid
from ganlab.training import calibration_batch, fixed_noise
from ganlab.training_scores import TrainingScores

ROUNDS = 2  # each: the project then the reference, or the other way round (alternating)
BENCH_EPOCHS = 3  # per process; the first (tracing the step, warming the caches) is not timed
BENCH_IMAGES = 1920  # training images of a bench epoch: 30 DCGAN steps, 6 WGAN steps at batch 64
REPO = Path(__file__).resolve().parents[2]


def _spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def paired_ratios(project_s: list[float], reference_s: list[float]) -> list[float]:
    """reference time / project time of each pair of epochs: the two ran back to back, so a
    change in the machine's speed between pairs cancels out of each ratio, where a ratio of the
    two medians would keep it."""
    return [r / p for p, r in zip(project_s, reference_s)]


def bench_project(cfg: Config, variant: str, folder: Path) -> Path:
    """A small project of the bench's own in folder: this variant only, BENCH_EPOCHS epochs, a
    subset of the prepared data, the same judge; returns its params file."""
    raw = cfg.model_dump(mode="json")
    raw["seeds"] = [cfg.seeds[0]]
    raw["train"]["epochs"] = BENCH_EPOCHS
    raw["variants"] = {variant: {k: v for k, v in raw["variants"][variant].items() if k != "epochs"}}
    raw["mlflow"]["tracking_uri"] = None  # the folder's own store
    folder.mkdir(parents=True, exist_ok=True)
    params = folder / "params.yaml"
    with open(params, "w") as fh:
        YAML(typ="safe", pure=True).dump(raw, fh)
    bench = load_config(params)
    data = load_prepared(cfg.prepared_dataset)
    keep = slice(0, min(BENCH_IMAGES, len(data.y_train)))
    save_prepared(Dataset(data.x_train[keep], data.y_train[keep], data.x_test, data.y_test, data.class_names,
                          data.source, data.source_sha256), bench.prepared_dataset, bench.prepared_facts)
    if cfg.judge_dir.is_dir():
        shutil.copytree(cfg.judge_dir, bench.judge_dir, dirs_exist_ok=True)
    return params


def run_worker(mode: str, params: Path, variant: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "DVC_ROOT")}
    result = subprocess.run([sys.executable, "-m", "tools.bench.worker", mode, str(params), variant], cwd=REPO,
                            env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"bench worker {mode} {variant} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def stage_images_per_second(cfg: Config, variant: str) -> float | None:
    """The last train stage's median img/s over its epochs after the first (its history.csv)."""
    path = cfg.trained_run(variant, cfg.seeds[0]).history_file
    if not path.is_file():
        return None
    with open(path, newline="") as fh:
        rates = [float(row["images_per_sec"]) for row in csv.DictReader(fh)][1:]
    return statistics.median(rates) if rates else None


def bench_variant(cfg: Config, variant: str, peak: dict, tmp: Path) -> dict:
    params = bench_project(cfg, variant, tmp / variant)
    extra = run_worker("extras", params, variant)
    project_s, reference_s = [], []
    for round_ in range(ROUNDS):
        order = ("project", "reference") if round_ % 2 == 0 else ("reference", "project")
        for mode in order:
            seconds = run_worker(mode, params, variant)["epoch_seconds"][1:]  # the first epoch traces
            (project_s if mode == "project" else reference_s).extend(seconds)
    images = extra["steps_per_epoch"] * extra["images_per_step"]
    project_rate = [images / s for s in project_s]
    gflops = extra["gflop_per_step"] * extra["steps_per_epoch"] / statistics.median(project_s)
    stage = stage_images_per_second(cfg, variant)
    result = {
        **{k: extra[k] for k in ("family", "execution", "batch_size", "images_per_step", "gflop_per_step",
                                 "per_epoch_overhead_s", "input_img_s")},
        "images_per_epoch": images, "epochs_timed": len(project_s),
        "project_epoch_s": project_s, "project_img_s": _spread(project_rate),
        "stage_img_s": stage, "bench_vs_stage": statistics.median(project_rate) / stage if stage else None,
        "achieved_gflops": gflops, "share_of_peak": gflops / peak["peak_gflops"],
        "share_of_measured_peak": gflops / peak["measured_gemm_gflops"],
        "input_headroom": extra["input_img_s"] / statistics.median(project_rate),
    }
    if reference_s:
        ratios = paired_ratios(project_s, reference_s)
        result |= {"reference_epoch_s": reference_s, "reference_img_s": _spread([images / s for s in reference_s]),
                   "ratios": ratios, "ratio": statistics.median(ratios), "ratio_spread": _spread(ratios)}
    return result


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
    if settings.fid_every and cfg.judge_model_file.is_file():
        scores = TrainingScores(Judge.load(cfg.judge_model_file), data, settings)
        scores(gan)
        started = time.perf_counter()
        scores(gan)
        timings["scores"] = (time.perf_counter() - started) / settings.fid_every
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
        columns = (*gan.metric_names, "images_per_sec", "epoch_seconds", *TrainingScores.keys(gan.conditional))
        metrics = dict.fromkeys(columns, 0.5)
        logger.log_epoch(1, metrics, grid)
        started = time.perf_counter()
        logger.log_epoch(2, metrics, grid)
        timings["mlflow"] = time.perf_counter() - started
    return {k: round(v, 4) for k, v in timings.items()}
