"""The results stage's bookkeeping: every run's scores and the references (written by the
score and references stages) gathered into the metrics files, with means and 95 % intervals over
seeds, and the results table. No TensorFlow here: gathering takes seconds."""

from __future__ import annotations

import json
from pathlib import Path

from ganlab.atomic import write_json
from ganlab.metric_table import HEADLINE, format_cell
from ganlab.config import Config
from ganlab import health
from ganlab.data import DataError
from ganlab.provenance import PER_RUN, differences
from ganlab.stats import mean_interval


def gather(cfg: Config) -> dict:
    """Every run's scores and the references, read from the score stages' files, with the
    means (and intervals) over seeds."""
    references = json.loads(cfg.references_file.read_text())
    runs: dict[str, dict[str, dict]] = {}
    cards: dict[str, dict] = {}
    for variant in cfg.variants:
        runs[variant] = {}
        for seed in cfg.seeds:
            path = cfg.trained_run(variant, seed).score_file
            if not path.is_file():
                raise DataError(f"{path} does not exist; run `dvc repro` (the score@{variant}-{seed} stage)")
            result = json.loads(path.read_text())
            if result["samples"] != references["samples"] or result["judge_sha256"] != references["judge"]["sha256"]:
                raise DataError(f"{path} was scored on {result['samples']} samples by judge "
                                f"{result['judge_sha256'][:12]}, the references on {references['samples']} by "
                                f"{references['judge']['sha256'][:12]}: run `dvc repro` to score both again")
            cards[cfg.trained_run(variant, seed).name] = result.get("provenance", {})
            runs[variant][str(seed)] = {k: v for k, v in result.items()
                                        if k not in ("judge_sha256", "seconds", "provenance")}
            runs[variant][str(seed)] |= run_health(cfg, variant, seed)
    seconds = references["seconds"] + sum(
        json.loads(cfg.trained_run(v, s).score_file.read_text())["seconds"] for v in cfg.variants for s in cfg.seeds)
    return {
        "samples": references["samples"],
        "seeds": list(cfg.seeds),
        "computed": computed_as(cfg),
        "judge": references["judge"],
        "variants": {variant: variant_means(by_seed) for variant, by_seed in runs.items()},
        "references": references["references"],
        "provenance": provenance_summary(cards),
        "runs": runs,
        "cards": cards,
        "seconds": round(seconds, 1),
    }


def run_health(cfg: Config, variant: str, seed: int) -> dict:
    """A run's health (ganlab.health) from its history: its status, and where it went wrong."""
    found = health.history_findings(cfg.trained_run(variant, seed).history_file)
    if not found:
        return {"health": health.HEALTHY}
    return {"health": found[0].status, "health_reason": f"epoch {found[0].epoch}: {found[0].reason}"}


def variant_means(by_seed: dict[str, dict]) -> dict:
    """A variant's means over its kept runs (ganlab.health.kept), with the runs left out and why."""
    kept = health.kept({seed: run["health"] != health.HEALTHY for seed, run in by_seed.items()})
    means = aggregate([by_seed[seed] for seed in kept])
    flagged = {seed: f"{run['health']} ({run['health_reason']})" for seed, run in by_seed.items()
               if run["health"] != health.HEALTHY}
    if flagged:
        means["flagged"] = flagged
    if left_out := sorted(set(by_seed) - set(kept), key=int):
        means["left_out"] = left_out
    return means


def provenance_summary(cards: dict[str, dict]) -> dict:
    """What every run's score shares (its provenance card's common entries) and where they differ."""
    differ = differences(cards)
    first = next(iter(cards.values()), {})
    return {"shared": {k: v for k, v in first.items() if k not in differ and k not in PER_RUN}, "differs": differ}


def computed_as(cfg: Config) -> list[str]:
    """How the runs computed, each way once with its variants ("float32 (acgan, wgan) on AMD
    EPYC"), from their summary.json: the precision changes the numbers, and so may the CPU."""
    ways: dict[tuple[str, str], list[str]] = {}
    for variant in cfg.variants:
        for seed in cfg.seeds:
            path = cfg.trained_run(variant, seed).summary_file
            summary = json.loads(path.read_text()) if path.is_file() else {}
            way = (summary.get("precision", "unknown precision"), summary.get("cpu", "an unknown CPU"))
            if variant not in ways.setdefault(way, []):
                ways[way].append(variant)
    if len({precision for precision, _ in ways}) == 1:  # one precision: the variants need no naming
        return sorted(f"{precision} on {cpu}" for precision, cpu in ways)
    return sorted(f"{precision} ({', '.join(names)}) on {cpu}" for (precision, cpu), names in ways.items())


def aggregate(results: list[dict]) -> dict:
    """Per-seed results of one variant -> the mean of every number (recursively), and for the
    headline metrics the half-width of the 95 % interval over seeds (`<metric>_ci95`, only with
    several seeds)."""
    out: dict = {}
    for key, value in results[0].items():
        if isinstance(value, dict):
            out[key] = aggregate([r[key] for r in results])
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            mean, half = mean_interval([r[key] for r in results])
            out[key] = mean
            if half is not None and key in HEADLINE:
                out[f"{key}_ci95"] = half
    if any("mlflow_run_id" in r for r in results):
        out["seeds"] = len(results)
    return out


def write_evaluation(results: dict, path: Path, by_seed_path: Path) -> None:
    """The metrics file (means over seeds, what `dvc metrics show` lists) and the per-run file."""
    write_json(path, {k: v for k, v in results.items() if k not in ("runs", "cards")})
    write_json(by_seed_path, {"samples": results["samples"], "runs": results["runs"], "provenance": results["cards"]})


def results_table(results: dict) -> str:
    """The results as a Markdown table, variants by FID, with the references (for the README)."""
    columns = HEADLINE
    rows = sorted(results["variants"].items(), key=lambda item: item[1]["fid"])
    rows += [(f"*{name}* (reference)", ref) for name, ref in results["references"].items()]
    lines = ["| variant | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, values in rows:
        cells = [format_cell(values, c) for c in columns]
        marked = f"{name} ({len(values['left_out'])} run(s) left out)" if values.get("left_out") else name
        lines.append(f"| {marked} | " + " | ".join(cells) + " |")
    lines.append("")
    seeds = results.get("seeds", [0])
    spread = f" (mean ± 95 % interval over {len(seeds)} seeds)" if len(seeds) > 1 else f" (training seed {seeds[0]})"
    lines.append(f"{results['samples']} samples per row{spread}; judge test accuracy "
                 f"{results['judge']['test_accuracy']:.3f}. Lower FID/KID is better; real_test is the floor, "
                 "noise the ceiling." + (f" Trained in {'; '.join(results['computed'])}." if results.get("computed") else "")
                 # the precision is named per variant in "Trained in" already
                 + provenance_note({k: v for k, v in results.get("provenance", {}).get("differs", {}).items()
                                    if k != "precision"})
                 + health_note(results["variants"]))
    return "\n".join(lines)


def health_note(variants: dict[str, dict]) -> str:
    """A sentence naming the flagged runs (ganlab.health) and whether the means left them out."""
    parts = []
    for variant, values in variants.items():
        for seed, why in values.get("flagged", {}).items():
            kept = "left out of the means" if seed in values.get("left_out", []) else "kept: every run is flagged"
            parts.append(f"{variant}-seed{seed} {why}, {kept}")
    return (" Unhealthy runs (ganlab.health): " + "; ".join(parts) + ".") if parts else ""


def provenance_note(differ: dict[str, list]) -> str:
    """A sentence naming what the compared scores were computed with differently ("" when nothing)."""
    if not differ:
        return ""
    return " Scores computed with different " + "; ".join(f"{k} ({', '.join(v)})" for k, v in differ.items()) + "."
