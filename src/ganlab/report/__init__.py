"""The report stage: reads what prepare and train wrote, renders the figures."""

from __future__ import annotations

import csv
from pathlib import Path

from ganlab.config import Config
from ganlab.data import load_prepared
from ganlab.report import figures


def read_history(path: Path) -> dict[str, list[float]]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{path} holds no epochs")
    return {key: [float(r[key]) for r in rows] for key in rows[0]}


def build_report(cfg: Config) -> list[Path]:
    out = cfg.figures_dir
    data = load_prepared(cfg.prepared_dataset)
    histories = {v: read_history(cfg.history_file(v)) for v in cfg.variants}
    grids = {v: sorted(cfg.samples_dir(v).glob("epoch_*.png"))[-1] for v in cfg.variants}
    return [
        figures.class_samples(data.x_train, data.y_train, data.class_names, out / "class_samples.png"),
        figures.last_grids(grids, out / "last_grids.png"),
        figures.curves(histories, {"g_loss": "generator", "d_loss": "discriminator (critic)"}, "loss",
                       "Generator and discriminator loss per epoch", out / "losses.png"),
        figures.curves(histories, {"d_acc_real": "on real", "d_acc_fake": "on fake"}, "accuracy",
                       "Discriminator accuracy per epoch", out / "accuracy.png"),
    ]
