"""One timed process of `make bench`: `python -m tools.bench.worker MODE PARAMS VARIANT`, one
JSON line on stdout.

  project    the train stage itself (ganlab.training.train) on the bench's params, a project
             of its own (PARAMS' folder); the seconds of each epoch's steps as the stage
             measures them (its history.csv)
  reference  the tutorial's loop on the same networks and data, epoch by epoch
  extras     the per-epoch work outside the steps, the input pipeline's rate, FLOPs

Each side runs in a process of its own, so nothing of the other (an iterator prefetching in
the background, a thread pool, a traced function) is alive while it is timed.
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
import time
from pathlib import Path

from ganlab.config import load_config
from ganlab.training import make_dataset, set_up


def project(params: Path, variant: str) -> dict:
    from ganlab.training import train

    cfg = load_config(params)
    summary = train(cfg, variant, cfg.seeds[0])
    with open(cfg.trained_run(variant, cfg.seeds[0]).history_file, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {"epoch_seconds": [float(r["epoch_seconds"]) for r in rows], "epochs": summary["epochs"]}


def reference(params: Path, variant: str) -> dict:
    from tools.bench.reference import reference_step

    cfg = load_config(params)
    run = set_up(cfg, variant, cfg.seeds[0])
    reference = reference_step(run.gan, cfg.variant(variant), run.settings.batch_size)
    if reference is None:
        return {"epoch_seconds": []}
    seconds = []
    for epoch in range(run.settings.epochs):  # the tutorial: for epoch ...: for batch in dataset: step(batch)
        dataset, _ = make_dataset(run.data, run.images_per_step, run.settings.seed, run.gan.conditional, epoch,
                                  epoch + 1, run.gan.batches_per_step, run.execution.replicas)
        started = time.perf_counter()
        for batch in dataset:
            reference.step(batch)
        seconds.append(time.perf_counter() - started)
    return {"epoch_seconds": seconds, "epochs": run.settings.epochs}


def extras(params: Path, variant: str) -> dict:
    from tools.bench.flops import step_flops
    from tools.bench.timing import epoch_overheads, input_images_per_second

    cfg = load_config(params)
    run = set_up(cfg, variant, cfg.seeds[0])
    dataset, _ = make_dataset(run.data, run.images_per_step, run.settings.seed, run.gan.conditional, 0,
                              run.settings.epochs, run.gan.batches_per_step, run.execution.replicas)
    with tempfile.TemporaryDirectory(prefix="ganlab-bench-") as tmp:
        overheads = epoch_overheads(cfg, run.gan, run.data, run.settings, Path(tmp))
    return {
        "family": run.settings.family, "execution": run.execution.describe(), "batch_size": run.settings.batch_size,
        "images_per_step": run.images_per_step, "steps_per_epoch": run.steps,
        "gflop_per_step": step_flops(run.gan, cfg.variant(variant), run.settings.batch_size) / 1e9,
        "per_epoch_overhead_s": overheads,
        "input_img_s": input_images_per_second(dataset.repeat(), run.steps, run.images_per_step),
    }


MODES = {"project": project, "reference": reference, "extras": extras}

if __name__ == "__main__":
    mode, params, variant = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    result = MODES[mode](params, variant)
    print(json.dumps(result), flush=True)
