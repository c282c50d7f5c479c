"""`python -m tools.bench.precision` (make bench-precision): does bfloat16 change the results?

bfloat16 is adopted for `precision: auto` on a CPU only if it leaves the results where float32
puts them (issue 26). This trains each family's default variant (dcgan, acgan, wgan, wgan_gp) as
the default trains it but in the other precision than the default run's own (which `auto` chose,
ganlab.devices), at the default's training seeds, as budget sweep points (`<variant>_bf16@<seed>`
or `<variant>_fp32@<seed>`, tools/sweep), and reads them against the default run's histories
(training/<variant>/seed<seed>/history.csv) at equal epochs. Seed by seed the
two share their data order, initial weights and draws, so each seed gives a paired difference.

Per family and score (the in-training FID and recognisable, the mean of the last 3 epochs, as
single epochs swing): the mean paired difference bf16 - fp32 and the float32 seeds' standard
deviation. bfloat16 is **inside the seed spread** when |mean difference| <= that deviation for
both scores: it moves a result less than changing the seed does. The speed is the ratio of the
two sides' median epoch seconds (the default's runs are their own machine's: compare on one).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from tools.bench.quality import read_history

FAMILIES = ("dcgan", "acgan", "wgan", "wgan_gp")
SCORES = ("fid", "recognisable")
WINDOW = 3  # last epochs averaged


def final_score(rows: list[dict], key: str) -> float:
    values = [float(r[key]) for r in rows[-WINDOW:] if r.get(key) not in (None, "", "nan")]
    if not values:
        raise ValueError(f"no {key} in the last {WINDOW} epochs")
    return statistics.fmean(values)


def compare(fp32: dict[int, list[dict]], bf16: dict[int, list[dict]]) -> dict:
    """One family: float32 and bfloat16 histories by seed (the seeds both have) -> per score
    the paired differences, their mean, the float32 spread and whether it is inside it."""
    seeds = sorted(set(fp32) & set(bf16))
    if len(seeds) < 2:
        raise ValueError(f"needs 2 seeds or more on both sides, has {seeds}")
    result = {"seeds": seeds, "scores": {}}
    for key in SCORES:
        a = [final_score(fp32[s], key) for s in seeds]
        b = [final_score(bf16[s], key) for s in seeds]
        differences = [y - x for x, y in zip(a, b)]
        mean, spread = statistics.fmean(differences), statistics.stdev(a)
        result["scores"][key] = {"float32": a, "bfloat16": b, "mean_difference": mean, "float32_sd": spread,
                                 "inside_seed_spread": abs(mean) <= spread}
    epoch = {side: statistics.median(float(r["epoch_seconds"]) for s in seeds for r in runs[s])
             for side, runs in (("float32", fp32), ("bfloat16", bf16))}
    result["speedup"] = epoch["float32"] / epoch["bfloat16"]
    result["inside_seed_spread"] = all(v["inside_seed_spread"] for v in result["scores"].values())
    return result


def table(report: dict) -> str:
    lines = ["| family | score | float32 (per seed) | bfloat16 (per seed) | mean difference | float32 sd | inside |",
             "|---|---|---|---|---|---|---|"]
    for family, r in report["families"].items():
        for key, v in r["scores"].items():
            per_seed = [", ".join(f"{x:.3g}" for x in v[side]) for side in ("float32", "bfloat16")]
            lines.append(f"| {family} | {key} | {per_seed[0]} | {per_seed[1]} | {v['mean_difference']:+.3g} | "
                         f"{v['float32_sd']:.3g} | {'yes' if v['inside_seed_spread'] else 'no'} |")
    lines.append("")
    lines += [f"{family}: bfloat16 epochs {r['speedup']:.2f}x float32's" for family, r in report["families"].items()]
    checked = ", ".join(report["families"])
    missing = [f for f in FAMILIES if f not in report["families"]]
    lines.append(f"bfloat16 inside the seed spread for every family checked ({checked}): "
                 f"{'yes' if report['adopt'] else 'no'}" + (f"; not checked: {', '.join(missing)}" if missing else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import time

    from ganlab.config import PARAMS_FILE, ConfigError, load_config

    parser = argparse.ArgumentParser(prog="python -m tools.bench.precision", description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", default=PARAMS_FILE)
    parser.add_argument("families", nargs="*", default=list(FAMILIES), metavar="FAMILY")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.params)
        unknown = [f for f in args.families if f not in FAMILIES]
        if unknown:
            raise ConfigError(f"no bfloat16 check for {', '.join(unknown)}: name any of {', '.join(FAMILIES)} "
                              "(smoothed and noised are the DCGAN's networks: dcgan checks them)")
        missing = [str(cfg.trained_run(f, s).history_file) for f in args.families for s in cfg.seeds
                   if not cfg.trained_run(f, s).history_file.is_file()]
        if missing:
            raise ConfigError(f"the default's runs are missing ({missing[0]}, ...): run `make repro` first")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from ganlab.machine import cpu_facts
    from tools.bench.pipeline import write_report
    from tools.sweep.__main__ import run_point

    families = {}
    for family in args.families:
        sides = {"float32": {}, "mixed_bfloat16": {}}
        for seed in cfg.seeds:
            # the default's own run is one side (`auto` chose its precision); a sweep point the other
            ran_in = json.loads(cfg.trained_run(family, seed).summary_file.read_text()).get("precision", "float32")
            sides[ran_in][seed] = read_history(cfg.trained_run(family, seed).history_file)
            point = f"{family}_{'fp32' if ran_in == 'mixed_bfloat16' else 'bf16'}@{seed}"
            print(f"bench-precision: {point} ...", flush=True)
            other = "float32" if ran_in == "mixed_bfloat16" else "mixed_bfloat16"
            sides[other][seed] = read_history(run_point(point, Path(args.params)) / "history.csv")
        families[family] = compare(sides["float32"], sides["mixed_bfloat16"])
    report = {"machine": cpu_facts(), "families": families,
              "adopt": all(r["inside_seed_spread"] for r in families.values()),
              "not_checked": [f for f in FAMILIES if f not in families],
              "when": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    write_report(report, cfg.bench_file.with_name("bench_precision.json"), table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
