"""The report's figures, each a pure function from arrays/histories to one PNG (or animation).

Histories arrive as {variant: [history of seed 1, history of seed 2, ...]}; a curve is the mean
over seeds with a 95 % band when there are several.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers or in CI
import imageio.v2  # noqa: E402
import imageio.v3 as iio  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from ganlab.claims import accuracy_band  # noqa: E402
from ganlab.stats import curve_band  # noqa: E402

STYLE = {"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
         "axes.spines.right": False, "font.size": 9}

Histories = dict[str, list[dict[str, list[float]]]]


def _panels(n: int, width: float = 3.6, height: float = 2.8, cols: int = 3, layout: str | None = None):
    cols = min(n, cols)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False, layout=layout)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat[:n])


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fig.get_layout_engine() is None:
        # leave the top strip to the figure's title (tight_layout alone lets panel titles overlap it)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()) if fig.get_suptitle() else None)
    fig.savefig(path)
    plt.close(fig)
    return path


def _epoch_axis(ax) -> None:
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


# Curves with a natural range: their bands are cut to it (a t-interval over 2 seeds is wide).
BOUNDS = {"d_acc_real": (0.0, 1.0), "d_acc_fake": (0.0, 1.0), "fid": (0.0, None), "recognisable": (0.0, 1.0),
          "class_entropy": (0.0, 1.0), "class_accuracy": (0.0, 1.0), "d_saturation": (0.0, 1.0),
          "g_grad_norm": (0.0, None)}


def _plot_band(ax, runs: list[dict[str, list[float]]], key: str, label: str, x: str = "epoch", **style) -> None:
    """Mean over seeds as a line, the 95 % interval as a shaded band (several seeds only).
    x: the column on the x axis, its mean over seeds (epochs, images seen, seconds)."""
    mean, lower, upper = curve_band([run[key] for run in runs])
    low, high = BOUNDS.get(key, (None, None))
    lower, upper = np.clip(lower, low, high), np.clip(upper, low, high)
    xs = curve_band([run[x] for run in runs])[0][: len(mean)]
    scored = ~np.isnan(mean)  # a score every fid_every epochs: the line joins the scored epochs
    line, = ax.plot(xs[scored], mean[scored], marker="o", markersize=3, label=label, **style)
    if len(runs) > 1:
        ax.fill_between(xs[scored], lower[scored], upper[scored], color=line.get_color(), alpha=0.2, linewidth=0)


def _seed_note(histories: Histories) -> str:
    seeds = {len(runs) for runs in histories.values()}
    n = max(seeds)
    return f" (mean of {n} seeds, 95 % band)" if n > 1 else ""


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


def curves(histories: Histories, keys: dict[str, str], ylabel: str, title: str, path: Path) -> Path:
    """One panel per variant, one line per key (key -> legend label), x = epoch."""
    with plt.rc_context(STYLE):
        fig, axes = _panels(len(histories))
        for ax, (variant, runs) in zip(axes, histories.items()):
            for key, label in keys.items():
                if key in runs[0]:
                    _plot_band(ax, runs, key, label)
            ax.set_title(variant)
            _epoch_axis(ax)
            ax.set_ylabel(ylabel)
            ax.legend(frameon=False)
        fig.suptitle(title + _seed_note(histories))
        return _save(fig, path)


def last_grids(grids: dict[str, Path], column_titles: dict[str, list[str]], path: Path) -> Path:
    """Study figures 2 and 7: every variant's fixed-noise grid after its last epoch; a grid with
    one column per class (AC-GAN) gets the class names over its columns."""
    with plt.rc_context(STYLE):
        # constrained: the class names over a grid's columns get room above it (with tight_layout its
        # title ran into the grid above, which an image's fixed aspect had shrunk away from its box)
        fig, axes = _panels(len(grids), width=4.2, height=4.6, layout="constrained")
        for ax, (variant, png) in zip(axes, grids.items()):
            image = iio.imread(png)
            ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            ax.set_title(f"{variant}: {png.stem.replace('_', ' ')}", pad=24 if variant in column_titles else 6)
            ax.set_yticks([])
            ax.grid(False)
            titles = column_titles.get(variant)
            if titles:
                width = image.shape[1] / len(titles)
                ax.xaxis.tick_top()
                ax.set_xticks([(i + 0.5) * width for i in range(len(titles))], titles, fontsize=7, rotation=20)
                ax.tick_params(length=0)
                for side in ax.spines.values():
                    side.set_visible(False)
            else:
                ax.axis("off")
        fig.suptitle("Generated samples after the last epoch (fixed noise)")
        return _save(fig, path)


def accuracy_gap_spread(histories: Histories) -> dict[str, list[float]]:
    """Per variant and seed: the standard deviation over epochs of d_acc_real - d_acc_fake, the
    width of the band the study says the stabilisers narrow."""
    return {variant: [accuracy_band(run) for run in runs] for variant, runs in histories.items()}


def stabilisers(histories: Histories, spread: dict[str, list[float]], path: Path) -> Path:
    """Study figure 5: the DCGAN with and without the stabilisers on the same axes (left: accuracy
    on real, middle: on fake), and the spread of the accuracy gap for every variant (right)."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
        for key, ax, label in (("d_acc_real", axes[0], "on real"), ("d_acc_fake", axes[1], "on fake")):
            for variant, runs in histories.items():
                _plot_band(ax, runs, key, variant)
            ax.set_title(f"Discriminator accuracy {label}")
            _epoch_axis(ax)
            ax.set_ylabel("accuracy")
            ax.legend(frameon=False)
        names = list(spread)
        means = [np.mean(spread[n]) for n in names]
        errors = [np.std(spread[n], ddof=1) if len(spread[n]) > 1 else 0.0 for n in names]
        several = any(len(spread[n]) > 1 for n in names)
        axes[2].bar(names, means, yerr=errors if several else None, color=[f"C{i}" for i in range(len(names))],
                    capsize=3)
        axes[2].set_title("Spread of d_acc_real - d_acc_fake")
        axes[2].set_ylabel("std over epochs")
        axes[2].tick_params(axis="x", rotation=30)
        fig.suptitle("With and without the stabilisers" + _seed_note(histories))
        return _save(fig, path)


# The compute axes of the quality curves: a variant that got more compute does not win by that alone.
COMPUTE_AXES = {"images_seen": "images seen by D", "train_seconds": "training seconds"}


def quality_curves(histories: Histories, path: Path) -> Path:
    """Figure 7a, at equal compute: the in-training FID against images seen and against training
    seconds, and the `recognisable` share against images seen; one line per variant."""
    panels = [("fid", x) for x in COMPUTE_AXES] + [("recognisable", "images_seen")]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 3.8))
        for ax, (key, x) in zip(axes, panels):
            for variant, runs in histories.items():
                if key in runs[0] and x in runs[0]:
                    _plot_band(ax, runs, key, variant, x=x)
            ax.set_xlabel(COMPUTE_AXES[x])
            if key == "fid":
                ax.set_yscale("log")
                ax.set_ylabel("FID (judge features, log scale)")
                ax.set_title("FID (lower is better)")
            else:
                ax.set_ylim(0, 1)
                ax.set_ylabel("share of samples")
                ax.set_title("recognisable: judge sure of one class (>= 0.9)")
        axes[0].legend(frameon=False, fontsize=8)
        fig.suptitle("Sample quality over training, at equal compute" + _seed_note(histories))
        return _save(fig, path)


def epoch_panels(histories: Histories, panels: dict[str, tuple[str, bool]], title: str, path: Path) -> Path:
    """One panel per curve (key -> (title, log scale)), one line per variant that has it, x = epoch."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 3.6), squeeze=False)
        for ax, (key, (label, log)) in zip(axes[0], panels.items()):
            for variant, runs in histories.items():
                if key in runs[0]:
                    _plot_band(ax, runs, key, variant)
            if log:
                ax.set_yscale("log")
            elif BOUNDS.get(key) == (0.0, 1.0):
                ax.set_ylim(-0.02, 1.02)  # a share: its whole range, so a flat 0 or 1 reads as such
            ax.set_title(label)
            _epoch_axis(ax)
            ax.legend(frameon=False, fontsize=7)
        fig.suptitle(title + _seed_note(histories))
        return _save(fig, path)


def final_metrics(rows: dict[str, dict[str, tuple[float, float | None]]], references: dict[str, dict[str, float]],
                  metrics: dict[str, str], path: Path) -> Path:
    """Figure 7b: one panel per metric, a bar per variant (mean, 95 % interval over seeds as
    error bars) and the real-data floor and noise ceiling as lines."""
    with plt.rc_context(STYLE):
        fig, axes = _panels(len(metrics), width=3.4, height=3.0, cols=4)
        names = list(rows)
        for ax, (key, label) in zip(axes, metrics.items()):
            means = [rows[n][key][0] if key in rows[n] else np.nan for n in names]
            errors = [(rows[n][key][1] or 0.0) if key in rows[n] else 0.0 for n in names]
            ax.bar(names, means, yerr=errors if any(errors) else None, capsize=3,
                   color=[f"C{i}" for i in range(len(names))])
            for (ref, values), style in zip(references.items(), ("--", ":")):
                if key in values:
                    ax.axhline(values[key], color="black", linestyle=style, linewidth=1, label=ref)
            ax.set_title(label)
            ax.tick_params(axis="x", rotation=45, labelsize=7)
            if key in ("fid", "kid"):
                ax.set_yscale("symlog", linthresh=1e-3 if key == "kid" else 1.0)
        axes[0].legend(frameon=False, fontsize=7)
        fig.suptitle("Final metrics (score stage); lines: references")
        return _save(fig, path)


def class_shares(shares: dict[str, dict[str, float]], path: Path) -> Path:
    """Mode coverage at a glance: one bar per variant (and the real test images), split into the
    share of its samples the judge puts in each class; a dashed line where a uniform share ends."""
    names = list(next(iter(shares.values())))
    rows = list(shares)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.4))
        left = np.zeros(len(rows))
        colours = plt.get_cmap("tab10").colors
        for i, name in enumerate(names):
            values = np.array([shares[r].get(name, 0.0) for r in rows])
            ax.barh(rows, values, left=left, color=colours[i % len(colours)], label=name, edgecolor="white")
            left += values
        for k in range(1, len(names)):
            ax.axvline(k / len(names), color="0.3", linestyle=":", linewidth=0.8)
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.grid(False)
        ax.set_xlabel("share of samples, by the judge's class (dotted: equal shares)")
        ax.legend(ncols=len(names), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, fontsize=8)
        ax.set_title("Class shares of every variant", pad=24)
        return _save(fig, path)


def memorisation(quantiles: dict[str, list[list[float]]], reference: list[float], pairs: dict[str, Path],
                 path: Path) -> Path:
    """Left: the share of samples within a distance of their nearest training image (judge
    features), per variant (mean over seeds), against real test images (dashed): a curve left of
    the dashed one sits closer to the training set than unseen real images do. Right: each
    variant's closest samples (top) above their nearest training images."""
    from ganlab.metric_table import NEAREST_QUANTILES

    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(10, max(3.2, 1.25 * len(pairs) + 0.8)), layout="constrained")
        left, right = fig.subfigures(1, 2, width_ratios=(1, 1.1))
        ax = left.subplots()
        for variant, runs in quantiles.items():
            ax.plot(np.mean(runs, axis=0), NEAREST_QUANTILES, label=variant)
        ax.plot(reference, NEAREST_QUANTILES, "k--", label="real test images")
        ax.set_xlabel("distance to the nearest training image (judge features)")
        ax.set_ylabel("share of images within it")
        ax.legend(fontsize=7)
        axes = right.subplots(len(pairs), 1, squeeze=False)[:, 0]
        for ax, (variant, strip) in zip(axes, pairs.items()):
            ax.imshow(iio.imread(strip), cmap="gray", vmin=0, vmax=255)
            ax.set_axis_off()
            ax.set_title(variant, fontsize=8, loc="left")
        right.suptitle("closest samples (top) and their nearest training images", fontsize=9)
        fig.suptitle("Memorisation check")
        return _save(fig, path)


def progress_animation(frames: list[Path], path: Path, seconds_per_frame: float = 0.6) -> list[Path]:
    """Study figure 6: the fixed-noise grid over the epochs, as a GIF that loops, and as an MP4
    where imageio's ffmpeg plugin is installed. Each frame is stamped with its epoch."""
    images = [_stamp(iio.imread(f), f.stem.replace("_", " ")) for f in frames]
    path.parent.mkdir(parents=True, exist_ok=True)
    gif = path.with_suffix(".gif")
    iio.imwrite(gif, np.stack(images), duration=int(seconds_per_frame * 1000), loop=0)
    written = [gif]
    try:
        import imageio_ffmpeg  # noqa: F401  (the plugin imageio uses for MP4)
    except ImportError:
        return written
    mp4 = path.with_suffix(".mp4")
    # yuv420p, what browsers play, needs even sides; macro_block_size=1 keeps the size as is
    h, w = images[0].shape[:2]
    frames_rgb = [np.repeat(np.pad(im, ((0, h % 2), (0, w % 2)), constant_values=255)[..., None], 3, axis=2)
                  for im in images]
    imageio.v2.mimwrite(mp4, frames_rgb, fps=1 / seconds_per_frame, codec="libx264",
                        pixelformat="yuv420p", macro_block_size=1)
    written.append(mp4)
    return written


def _stamp(image: np.ndarray, text: str) -> np.ndarray:
    """The grid with a white strip above it that names the frame."""
    canvas = Image.fromarray(np.pad(image, ((18, 0), (0, 0)), constant_values=255))
    ImageDraw.Draw(canvas).text((4, 3), text, fill=0)
    return np.asarray(canvas)
