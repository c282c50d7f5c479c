"""Is a training run healthy? A check of its per-epoch history (the curves every run logs), so
that a run that blew up or collapsed is named and left out of the means and claims, never
averaged with healthy seeds as if it meant something.

Each rule and its threshold, against what the committed healthy runs measure (the default run's
18 histories, 2026-12-03; `tests/test_health.py` checks every committed history):
- **diverged**: a loss not finite, or above EXPLODING x max(|the first epoch's|, 1), or above
  ABSURD at any epoch (a run can blow up within its first epoch). Healthy runs stay within 33x
  and under 34 in |loss| (the clipped WGAN, whose critic loss grows as its estimate does; the
  DCGANs 1.4x and 1.4, WGAN-GP 9x and 25); a DCGAN at learning_rate 50 is at 4e13 after its
  first epoch.
- **vanishing**: G's gradient norm below VANISHING x its first epoch's (healthy runs keep at least
  0.2x: DCGANs 0.2-0.33, AC-GAN 0.32, WGAN-GP 0.22), or D sure of SATURATED of the fakes for
  SATURATED_EPOCHS epochs in a row (healthy minimax runs: at most 0.1 in any epoch).
- **collapsed**: the class entropy, once at COVERED or more, falls to COLLAPSED or less (healthy
  runs never fall below 0.88 after their peak; early epochs start low, which is no collapse).

The rule downstream (ganlab.results, the report's claims): a flagged run is left out of its
variant's means and of the claims, and the table names it with its reason; a variant whose every
run is flagged keeps them all, marked.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

EXPLODING = 1000.0
ABSURD = 1e6  # |loss|: ~30000x the largest healthy one (33, the clipped WGAN's critic)
VANISHING = 1e-3
SATURATED, SATURATED_EPOCHS = 0.9, 3
COVERED, COLLAPSED = 0.8, 0.5
LOSSES = ("g_loss", "d_loss")
HEALTHY = "healthy"
STATUSES = ("diverged", "collapsed", "vanishing")  # the worst first


@dataclass(frozen=True)
class Finding:
    status: str  # one of STATUSES
    epoch: int
    reason: str


def _value(row: dict, key: str) -> float | None:
    value = row.get(key)
    if value in (None, ""):
        return None
    return float(value)


def findings(history: list[dict]) -> list[Finding]:
    """Every rule a history breaks, at the first epoch it does (rows as history.csv has them)."""
    found: dict[str, Finding] = {}

    def flag(status: str, epoch: int, reason: str) -> None:
        found.setdefault(status, Finding(status, epoch, reason))

    first = history[0] if history else {}
    saturated_run, peak_entropy = 0, 0.0
    for row in history:
        epoch = int(float(row["epoch"]))
        for key in LOSSES:
            value = _value(row, key)
            if value is None:
                continue
            start = abs(_value(first, key) or 0.0)
            if not math.isfinite(value):
                flag("diverged", epoch, f"{key} is {value} (not finite)")
            elif abs(value) > EXPLODING * max(start, 1.0):
                flag("diverged", epoch, f"{key} {value:.3g} is over {EXPLODING:g}x the first epoch's ({start:.3g})")
            elif abs(value) > ABSURD:
                flag("diverged", epoch, f"{key} {value:.3g} is over {ABSURD:g}: the losses blew up")
        norm, first_norm = _value(row, "g_grad_norm"), _value(first, "g_grad_norm")
        if norm is not None and first_norm and math.isfinite(norm) and norm < VANISHING * first_norm:
            flag("vanishing", epoch, f"G's gradient norm {norm:.3g} is under {VANISHING:g}x the first epoch's "
                 f"({first_norm:.3g})")
        saturation = _value(row, "d_saturation")
        saturated_run = saturated_run + 1 if saturation is not None and saturation >= SATURATED else 0
        if saturated_run == SATURATED_EPOCHS:
            flag("vanishing", epoch, f"D sure of >= {SATURATED:.0%} of the fakes for {SATURATED_EPOCHS} epochs")
        entropy = _value(row, "class_entropy")
        if entropy is not None and math.isfinite(entropy):
            peak_entropy = max(peak_entropy, entropy)
            if peak_entropy >= COVERED and entropy <= COLLAPSED:
                flag("collapsed", epoch, f"class entropy fell to {entropy:.2f} from {peak_entropy:.2f}")
    return [found[s] for s in STATUSES if s in found]


def status(history: list[dict]) -> str:
    """The worst finding's status, or "healthy"."""
    found = findings(history)
    return found[0].status if found else HEALTHY


def history_findings(path: Path) -> list[Finding]:
    """The findings of a run's history.csv (none for a run without one: nothing to judge it by)."""
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return findings(list(csv.DictReader(fh)))


def kept(flagged: dict[str, bool]) -> list[str]:
    """The runs (by seed) that go into the means and claims: the healthy ones, or all of them when
    none is (a variant that never trains healthily is shown as it is, and marked)."""
    healthy = [seed for seed, bad in flagged.items() if not bad]
    return healthy or list(flagged)
