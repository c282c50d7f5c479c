"""The provenance card of every score: what a number was computed from. The field's results fail
to reproduce where this is missing (StudioGAN's, clean-fid's and torch-fidelity's issues: another
feature extractor, another sample count, train-mode BatchNorm, the raw generator instead of the
average), so every score file carries one, and two scores compared with different cards say so
(the results table, the report, check_repro)."""

from __future__ import annotations

import subprocess
from pathlib import Path

# How every generator is run for its scores (ganlab.scoring.generate): inference mode, with the
# moving statistics that training calibrated on one fixed batch after the last epoch
# (GAN.calibrate_batchnorm), never the scoring batch's own statistics.
BATCHNORM = "inference, statistics calibrated after training"
# The card's entries that differ between runs by design (a run's seed, a variant's budget), so
# never a reason to flag a comparison
PER_RUN = ("training_seed", "epochs")


CODE = ("src", "pipeline", "dvc.yaml")  # what computes the numbers (the outputs change as stages run)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None


def code_commit(root: Path) -> str:
    """The commit the project's code is at, "+changes" when its code differs from it, or
    "unknown" outside a git checkout of its own (a check-repro or profile copy)."""
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or top.returncode != 0 or Path(top.stdout.strip()).resolve() != root.resolve():
        return "unknown"
    head = _git(root, "rev-parse", "--short=12", "HEAD")
    if head is None or head.returncode != 0:
        return "unknown"
    changed = _git(root, "diff", "--quiet", "HEAD", "--", *CODE)
    return head.stdout.strip() + ("+changes" if changed is None or changed.returncode != 0 else "")


def card(judge_facts: dict, real_samples: int, generated_samples: int, root: Path, seed: int, **run) -> dict:
    """The card: the judge (digest, feature layer), the sample counts, BatchNorm's mode, the
    evaluation seed and the code; a run's score adds its generator, checkpoint rule, training
    seed and precision (`run`)."""
    return {
        "judge_sha256": judge_facts["sha256"],
        "judge_feature_layer": f"{judge_facts['feature_layer']} ({judge_facts['feature_dim']} features)",
        "real_samples": real_samples,
        "generated_samples": generated_samples,
        "batchnorm": BATCHNORM,
        **run,
        "evaluation_seed": seed,
        "code_commit": code_commit(root),
    }


def run_facts(generator, raw_generator: Path, epochs: int, training_seed: int) -> dict:
    """What a trained run's score adds to the card, read from its model files: the sampling
    network (the weight average when training kept the raw weights beside it, at raw_generator),
    the checkpoint rule, the training seed and the precision the generator computes in."""
    averaged = raw_generator.is_file()
    return {
        "generator": "weight average (ema)" if averaged else "raw weights",
        "checkpoint": "last epoch",
        "epochs": epochs,
        "training_seed": training_seed,
        "precision": next((layer.dtype_policy.name for layer in generator.layers if layer.weights), "float32"),
    }


def differences(cards: dict[str, dict]) -> dict[str, list]:
    """The entries whose values differ between the named cards (PER_RUN ones aside), each with
    its sorted distinct values: what a comparison of these scores must be read with."""
    keys = sorted({k for c in cards.values() for k in c} - set(PER_RUN))
    out = {}
    for key in keys:
        values = sorted({str(c.get(key, "missing")) for c in cards.values()})
        if len(values) > 1:
            out[key] = values
    return out
