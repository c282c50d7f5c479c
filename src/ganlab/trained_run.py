"""One trained run, a variant at one training seed: every file it owns and the one way to load
its generator.

Training writes a run's files through a TrainedRun; scoring, the report, the `ganlab` command and
the bench read them through one. The file names below are their only home: dvc.yaml spells the
same outputs, and tests/test_trained_run.py checks that the two agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Inside the run's model folder (the train stage's output, <models>/<variant>/seed<seed>/).
GENERATOR = "generator.keras"  # the generator after the last epoch (the weight average with `ema`)
RAW_GENERATOR = "generator_raw.keras"  # with `ema`: the generator's own weights
BEST_GENERATOR = "generator_best.keras"  # the epoch with the lowest training FID (also in the checkpoint folder)
MODEL_CARD = "model_card.json"  # what the generator takes and makes, and its MLflow run
# Inside the run's training folder (<training>/<variant>/seed<seed>/).
HISTORY = "history.csv"  # one row an epoch (a DVC plots file)
SUMMARY = "summary.json"  # the last epoch's numbers (a DVC metrics file)
SAMPLES = "samples"  # the fixed-noise grid of every epoch
GRID_GLOB = "epoch_*.png"
# Beside the run's scores (<scores>/<variant>/seed<seed>.json).
NEAREST_SUFFIX = "_nearest.png"  # its closest samples above their nearest training images
BATCH = 500  # images one generator call makes: 100000 at once would need ~20 GB of activations


def run_name(variant: str, seed: int) -> str:
    """How one training run is named: MLflow run name, progress lines, the checkpoint's owner."""
    return f"{variant}-seed{seed}"


def grid_name(epoch: int) -> str:
    """The file name of an epoch's sample grid (epochs count from 1)."""
    return f"epoch_{epoch:03d}.png"


def classes_in_turn(count: int, num_classes: int) -> np.ndarray:
    """The labels of count images that visit the classes in turn: 0, 1, ..., 0, 1, ..."""
    return np.arange(count) % num_classes


@dataclass
class Generator:
    """A trained generator as a callable `(noise, labels) -> images in [-1, 1]`, with what it
    takes: noise of noise_dim and, for a conditional one, a class of class_names."""

    model: object  # a keras.Model
    noise_dim: int
    class_names: list[str] | None  # None: unconditional

    @classmethod
    def from_card(cls, model, card: dict) -> Generator:
        return cls(model, card["noise_dim"], card["class_names"] if card.get("conditional") else None)

    def __call__(self, noise: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """Images for the noise (and, conditional, the class indices), BATCH at a time."""
        import keras

        if self.class_names is not None and labels is None:
            raise ValueError("a conditional generator makes images for given labels; pass one label per noise row")
        batches = []
        for start in range(0, len(noise), BATCH):
            inputs = noise[start:start + BATCH].astype(np.float32)
            if self.class_names is not None:
                inputs = [inputs, np.eye(len(self.class_names), dtype=np.float32)[labels[start:start + BATCH]]]
            batches.append(keras.ops.convert_to_numpy(self.model(inputs, training=False)))
        return np.concatenate(batches)

    def image_bytes(self) -> int:
        """Bytes of one generated image as float32."""
        return int(np.prod([d for d in self.model.output_shape[1:]])) * 4

    def classes_in_turn(self, count: int) -> np.ndarray | None:
        """classes_in_turn for a conditional generator; None for an unconditional one."""
        return None if self.class_names is None else classes_in_turn(count, len(self.class_names))


@dataclass(frozen=True)
class TrainedRun:
    """The files of one (variant, seed) run, under the folders params.yaml's `paths:` names."""

    variant: str
    seed: int
    model_dir: Path  # the train stage's output folder
    training_dir: Path  # its metrics, plots and grids
    checkpoint_dir: Path  # the full training state (not a DVC output: a killed run resumes from it)
    score_file: Path  # the score stage's output

    @classmethod
    def under(cls, variant: str, seed: int, models: Path, training: Path, checkpoints: Path,
              scores: Path) -> TrainedRun:
        leaf = f"seed{seed}"
        return cls(variant, seed, models / variant / leaf, training / variant / leaf, checkpoints / variant / leaf,
                   scores / variant / f"{leaf}.json")

    @property
    def name(self) -> str:
        return run_name(self.variant, self.seed)

    @property
    def generator_file(self) -> Path:
        return self.model_dir / GENERATOR

    @property
    def raw_generator_file(self) -> Path:
        return self.model_dir / RAW_GENERATOR

    @property
    def best_generator_file(self) -> Path:
        return self.model_dir / BEST_GENERATOR

    @property
    def checkpoint_best_generator_file(self) -> Path:
        """The best epoch's generator while the run trains (copied to best_generator_file at its end)."""
        return self.checkpoint_dir / BEST_GENERATOR

    @property
    def model_card_file(self) -> Path:
        return self.model_dir / MODEL_CARD

    @property
    def history_file(self) -> Path:
        return self.training_dir / HISTORY

    @property
    def summary_file(self) -> Path:
        return self.training_dir / SUMMARY

    @property
    def samples_dir(self) -> Path:
        return self.training_dir / SAMPLES

    def grid_file(self, epoch: int) -> Path:
        return self.samples_dir / grid_name(epoch)

    def grids(self) -> list[Path]:
        """The per-epoch grids written so far, in epoch order."""
        return sorted(self.samples_dir.glob(GRID_GLOB))

    @property
    def nearest_pairs_file(self) -> Path:
        return self.score_file.with_name(self.score_file.stem + NEAREST_SUFFIX)

    def card(self) -> dict:
        return json.loads(self.model_card_file.read_text())

    def is_trained(self) -> bool:
        return self.model_card_file.is_file() and self.generator_file.is_file()

    def load_generator(self) -> Generator:
        """The run's generator (the weight average with `ema`), as its model card describes it."""
        import keras

        return Generator.from_card(keras.saving.load_model(self.generator_file, compile=False), self.card())
