"""The evaluate stage: every trained variant scored by the judge on a fixed number of samples
from a fixed seed, next to two references, the floor (real test images against the real
reference) and the ceiling (uniform noise images)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np

from ganlab.config import Config
from ganlab.data import DataError, load_prepared, to_unit_range
from ganlab.judge import Judge
from ganlab.metrics import (class_shares, classifier_score, density_coverage, frechet_distance,
                            kernel_distance, label_accuracy, precision_recall)
from ganlab.stats import mean_interval

# The numbers `dvc metrics show` lists per variant, in this order (class_accuracy: AC-GAN only).
HEADLINE = ("fid", "kid", "precision", "recall", "density", "coverage", "classifier_score", "class_accuracy")


def score(cfg: Config, real_feats: np.ndarray, feats: np.ndarray, probs: np.ndarray,
          class_names: list[str]) -> dict:
    e = cfg.evaluate
    kid, kid_std = kernel_distance(real_feats, feats, e.kid_subsets, e.kid_subset_size, seed=cfg.seed)
    precision, recall = precision_recall(real_feats, feats, e.pr_k)
    density, coverage = density_coverage(real_feats, feats, e.dc_k)
    shares = class_shares(probs.argmax(axis=1), len(class_names))
    return {
        "fid": frechet_distance(real_feats, feats), "kid": kid, "kid_std": kid_std,
        "precision": precision, "recall": recall, "density": density, "coverage": coverage,
        "classifier_score": classifier_score(probs),
        "class_share": {name: float(s) for name, s in zip(class_names, shares)},
    }


def generate(generator: keras.Model, card: dict, count: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """count samples from fixed noise; a conditional generator gets the classes in turn."""
    noise = np.random.default_rng([seed, 4]).standard_normal((count, card["noise_dim"])).astype(np.float32)
    labels = np.arange(count) % card["num_classes"] if card["conditional"] else None
    images = []
    for start in range(0, count, 500):
        z = noise[start:start + 500]
        inputs = [z, np.eye(card["num_classes"], dtype=np.float32)[labels[start:start + 500]]] if labels is not None else z
        images.append(keras.ops.convert_to_numpy(generator(inputs, training=False)))
    return np.concatenate(images), labels


def evaluate(cfg: Config) -> dict:
    started = time.perf_counter()
    data = load_prepared(cfg.prepared_dataset)
    judge_facts = json.loads((cfg.judge_dir / "judge.json").read_text())
    judge = Judge.load(cfg.judge_dir / "judge.keras")
    n = cfg.evaluate.samples
    rng = np.random.default_rng([cfg.seed, 3])
    if len(data.y_train) < n or len(data.y_test) < cfg.evaluate.pr_k + 2:
        raise DataError(f"evaluate.samples is {n} but the training split has {len(data.y_train)} images: "
                        "lower evaluate.samples or keep more data (data.per_class)")

    pick = rng.choice(len(data.y_train), n, replace=False)
    real_feats, _ = judge(to_unit_range(data.x_train[pick]))
    real_labels = data.y_train[pick]
    names = data.class_names

    test_pick = rng.choice(len(data.y_test), min(n, len(data.y_test)), replace=False)
    references = {
        "real_test": score(cfg, real_feats, *judge(to_unit_range(data.x_test[test_pick])), names),
        "noise": score(cfg, real_feats, *judge(rng.uniform(-1, 1, (n, *data.x_train.shape[1:])).astype(np.float32)), names),
    }
    runs: dict[str, dict[str, dict]] = {}
    for variant in cfg.variants:
        runs[variant] = {}
        for seed in cfg.seeds:
            model_dir = cfg.model_dir(variant, seed)
            card = json.loads((model_dir / "model_card.json").read_text())
            images, labels = generate(keras.models.load_model(model_dir / "generator.keras"), card, n, cfg.seed)
            feats, probs = judge(images)
            result = score(cfg, real_feats, feats, probs, names)
            if labels is not None:
                result["class_accuracy"] = label_accuracy(labels, probs.argmax(axis=1))
                result["fid_per_class"] = {
                    name: frechet_distance(real_feats[real_labels == c], feats[labels == c])
                    for c, name in enumerate(names)
                }
            result["mlflow_run_id"] = card.get("mlflow_run_id")
            runs[variant][str(seed)] = result
            print(f"{cfg.run_name(variant, seed):>16}: "
                  + "  ".join(f"{k} {result[k]:.4g}" for k in HEADLINE if k in result), flush=True)
    variants = {variant: aggregate(list(by_seed.values())) for variant, by_seed in runs.items()}
    for name, ref in references.items():
        print(f"{name:>16}: " + "  ".join(f"{k} {ref[k]:.4g}" for k in HEADLINE if k in ref), flush=True)
    return {
        "samples": n,
        "seeds": list(cfg.seeds),
        "judge": {"test_accuracy": judge_facts["test_accuracy"], "sha256": judge_facts["sha256"]},
        "variants": variants,
        "references": references,
        "runs": runs,
        "seconds": round(time.perf_counter() - started, 1),
    }


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
    summary = {k: v for k, v in results.items() if k != "runs"}
    by_seed = {"samples": results["samples"], "runs": results["runs"]}
    for target, content in ((path, summary), (by_seed_path, by_seed)):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(content, indent=2) + "\n")
        tmp.replace(target)


def results_table(results: dict) -> str:
    """The results as a Markdown table, variants by FID, with the references (for the README)."""
    columns = ("fid", "kid", "precision", "recall", "density", "coverage", "classifier_score", "class_accuracy")
    rows = sorted(results["variants"].items(), key=lambda item: item[1]["fid"])
    rows += [(f"*{name}* (reference)", ref) for name, ref in results["references"].items()]
    lines = ["| variant | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, values in rows:
        cells = [_cell(values, c) for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    seeds = results.get("seeds", [0])
    spread = f" (mean ± 95 % interval over {len(seeds)} seeds)" if len(seeds) > 1 else f" (training seed {seeds[0]})"
    lines.append(f"{results['samples']} samples per row{spread}; judge test accuracy "
                 f"{results['judge']['test_accuracy']:.3f}. Lower FID/KID is better; real_test is the floor, "
                 "noise the ceiling.")
    return "\n".join(lines)


def _cell(values: dict, key: str) -> str:
    if key not in values:
        return "-"
    half = values.get(f"{key}_ci95")
    return f"{values[key]:.3f}" + (f" ± {half:.3f}" if half is not None else "")


RESULTS_START, RESULTS_END = "<!-- results:start -->", "<!-- results:end -->"


def splice_results(readme: str, table: str) -> str:
    """README text with the part between the results markers replaced by the table."""
    if RESULTS_START not in readme or RESULTS_END not in readme:
        raise ValueError(f"README has no {RESULTS_START} ... {RESULTS_END} section to fill")
    head, rest = readme.split(RESULTS_START, 1)
    _, tail = rest.split(RESULTS_END, 1)
    return f"{head}{RESULTS_START}\n{table}\n{RESULTS_END}{tail}"
