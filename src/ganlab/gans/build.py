"""A variant's GAN, built by its family's trainer module (imported by name: TensorFlow loads here)."""

from __future__ import annotations

import importlib

from ganlab.family_settings import DataSpec


def build_gan(options, data: DataSpec, noise_dim: int, seed: int, total_steps: int = 1):
    """The compiled GAN of a variant: gans/<family>.py's build(options, data, noise_dim, seed,
    total_steps). total_steps (of the whole training) is for schedules."""
    trainer = importlib.import_module(f"ganlab.gans.{options.family}")
    return trainer.build(options, data, noise_dim, seed, total_steps)
