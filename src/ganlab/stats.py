"""Summaries over seeds: a GAN result from one seed is an anecdote, so every number that the
report and the metrics file show across seeds is a mean with a 95 % interval."""

from __future__ import annotations

import numpy as np
from scipy import stats


def mean_interval(values, confidence: float = 0.95) -> tuple[float, float | None]:
    """(mean, half-width of the Student-t confidence interval of the mean) of per-seed values.

    The half-width is None for a single seed: one run says nothing about the spread.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"expected a non-empty list of per-seed values, got shape {x.shape}")
    mean = float(x.mean())
    if len(x) < 2:
        return mean, None
    sem = float(x.std(ddof=1)) / np.sqrt(len(x))
    return mean, float(stats.t.ppf(0.5 + confidence / 2, df=len(x) - 1) * sem)


def curve_band(curves: list[list[float]], confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-epoch (mean, lower, upper) over seeds; the band collapses onto the mean for one seed.

    Curves are cut to the shortest one so that every point averages the same seeds.
    """
    length = min(len(c) for c in curves)
    matrix = np.asarray([c[:length] for c in curves], dtype=np.float64)
    mean = matrix.mean(axis=0)
    if len(curves) < 2:
        return mean, mean, mean
    half = stats.t.ppf(0.5 + confidence / 2, df=len(curves) - 1) * matrix.std(axis=0, ddof=1) / np.sqrt(len(curves))
    return mean, mean - half, mean + half
