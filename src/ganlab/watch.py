"""The health check while a run trains (issue 29): ganlab.health's rules applied after every
epoch, so that a run that blows up or collapses is named as it happens, not only downstream.

- Losses that are not finite stop the run at once, before that epoch's grid, scores and
  checkpoint: the last finite epoch's checkpoint is what stays, and the stage ends with one
  `error:` line (TrainingDiverged is a ConfigError: the likely cause is a setting, most often
  the learning rate) and its MLflow run FAILED.
- Any other finding (losses exploding, G's gradient vanishing, D saturated, classes collapsing)
  prints one `warning:` line when first found and tags the MLflow run `health: <status>`; the
  run's summary.json says the status. With `train.stop_unhealthy: true` the run stops after that
  epoch, its generators saved as they are, and the compute of the remaining epochs is saved.
"""

from __future__ import annotations

import math
import sys

from ganlab import health
from ganlab.config import ConfigError
from ganlab.health import Finding

HEALTH_TAG = "health"  # the MLflow tag of every run: healthy, or the worst finding's status


class TrainingDiverged(ConfigError):
    """The losses went NaN or infinite: nothing after this epoch can mean anything."""


def non_finite(losses: dict[str, float]) -> dict[str, float]:
    """The losses (of ganlab.health.LOSSES) that are NaN or infinite."""
    return {k: v for k, v in losses.items() if k in health.LOSSES and not math.isfinite(v)}


def divergence_message(run: str, epoch: int, bad: dict[str, float], learning_rates: tuple[float, float],
                       last_checkpoint: int) -> str:
    d_lr, g_lr = learning_rates
    values = ", ".join(f"{k} {v}" for k, v in bad.items())
    rates = f"{d_lr:g}" if d_lr == g_lr else f"D {d_lr:g}, G {g_lr:g}"
    kept = (f"the checkpoint of epoch {last_checkpoint} (the last finite one) is kept" if last_checkpoint
            else "no epoch finished with finite losses, so no checkpoint is kept")
    return (f"{run}: training diverged at epoch {epoch} ({values}); the likely cause is the learning rate "
            f"({rates}: the study's DCGANs train at 1e-4 to 2e-4, its WGAN at 5e-5): lower it in params.yaml "
            f"and run `dvc repro` again; {kept}")


class HealthWatch:
    """One run's findings so far; what EpochReporter asks after each epoch."""

    def __init__(self, run: str, learning_rates: tuple[float, float], stop_unhealthy: bool, tag=None):
        self.run, self.learning_rates, self.stop_unhealthy = run, learning_rates, stop_unhealthy
        self.tag = tag or (lambda key, value: None)  # sets an MLflow tag on the run
        self.found: list[Finding] = []
        self.stopped_at: int | None = None  # the epoch after which it stopped the run
        self.tagged: str | None = None  # the status the MLflow run is tagged with

    def check_losses(self, epoch: int, losses: dict[str, float], last_checkpoint: int) -> None:
        """Raises TrainingDiverged when a loss is not finite (before anything of the epoch is kept)."""
        bad = non_finite(losses)
        if bad:
            self.tag(HEALTH_TAG, "diverged")
            raise TrainingDiverged(divergence_message(self.run, epoch, bad, self.learning_rates, last_checkpoint))

    def check(self, rows: list[dict]) -> bool:
        """The history so far against every rule: a `warning:` line and the MLflow tag for each
        new finding; whether the run should stop now."""
        found = health.findings(rows)
        new = [f for f in found if f.status not in {seen.status for seen in self.found}]
        self.found = found
        for finding in new:
            advice = ("stopping it (train.stop_unhealthy)" if self.stop_unhealthy
                      else "set train.stop_unhealthy: true to stop such a run")
            print(f"warning: {self.run} epoch {finding.epoch}: {finding.status}: {finding.reason}; the "
                  f"means and claims leave it out (ganlab.health); {advice}", file=sys.stderr, flush=True)
        if self.status != self.tagged:
            self.tag(HEALTH_TAG, self.status)
            self.tagged = self.status
        if found and self.stop_unhealthy:
            self.stopped_at = int(float(rows[-1]["epoch"]))
            return True
        return False

    @property
    def status(self) -> str:
        return self.found[0].status if self.found else health.HEALTHY

    def summary(self) -> dict:
        """What summary.json says of the run's health."""
        stopped = {"stopped_at_epoch": self.stopped_at} if self.stopped_at is not None else {}
        return {"health": self.status,
                "health_findings": [f"epoch {f.epoch}: {f.status}: {f.reason}" for f in self.found], **stopped}
