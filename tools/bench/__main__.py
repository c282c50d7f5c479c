"""`python -m tools.bench [VARIANT ...]` (make bench): every variant timed, the machine's peak,
the last `dvc repro`'s split; reports/bench.json and a table."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import keras
import tensorflow as tf

from ganlab.config import Config, ConfigError, load_config
from tools.bench.flops import GEMM_REPETITIONS, GEMM_SIZE, machine_peak, measured_gemm_gflops
from tools.bench.pipeline import last_repro_split, noop_repro_seconds, write_report
from tools.bench.timing import bench_variant


def run(cfg: Config, variants: list[str]) -> dict:
    peak = machine_peak()
    peak["measured_gemm_gflops"] = round(measured_gemm_gflops(), 1)
    peak["how_measured"] = (f"best of {GEMM_REPETITIONS} float32 {GEMM_SIZE}x{GEMM_SIZE} matrix products through "
                            "TensorFlow on this machine")
    tmp = Path(tempfile.mkdtemp(prefix="ganlab-bench-"))
    try:
        results = {}
        for variant in variants:
            print(f"bench: {variant} ...", flush=True)
            results[variant] = bench_variant(cfg, variant, peak, tmp)
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
             "| variant | project img/s | last stage's img/s (bench/stage) | reference img/s | ratio (paired) "
             "| GFLOP/s | % of measured peak | per-epoch extra s | input img/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in report["variants"].items():
        p = r["project_img_s"]
        stage = (f"{r['stage_img_s']:.0f} ({r['bench_vs_stage']:.2f})" if r.get("stage_img_s") else "-")
        if "ratio" in r:
            q, pair = r["reference_img_s"], r["ratio_spread"]
            reference = (f"{q['median']:.0f} ({q['min']:.0f}-{q['max']:.0f}) | {r['ratio']:.2f} "
                         f"({pair['min']:.2f}-{pair['max']:.2f})")
        else:
            reference = "no reference loop | -"
        lines.append(f"| {name} | {p['median']:.0f} ({p['min']:.0f}-{p['max']:.0f}) | {stage} | {reference} | "
                     f"{r['achieved_gflops']:.0f} | {100 * r['share_of_measured_peak']:.0f} | "
                     f"{sum(r['per_epoch_overhead_s'].values()):.2f} | {r['input_img_s']:.0f} |")
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
    try:
        cfg = load_config(os.environ.get("GANLAB_PARAMS", "params.yaml"))
        variants = argv or list(cfg.variants)
        for name in variants:
            cfg.variant(name)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not cfg.prepared_dataset.is_file():
        print(f"error: {cfg.prepared_dataset} does not exist; the bench trains on the prepared data: run "
              "`make repro` (or `dvc repro judge`) first", file=sys.stderr)
        return 2
    report = run(cfg, variants)
    write_report(report, cfg.bench_file, table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
