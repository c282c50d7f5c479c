"""`python -m tools.bench.quality` (make bench-quality): speed as users feel it, time to quality.

Images per second say how fast a step runs, not how soon a GAN makes something worth looking
at. This measures minutes of training until a run's in-training FID (500 samples, judge
features, logged every epoch) first reaches a target:
- for every run of the default pipeline (training/<variant>/seed<seed>/history.csv), at its
  family's target: FID 40 for the minimax families (dcgan, smoothed, noised, acgan), half the
  noise image's FID for the Wasserstein ones (wgan, wgan_gp), the bar of issue 26;
- paired, in one run of this command: the project's default settings for the DCGAN against the
  study code's (the TensorFlow tutorial's batch 256, Keras' Adam beta_1 0.9), both trained here
  by the project's trainer as budget sweep points (tools/sweep), one after the other. Their
  ratio is what the settings buy; the loop's own speed against the tutorial's loop is
  `make bench`'s ratio, measured apart.
A run that never reaches its target within its epochs reports how long it trained, and a ratio
against it is a lower bound (written ">=").
Minutes are the history's `train_seconds` (the train steps; the per-epoch scoring, grid and
checkpoint are the same work for both sides and are left out).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

# The bar each family must reach (issue 26): FID 40 where the study's minimax GANs reach it in
# the default budget; for the WGANs, half the noise reference's FID (their study-faithful form
# learns slowly: FID under half the noise image's is when their grids start to show garments).
MINIMAX_TARGET = 40.0
WASSERSTEIN_FAMILIES = ("wgan", "wgan_gp")
# name: (the project's default settings, the study code's settings), as tools/sweep points.
PAIRS = {"dcgan": ("dcgan_default", "dcgan_study_code")}


def read_history(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def time_to_quality(rows: list[dict], target: float, key: str = "fid") -> tuple[float, bool]:
    """(seconds of training until `key` first is at or under `target`, True) or, when it never
    is, (the run's whole training seconds, False). Epochs without a score (fid_every > 1) are
    skipped; train_seconds is cumulative in the history."""
    for row in rows:
        value = row.get(key)
        if value in (None, "", "nan") or float(value) != float(value):
            continue
        if float(value) <= target:
            return float(row["train_seconds"]), True
    return (float(rows[-1]["train_seconds"]) if rows else 0.0), False


def family_target(family: str, noise_fid: float) -> float:
    return noise_fid / 2 if family in WASSERSTEIN_FAMILIES else MINIMAX_TARGET


def ratio(slow: tuple[float, bool], fast: tuple[float, bool]) -> tuple[float | None, str]:
    """How many times sooner `fast` reached the target than `slow`, and how to read it: exact
    when both reached it, a lower bound when only `fast` did, unknown when `fast` did not."""
    (slow_s, slow_reached), (fast_s, fast_reached) = slow, fast
    if not fast_reached or fast_s <= 0:
        return None, "the default did not reach the target"
    return slow_s / fast_s, ("" if slow_reached else ">=")


def format_minutes(result: tuple[float, bool]) -> str:
    seconds, reached = result
    return f"{seconds / 60:.1f}" if reached else f"not in {seconds / 60:.1f}"


def default_runs(cfg, noise_fid: float) -> list[dict]:
    """Every committed run of the default pipeline: its family's target and time to it."""
    runs = []
    for variant in cfg.variants:
        family = cfg.variant(variant).family
        target = family_target(family, noise_fid)
        for seed in cfg.seeds:
            path = cfg.trained_run(variant, seed).history_file
            if path.is_file():
                seconds, reached = time_to_quality(read_history(path), target)
                runs.append({"variant": variant, "seed": seed, "target_fid": round(target, 1),
                             "seconds": round(seconds, 1), "reached": reached})
    return runs


def paired(params_file: Path, target: float) -> dict:
    """Both sides of every pair trained here now (a point already run is reused: delete
    .ganlab/sweep/<point>/ to measure it again), and their times to the target."""
    from tools.sweep.__main__ import OUT, run_point

    pairs = {}
    for name, (project, study_code) in PAIRS.items():
        sides = {}
        for point in (study_code, project):
            print(f"bench-quality: {point} ...", flush=True)
            run_point(point, params_file)
            seconds, reached = time_to_quality(read_history(OUT / point / "history.csv"), target)
            sides[point] = {"seconds": round(seconds, 1), "reached": reached}
        times = {p: (s["seconds"], s["reached"]) for p, s in sides.items()}
        value, reading = ratio(times[study_code], times[project])
        pairs[name] = {"target_fid": target, "project": project, "study_code": study_code, **sides,
                       "ratio": None if value is None else round(value, 2), "ratio_is": reading or "exact"}
    return pairs


def table(report: dict) -> str:
    lines = ["| run of the default | target FID | minutes to it |", "|---|---|---|"]
    lines += [f"| {r['variant']} seed {r['seed']} | {r['target_fid']:.0f} | "
              f"{format_minutes((r['seconds'], r['reached']))} |" for r in report["default_runs"]]
    for name, pair in report["pairs"].items():
        project, study = pair[pair["project"]], pair[pair["study_code"]]
        shown = "-" if pair["ratio"] is None else f"{'>= ' * (pair['ratio_is'] == '>=')}{pair['ratio']:.1f}x"
        lines.append(f"\n{name}, FID {pair['target_fid']:.0f} ({report['machine']['cpu']}): default settings "
                     f"{format_minutes((project['seconds'], project['reached']))} min, study code's "
                     f"{format_minutes((study['seconds'], study['reached']))} min: {shown} sooner")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import time

    from ganlab.config import PARAMS_FILE, ConfigError, load_config

    parser = argparse.ArgumentParser(prog="python -m tools.bench.quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", default=PARAMS_FILE)
    parser.add_argument("--no-train", action="store_true", help="only the default run's times, no paired training")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.params)
        if not cfg.evaluation_file.is_file():
            raise ConfigError(f"{cfg.evaluation_file} is missing: the targets need the noise reference's FID; "
                              "run `make repro` first")
        if not args.no_train and not cfg.judge_model_file.is_file():
            raise ConfigError(f"{cfg.judge_model_file} is missing: `dvc repro judge` makes the data and the judge")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from ganlab.machine import cpu_facts
    from tools.bench.pipeline import write_report

    noise_fid = json.loads(cfg.evaluation_file.read_text())["references"]["noise"]["fid"]
    # The default runs' times are their own machine's (their summary.json says which); the
    # pairs' are this machine's.
    report = {"machine": cpu_facts(), "noise_fid": noise_fid, "default_runs": default_runs(cfg, noise_fid),
              "pairs": {} if args.no_train else paired(Path(args.params), MINIMAX_TARGET),
              "when": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    write_report(report, cfg.bench_file.with_name("bench_quality.json"), table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
