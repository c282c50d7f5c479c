"""What the data's size asks of the other settings, checked before any training.

Several settings only make sense against the prepared splits: a step's images against the
training split, the evaluation's sample count, the k of the k-NN metrics against the test split.
The check stage runs these on the split sizes it plans from the source's labels (DVC runs it
before every other stage); prepare runs them again on what it really prepared (an unreadable
image can shrink a class). One refusal lists every key at fault and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganlab.config import Config, ConfigError
from ganlab.family_settings import CONDITIONAL_MIN_CLASSES

# evaluate.samples: auto = this many, or the whole training split when it is smaller. FID is
# biased by N: numbers compare only at one N, which every score stage records beside them.
AUTO_SAMPLES = 2000


@dataclass(frozen=True)
class SplitSizes:
    class_names: list[str]
    train: list[int]  # images per class
    test: list[int]

    @classmethod
    def of(cls, class_names: list[str], y_train: np.ndarray, y_test: np.ndarray) -> SplitSizes:
        """The sizes of splits given by their labels (0..K-1)."""
        count = len(class_names)
        return cls(list(class_names), np.bincount(y_train, minlength=count).tolist(),
                   np.bincount(y_test, minlength=count).tolist())

    @property
    def train_images(self) -> int:
        return sum(self.train)

    @property
    def test_images(self) -> int:
        return sum(self.test)


def evaluate_samples(setting: int | str, train_images: int) -> int:
    """The sample count the evaluation scores on: evaluate.samples, or for `auto`
    min(AUTO_SAMPLES, the training split)."""
    return min(AUTO_SAMPLES, train_images) if setting == "auto" else int(setting)


def problems(cfg: Config, sizes: SplitSizes) -> list[str]:
    """Every setting that cannot work with splits of these sizes, each with its fix."""
    found = []
    train, test = sizes.train_images, sizes.test_images
    more_data = "or keep more data (data.per_class, data.classes)"
    samples = evaluate_samples(cfg.evaluate.samples, train)
    if samples > train:
        found.append(f"evaluate.samples is {samples} but the training split has {train} images: "
                     f"set evaluate.samples: auto (min({AUTO_SAMPLES}, the training split)), lower it, {more_data}")
    for key in ("pr_k", "dc_k"):
        k = getattr(cfg.evaluate, key)
        smallest = min(samples, test)
        if smallest <= k:
            found.append(f"evaluate.{key} is {k} but the evaluation compares sets of {smallest} images "
                         f"(test split {test}, evaluate.samples {samples}): lower evaluate.{key} below {smallest}, "
                         f"{more_data}")
    for name, variant in cfg.variants.items():
        if (step := step_problem(cfg, name, train)) is not None:
            found.append(step)
        if variant.conditional and len(sizes.class_names) < CONDITIONAL_MIN_CLASSES:
            found.append(f"variant {name} ({variant.family}) learns to make a requested class and needs at least "
                         f"{CONDITIONAL_MIN_CLASSES} classes; the data has {len(sizes.class_names)}: select more (data.classes) or drop "
                         f"variants.{name}")
    return found


def step_problem(cfg: Config, name: str, train_images: int) -> str | None:
    """A variant's training step takes more images than the training split has, with the fix."""
    variant = cfg.variant(name)
    batch = cfg.run_settings(name, cfg.seeds[0]).batch_size
    per_step = batch * variant.batches_per_step
    if per_step <= train_images:
        return None
    key = f"variants.{name}.batch_size" if variant.batch_size else "train.batch_size"
    critic = f" x {variant.batches_per_step} critic batches (n_critic)" if variant.batches_per_step > 1 else ""
    return (f"variant {name} takes {per_step} images a step ({key} {batch}{critic}) but the training split has "
            f"{train_images}: lower {key}, or keep more data (data.per_class, data.classes)")


def check_plan(cfg: Config, sizes: SplitSizes) -> None:
    found = problems(cfg, sizes)
    if found:
        raise ConfigError("; ".join(found))
