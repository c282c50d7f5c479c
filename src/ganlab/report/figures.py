"""The report's figures, each a pure function from arrays/histories to one PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers or in CI
import imageio.v3 as iio  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

STYLE = {"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
         "axes.spines.right": False, "font.size": 9}


def _panels(n: int, width: float = 3.6, height: float = 2.8):
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat[:n])


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def class_samples(x: np.ndarray, y: np.ndarray, class_names: list[str], path: Path, per_class: int = 8) -> Path:
    """Study figure 1: a row of real images per class."""
    with plt.rc_context(STYLE):
        k = len(class_names)
        fig, axes = plt.subplots(k, per_class, figsize=(per_class * 0.8, k * 0.85), squeeze=False)
        for row, name in enumerate(class_names):
            picks = np.flatnonzero(y == row)[:per_class]
            for col in range(per_class):
                ax = axes[row, col]
                ax.set_xticks([]), ax.set_yticks([])
                ax.grid(False)
                if col < len(picks):
                    ax.imshow(x[picks[col], ..., 0], cmap="gray", vmin=0, vmax=255)
                if col == 0:
                    ax.set_ylabel(name, rotation=0, ha="right", va="center")
        fig.suptitle("Training data: samples of each class")
        return _save(fig, path)


def curves(histories: dict[str, dict[str, list[float]]], keys: dict[str, str], ylabel: str,
           title: str, path: Path) -> Path:
    """One panel per variant, one line per key (key -> legend label), x = epoch."""
    with plt.rc_context(STYLE):
        fig, axes = _panels(len(histories))
        for ax, (variant, history) in zip(axes, histories.items()):
            for key, label in keys.items():
                if key in history:
                    ax.plot(history["epoch"], history[key], marker="o", markersize=3, label=label)
            ax.set_title(variant)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(ylabel)
            ax.legend(frameon=False)
        fig.suptitle(title)
        return _save(fig, path)


def last_grids(grids: dict[str, Path], path: Path) -> Path:
    """Study figure 2: every variant's fixed-noise grid after its last epoch."""
    with plt.rc_context(STYLE):
        fig, axes = _panels(len(grids), width=4.2, height=4.4)
        for ax, (variant, png) in zip(axes, grids.items()):
            ax.imshow(iio.imread(png), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            ax.set_title(f"{variant}: {png.stem.replace('_', ' ')}")
            ax.axis("off")
        fig.suptitle("Generated samples after the last epoch (fixed noise)")
        return _save(fig, path)
