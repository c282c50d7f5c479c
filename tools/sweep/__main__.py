"""`python -m tools.sweep POINT [POINT ...]` (make sweep P="..."): the budget sweep behind the
default run's budget (docs/budget.md). Each point is one long training of one variant (seed 0,
the prepared data and judge of the project), run in a project of its own under
.ganlab/sweep/<point>/; every epoch of it is a budget point: its in-training scores (FID,
recognisable, class entropy, AC-GAN's class accuracy) against images seen and minutes.
`python -m tools.sweep --table` prints the table docs/budget.md keeps, from the points run so far.
A point already run is skipped; delete its folder to run it again.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from ruamel.yaml import YAML

from ganlab.config import PARAMS_FILE, ConfigError, config_from_dict, load_config

OUT = Path(".ganlab") / "sweep"
DIFFAUGMENT = ["color", "translation", "cutout"]
# name: (variant of params.yaml, its options changed, data changed[, train changed]). Unchanged:
# the default's.
POINTS = {
    "dcgan_b32": ("dcgan", {"epochs": 10, "batch_size": 32, "beta_1": 0.9}, {}),
    "dcgan_b32_beta05": ("dcgan", {"epochs": 12, "batch_size": 32, "beta_1": 0.5}, {}),
    "dcgan_b32_fast": ("dcgan", {"epochs": 12, "batch_size": 32, "learning_rate": 2e-4, "beta_1": 0.5}, {}),
    "dcgan_b64": ("dcgan", {"epochs": 20, "batch_size": 64, "beta_1": 0.9}, {}),
    "dcgan_b128": ("dcgan", {"epochs": 20, "batch_size": 128, "beta_1": 0.9}, {}),
    "acgan_b32": ("acgan", {"epochs": 5, "batch_size": 32}, {}),
    "acgan_b64": ("acgan", {"epochs": 8, "batch_size": 64}, {}),
    "wgan_gp_b64": ("wgan_gp", {"epochs": 20}, {}),
    "wgan_b64": ("wgan", {"epochs": 40}, {}),
    "dcgan_fast": ("dcgan", {"epochs": 20, "batch_size": 64, "learning_rate": 2e-4, "beta_1": 0.5}, {}),
    "dcgan_diffaug": ("dcgan", {"epochs": 20, "batch_size": 64, "beta_1": 0.9, "diffaugment": DIFFAUGMENT}, {}),
    "dcgan_diffaug_ttur": ("dcgan", {"epochs": 20, "batch_size": 64, "beta_1": 0.9, "diffaugment": DIFFAUGMENT,
                                     "d_learning_rate": 4e-4, "g_learning_rate": 1e-4}, {}),
    # Issue 26's levers: a moving average of G's weights (time constant ~200 G steps for the
    # DCGAN, ~20 for the WGAN, which takes ~16 G steps an epoch), and bfloat16 at equal epochs.
    "dcgan_b32_beta05_ema": ("dcgan", {"epochs": 14, "batch_size": 32, "beta_1": 0.5, "ema": 0.995}, {}),
    "dcgan_b32_beta05_bf16": ("dcgan", {"epochs": 14, "batch_size": 32, "beta_1": 0.5}, {},
                              {"precision": "mixed_bfloat16"}),
    "wgan_b64_ema": ("wgan", {"epochs": 40, "ema": 0.95}, {}),
    "wgan_b64_bf16": ("wgan", {"epochs": 40}, {}, {"precision": "mixed_bfloat16"}),
    "wgan_gp_b64_ema": ("wgan_gp", {"epochs": 16, "ema": 0.95}, {}),
    # The DCGAN paper's Adam(2e-4, 0.5) at batch 64 (half a batch-32 epoch's cost) with the average.
    "dcgan_fast_ema": ("dcgan", {"epochs": 20, "batch_size": 64, "learning_rate": 2e-4, "beta_1": 0.5,
                                 "ema": 0.995}, {}),
    # bfloat16's quality check (tools/bench/precision): each family's default variant as the
    # default trains it, in mixed_bfloat16 or in float32, at seeds 0-2 (POINT@N), against the
    # default's own runs in the other precision (`auto` picks bfloat16 for some families).
    **{f"{variant}_{short}": (variant, {}, {}, {"precision": precision})
       for variant in ("dcgan", "acgan", "wgan", "wgan_gp")
       for short, precision in (("bf16", "mixed_bfloat16"), ("fp32", "float32"))},
    # Time to quality (tools/bench/quality): the default's DCGAN against the study code's settings
    # (the TensorFlow tutorial's batch 256, Keras' Adam beta_1 0.9, float32).
    "dcgan_default": ("dcgan", {}, {}),
    "dcgan_study_code": ("dcgan", {"epochs": 30, "batch_size": 256, "learning_rate": 1e-4, "beta_1": 0.9,
                                   "ema": None}, {}, {"precision": "float32"}),
}
MARKS = (3, 5, 8, 10, 15, 20, 25, 30, 40)  # the table's rows: a point after this many epochs
SCORING_SECONDS = 1.3  # per epoch: the in-training scores, the grid and the checkpoint


def split_point(name: str) -> tuple[str, int]:
    """A point's name and training seed: `dcgan_b32@1` is the point dcgan_b32 at seed 1 (its own
    folder, .ganlab/sweep/dcgan_b32@1/); a bare name is seed 0."""
    base, _, seed = name.partition("@")
    if base not in POINTS or (seed and not seed.isdigit()):
        raise ConfigError(f"unknown sweep point {name!r}: the points are {', '.join(POINTS)}, "
                          "each optionally @<seed> (dcgan_b32@1)")
    return base, int(seed or 0)


def point_params(params: dict, name: str) -> dict:
    """params.yaml with the point as its only variant, at its seed, and its own MLflow store."""
    name, seed = split_point(name)
    variant, changes, data, *train = POINTS[name]
    params["variants"] = {name: {**params["variants"][variant], **changes}}
    params["data"] |= data
    params["train"] |= train[0] if train else {}
    params["seeds"] = [seed]
    params["mlflow"]["tracking_uri"] = "sqlite:///mlflow.db"
    return params


def run_point(name: str, params_file: Path) -> Path:
    from ganlab.training import train

    out = OUT / name
    if (out / "history.csv").is_file():
        return out
    project = out / "project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    main_cfg = load_config(params_file)
    with open(params_file) as fh:
        params = point_params(YAML(typ="safe", pure=True).load(fh), name)
    with open(project / PARAMS_FILE, "w") as fh:
        YAML(typ="safe", pure=True).dump(params, fh)
    cfg = load_config(project / PARAMS_FILE)
    base, seed = split_point(name)
    if POINTS[base][2]:  # other data: prepared here, scored by the project's judge all the same
        from ganlab.data import prepare, save_prepared
        save_prepared(prepare(cfg.data, cfg.seed), cfg.prepared_dataset, cfg.prepared_facts)
    else:
        for source, target in ((main_cfg.prepared_dataset, cfg.prepared_dataset),
                               (main_cfg.prepared_facts, cfg.prepared_facts)):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    shutil.copytree(main_cfg.judge_dir, cfg.judge_dir, dirs_exist_ok=True)
    started = time.time()
    summary = train(cfg, base, seed)
    summary["wall_minutes"] = round((time.time() - started) / 60, 2)
    shutil.copy2(cfg.trained_run(base, seed).history_file, out / "history.csv")
    shutil.copytree(cfg.trained_run(base, seed).samples_dir, out / "samples", dirs_exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    shutil.rmtree(project / "checkpoints", ignore_errors=True)
    return out


def window_mean(rows: list[dict], key: str) -> float | None:
    values = [float(r[key]) for r in rows if r.get(key) not in (None, "", "nan")]
    return float(np.mean(values)) if values else None


def table() -> str:
    """Per point and budget: the in-training scores (500 samples; mean of the 3 epochs ending
    there, as single epochs swing by ~10 FID) and the minutes at the run's fastest epoch rate
    (the one least disturbed by other work on the machine)."""
    lines = ["| point | epochs | images seen | minutes | FID | recognisable | class entropy | class accuracy |",
             "|---|---|---|---|---|---|---|---|"]
    seeded = sorted((p.name for p in OUT.glob("*@*")), key=split_point) if OUT.is_dir() else []
    for name in [n for point in POINTS for n in (point, *(s for s in seeded if s.startswith(point + "@")))]:
        path = OUT / name / "history.csv"
        if not path.is_file():
            continue
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        fastest = min(float(r["epoch_seconds"]) for r in rows)
        for epochs in sorted({e for e in MARKS if e <= len(rows)} | {len(rows)}):
            window = rows[max(0, epochs - 3):epochs]
            accuracy = window_mean(window, "class_accuracy")
            lines.append(f"| {name} | {epochs} | {int(rows[epochs - 1]['images_seen']):,} | "
                         f"{epochs * (fastest + SCORING_SECONDS) / 60:.1f} | {window_mean(window, 'fid'):.1f} | "
                         f"{window_mean(window, 'recognisable'):.2f} | {window_mean(window, 'class_entropy'):.2f} | "
                         f"{'' if accuracy is None else f'{accuracy:.2f}'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("points", nargs="*", metavar="POINT", help=f"any of: {', '.join(POINTS)}; POINT@N trains it at seed N")
    parser.add_argument("--table", action="store_true", help="print the table of the points run so far")
    parser.add_argument("--params", default=PARAMS_FILE)
    args = parser.parse_args(argv)
    try:
        for name in args.points:
            split_point(name)
        cfg = load_config(args.params)
        for name in args.points:  # every point's params checked before any trains
            with open(args.params) as fh:
                config_from_dict(point_params(YAML(typ="safe", pure=True).load(fh), name))
        if args.points and not cfg.judge_model_file.is_file():
            raise ConfigError(f"{cfg.judge_model_file} is missing: `dvc repro judge` makes the data and the judge")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    for name in args.points:
        print(f"sweep point {name}: {POINTS[split_point(name)[0]]}", flush=True)
        run_point(name, Path(args.params))
    if args.table or not args.points:
        print(table())


if __name__ == "__main__":
    main()
