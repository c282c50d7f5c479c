"""The whole pipeline's timings: the last `dvc repro`'s split into train steps and everything
else (from .ganlab/stage_times.jsonl and the train summaries), and a no-op `dvc repro`."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ganlab.cli import STAGE_TIMES
from ganlab.config import Config


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
    runs = [f"{v}-{s}" for v in cfg.variants for s in cfg.seeds]
    stages = (["check", "prepare", "judge", "references", "results", "report"] + [f"train@{r}" for r in runs]
              + [f"score@{r}" for r in runs])
    missing = [s for s in stages if s not in last]
    outside = {s: last[s] for s in stages if s in last}
    steps = 0.0
    for variant in cfg.variants:
        for seed in cfg.seeds:
            summary, stage = cfg.trained_run(variant, seed).summary_file, f"train@{variant}-{seed}"
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


def only_check_runs(output: str) -> bool:
    """A `dvc repro` output in which only the always-run check stage ran (a no-op)."""
    return [line for line in output.splitlines() if line.startswith("Running stage")] == ["Running stage 'check':"]


def noop_repro_seconds(root: Path, repetitions: int = 3) -> float | None:
    """The median time of a `dvc repro` with nothing to do; None (and nothing run) when the
    workspace is not reproduced (a dry run would run more than the check stage)."""
    dvc = Path(sys.executable).parent / "dvc"
    if not dvc.exists() or not (root / "dvc.lock").is_file():
        return None
    # The stages call `python`: the venv's, also when the bench was started without `make`.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    dry = subprocess.run([str(dvc), "repro", "--dry"], cwd=root, env=env, capture_output=True, text=True)
    if dry.returncode != 0 or not only_check_runs(dry.stdout):
        print("bench: the workspace is not reproduced (run `make repro`): no-op `dvc repro` not timed", flush=True)
        return None
    times = []
    for _ in range(repetitions):
        started = time.perf_counter()
        result = subprocess.run([str(dvc), "repro"], cwd=root, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if result.returncode != 0 or not only_check_runs(result.stdout):
            return None
    return round(statistics.median(times), 2)


def write_report(report: dict, out: Path, table: str) -> None:
    """A bench's JSON file, and its table on the terminal with where the file went."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(table)
    print(f"wrote {out}")
