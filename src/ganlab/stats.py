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


# Beyond this many seeds a claim is called "more than SEEDS_CAP seeds would tell": a default run
# of that size is days on the project's CPU, and the estimate of a spread from 3 seeds is too
# rough to promise more.
SEEDS_CAP = 100
POWER = 0.8  # the usual design power (Cohen 1988): 4 in 5 runs of that size would tell


def seeds_to_tell(values, line: float = 0.0, confidence: float = 0.95, power: float = POWER,
                  cap: int = SEEDS_CAP) -> int | None:
    """The fewest seeds whose t interval over per-seed `values` (paired differences, or values
    against a target `line`) would lie wholly on one side of `line` with probability `power`,
    were the values' true mean and standard deviation the measured ones (see seeds_for).
    Needs 2 values or more (one says nothing of the spread)."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) < 2:
        raise ValueError("the seeds a claim needs come from the spread of 2 seeds or more")
    return seeds_for(abs(float(x.mean()) - line), float(x.std(ddof=1)), confidence, power, cap)


def seeds_for(effect: float, spread: float, confidence: float = 0.95, power: float = POWER,
              cap: int = SEEDS_CAP) -> int | None:
    """The sample size of the one-sample (paired) t test: the fewest n for which a two-sided
    t interval of the given confidence excludes 0 with probability `power`, when the values'
    mean is `effect` away from the line and their standard deviation is `spread`. Its power is
    read off the noncentral t distribution (noncentrality effect / spread * sqrt(n)), as
    statsmodels' TTestPower solves it. None when no n up to `cap` reaches it (a zero effect
    never does)."""
    if effect == 0:
        return None
    if spread == 0:
        return 2  # no spread at all: every interval is the mean itself
    for n in range(2, cap + 1):
        critical = stats.t.ppf(0.5 + confidence / 2, df=n - 1)
        shift = effect / spread * np.sqrt(n)
        if stats.nct.sf(critical, n - 1, shift) + stats.nct.cdf(-critical, n - 1, shift) >= power:
            return n
    return None
