"""The evaluate stage's bookkeeping: every run's scores and the references (written by the
score and references stages) gathered into the metrics files, with means and 95 % intervals over
seeds, and the results table. No TensorFlow here: gathering takes seconds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ganlab.atomic import write_json
from ganlab.config import Config
from ganlab.data import DataError
from ganlab.stats import mean_interval



@dataclass(frozen=True)
class Metric:
    key: str  # as in the metrics files and MLflow (eval_<key>)
    label: str  # for people: tables and figures
    lower_is_better: bool


# The headline scores of every run, in the order every table and figure lists them: the one
# place their names and labels are written (class_accuracy: conditional variants only).
METRICS = (
    Metric("fid", "FID", True),
    Metric("kid", "KID", True),
    Metric("precision", "precision", False),
    Metric("recall", "recall", False),
    Metric("density", "density", False),
    Metric("coverage", "coverage", False),
    Metric("classifier_score", "classifier score", False),
    Metric("recognisable", "recognisable", False),
    Metric("class_entropy", "class entropy", False),
    Metric("class_accuracy", "class accuracy", False),
)
HEADLINE = tuple(m.key for m in METRICS)


# The memorisation check's distances (judge features) are kept as these quantiles per run.
NEAREST_QUANTILES = tuple(i / 100 for i in range(101))
NEAREST_PAIRS = 8  # the samples nearest the training set, shown beside their training images


def nearest_pairs_file(score_file: Path) -> Path:
    """A run's closest samples beside their nearest training images (a PNG by its scores)."""
    return score_file.with_name(score_file.stem + "_nearest.png")


def format_cell(values: dict, key: str, plus_minus: str = "±", missing: str = "-") -> str:
    """A metric's mean, with its 95 % interval's half-width when there is one."""
    if key not in values:
        return missing
    half = values.get(f"{key}_ci95")
    return f"{values[key]:.3f}" + (f" {plus_minus} {half:.3f}" if half is not None else "")


def gather(cfg: Config) -> dict:
    """Every run's scores and the references, read from the evaluate stages' files, with the
    means (and intervals) over seeds."""
    references = json.loads(cfg.references_file.read_text())
    runs: dict[str, dict[str, dict]] = {}
    for variant in cfg.variants:
        runs[variant] = {}
        for seed in cfg.seeds:
            path = cfg.score_file(variant, seed)
            if not path.is_file():
                raise DataError(f"{path} does not exist; run `dvc repro` (the evaluate@{variant}-{seed} stage)")
            result = json.loads(path.read_text())
            if result["samples"] != references["samples"] or result["judge_sha256"] != references["judge"]["sha256"]:
                raise DataError(f"{path} was scored on {result['samples']} samples by judge "
                                f"{result['judge_sha256'][:12]}, the references on {references['samples']} by "
                                f"{references['judge']['sha256'][:12]}: run `dvc repro` to score both again")
            runs[variant][str(seed)] = {k: v for k, v in result.items() if k not in ("judge_sha256", "seconds")}
    seconds = references["seconds"] + sum(
        json.loads(cfg.score_file(v, s).read_text())["seconds"] for v in cfg.variants for s in cfg.seeds)
    return {
        "samples": references["samples"],
        "seeds": list(cfg.seeds),
        "computed": computed_as(cfg),
        "judge": references["judge"],
        "variants": {variant: aggregate(list(by_seed.values())) for variant, by_seed in runs.items()},
        "references": references["references"],
        "runs": runs,
        "seconds": round(seconds, 1),
    }


def computed_as(cfg: Config) -> list[str]:
    """How the runs computed, each way once with its variants ("float32 (acgan, wgan) on AMD
    EPYC"), from their summary.json: the precision changes the numbers, and so may the CPU."""
    ways: dict[tuple[str, str], list[str]] = {}
    for variant in cfg.variants:
        for seed in cfg.seeds:
            path = cfg.summary_file(variant, seed)
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
    write_json(path, {k: v for k, v in results.items() if k != "runs"})
    write_json(by_seed_path, {"samples": results["samples"], "runs": results["runs"]})


def results_table(results: dict) -> str:
    """The results as a Markdown table, variants by FID, with the references (for the README)."""
    columns = HEADLINE
    rows = sorted(results["variants"].items(), key=lambda item: item[1]["fid"])
    rows += [(f"*{name}* (reference)", ref) for name, ref in results["references"].items()]
    lines = ["| variant | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, values in rows:
        cells = [format_cell(values, c) for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    seeds = results.get("seeds", [0])
    spread = f" (mean ± 95 % interval over {len(seeds)} seeds)" if len(seeds) > 1 else f" (training seed {seeds[0]})"
    lines.append(f"{results['samples']} samples per row{spread}; judge test accuracy "
                 f"{results['judge']['test_accuracy']:.3f}. Lower FID/KID is better; real_test is the floor, "
                 "noise the ceiling." + (f" Trained in {'; '.join(results['computed'])}." if results.get("computed") else ""))
    return "\n".join(lines)


def markers(section: str) -> tuple[str, str]:
    """The README's start and end markers of a generated section ("results", "claims")."""
    return f"<!-- {section}:start -->", f"<!-- {section}:end -->"


RESULTS_START, RESULTS_END = markers("results")


def splice_results(readme: str, table: str, section: str = "results") -> str:
    """README text with the part between a section's markers replaced by the text."""
    start, end = markers(section)
    if start not in readme or end not in readme:
        raise ValueError(f"README has no {start} ... {end} section to fill")
    head, rest = readme.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{table}\n{end}{tail}"
