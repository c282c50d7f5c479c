"""One variant timed: the project's train step as the train stage runs it against the
reference loop, its FLOP rate, the per-epoch work outside the steps, the input pipeline's rate."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from ganlab.checkpoints import Checkpoint, save_checkpoint
from ganlab.config import Config
from ganlab.data import Dataset
from ganlab.gans.base import GAN
from ganlab.training import (TrainingFid, calibration_batch, fixed_noise, make_dataset, sample_grid, set_up)
from tools.bench.flops import step_flops
from tools.bench.reference import reference_step

REPETITIONS = 7
SECONDS_PER_REPETITION = 6.0  # long enough that the per-fit() set-up is amortised as in a run


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


def bench_variant(cfg: Config, variant: str, peak: dict, tmp: Path) -> dict:
    run = set_up(cfg, variant, cfg.seeds[0])  # as the train stage sets up
    settings, options, gan, data = run.settings, cfg.variant(variant), run.gan, run.data
    dataset, _ = make_dataset(data, run.images_per_step, settings.seed, gan.conditional, 0, 1,
                              gan.batches_per_step, run.execution.replicas)
    dataset = dataset.repeat()
    reference = reference_step(gan, options, settings.batch_size)
    project_s, reference_s, steps = time_alternating(gan, dataset, reference)
    images = steps * run.images_per_step
    project_rate = [images / s for s in project_s]
    flops = step_flops(gan, options, settings.batch_size)
    gflops = flops * steps / statistics.median(project_s) / 1e9
    input_rate = input_images_per_second(dataset, steps, run.images_per_step)
    result = {
        "family": options.family, "execution": run.execution.describe(),
        "batch_size": settings.batch_size, "images_per_step": run.images_per_step,
        "steps_per_repetition": steps, "repetitions": REPETITIONS, "project_img_s": _spread(project_rate),
        "gflop_per_step": flops / 1e9, "achieved_gflops": gflops, "share_of_peak": gflops / peak["peak_gflops"],
        "share_of_measured_peak": gflops / peak["measured_gemm_gflops"],
        "per_epoch_overhead_s": epoch_overheads(cfg, gan, data, settings, tmp),
        "input_img_s": input_rate, "input_headroom": input_rate / statistics.median(project_rate),
    }
    if reference_s:
        ratios = paired_ratios(project_s, reference_s)
        result |= {"reference_img_s": _spread([images / s for s in reference_s]),
                   "ratio": statistics.median(ratios), "ratio_spread": _spread(ratios)}
    return result


def time_alternating(gan: GAN, dataset, reference) -> tuple[list[float], list[float], int]:
    """Seconds of REPETITIONS repetitions of the project's step and of the reference (none
    without one), alternating, each going first every other time; and the steps in each."""
    iterator = iter(dataset)
    gan.fit(dataset, epochs=1, steps_per_epoch=2, verbose=0)  # trace
    if reference is not None:
        _time_reference(reference, iterator, 2)  # trace
        probe = _time_reference(reference, iterator, 2) / 2
    else:
        probe = _time_project(gan, dataset, 2) / 2
    steps = max(3, int(SECONDS_PER_REPETITION / max(probe, 1e-3)))
    project_s, reference_s = [], []
    for repetition in range(REPETITIONS):
        if reference is not None and repetition % 2:
            reference_s.append(_time_reference(reference, iterator, steps))
        project_s.append(_time_project(gan, dataset, steps))
        if reference is not None and not repetition % 2:
            reference_s.append(_time_reference(reference, iterator, steps))
    return project_s, reference_s, steps


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
        fid = TrainingFid(Judge.load(cfg.judge_model_file), data, settings)
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
