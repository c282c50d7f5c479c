"""A data source -> one prepared array file.

Whatever the source (ganlab.sources), the result is uint8 images of shape (N, S, S, 1), labels
0..K-1 in the order of `data.classes`, a train and a test split, and the class names. The split
is computed from the source's labels alone, so the check stage's planned sizes are the prepared
ones. No TensorFlow here: preparing data should not pay for it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ganlab.atomic import json_text, replaced
from ganlab.config import DataConfig
from ganlab.sources import DataError, SourceLabels, read_npz_arrays, sha256_files, source_images, source_labels

SHOWN_SKIPS = 20  # skipped files named on the console; dataset.json lists them all


@dataclass
class Dataset:
    x_train: np.ndarray  # uint8 (N, S, S, 1)
    y_train: np.ndarray  # int64 (N,), 0..K-1
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: str  # what was read, for people: a path or a description
    source_sha256: str
    skipped: list[str] = field(default_factory=list)  # files left out, each with the reason

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def facts(self) -> dict:
        return {
            "source": self.source,
            "source_sha256": self.source_sha256,
            "image_size": int(self.x_train.shape[1]),
            "num_classes": self.num_classes,
            "train_images": int(len(self.y_train)),
            "test_images": int(len(self.y_test)),
            "classes": [
                {
                    "label": i,
                    "name": name,
                    "train": int(np.sum(self.y_train == i)),
                    "test": int(np.sum(self.y_test == i)),
                }
                for i, name in enumerate(self.class_names)
            ],
            "skipped_files": self.skipped,
        }


@dataclass
class Selection:
    """Which source images become the prepared splits (indices into the train pool and into
    the test pool, which are the same pool for sources without their own split)."""

    train: np.ndarray
    y_train: np.ndarray
    test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]


# --- which images, in which split -----------------------------------------------------------


def select_classes(
    y: np.ndarray, wanted: list[int | str] | None, label_values: list
) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the wanted classes' images, their labels renumbered 0..K-1 in the order given)."""
    wanted = list(label_values) if wanted is None else wanted
    lookup = {str(v) for v in label_values}
    absent = [w for w in wanted if str(w) not in lookup]
    if absent:
        raise DataError(
            f"data.classes {absent} not present in the data; it has {[v for v in label_values]}. "
            "Fix data.classes in params.yaml (or set it to null for all classes)"
        )
    # Labels are ints (IDX, npz) or folder names; compare them as text so both work.
    remap = {str(w): i for i, w in enumerate(wanted)}
    y_text = np.asarray(y).astype(str)
    keep = np.flatnonzero(np.isin(y_text, list(remap)))
    return keep, np.array([remap[v] for v in y_text[keep]], dtype=np.int64)


def held_out_count(n: int, test_fraction: float) -> int:
    """Images of a class held out for testing: its share, at least one and never all."""
    if n < 2:
        return 0
    return min(max(int(round(n * test_fraction)), 1), n - 1)


def stratified_split(y: np.ndarray, test_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    train, test = [], []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_test = held_out_count(len(idx), test_fraction)
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def cap_per_class(y: np.ndarray, per_class: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices keeping at most per_class images of each class (a random, seeded subset)."""
    if per_class is None:
        return np.arange(len(y))
    keep = [rng.permutation(np.flatnonzero(y == label))[:per_class] for label in np.unique(y)]
    return np.sort(np.concatenate(keep)) if keep else np.arange(0)


def select(cfg: DataConfig, labels: SourceLabels, seed: int) -> Selection:
    """The prepared splits as indices into the source, from its labels alone."""
    rng = np.random.default_rng(seed)
    if labels.test is None:
        pool, y = select_classes(labels.train, cfg.classes, labels.values)
        train, test = stratified_split(y, cfg.test_fraction, rng)
        parts = [(pool[train], y[train]), (pool[test], y[test])]
    else:
        parts = [select_classes(pool, cfg.classes, labels.values) for pool in (labels.train, labels.test)]
    (train, y_train), (test, y_test) = [(idx[keep], y[keep]) for idx, y in parts
                                        for keep in [cap_per_class(y, cfg.per_class, rng)]]
    position = {str(v): i for i, v in enumerate(labels.values)}
    names = [labels.names[position[str(w)]] for w in (labels.values if cfg.classes is None else cfg.classes)]
    return Selection(train, y_train, test, y_test, names)


def check_classes(selection: Selection, labels: SourceLabels) -> None:
    """Every class has a training and a test image: the judge, the evaluation's per-class scores
    and a conditional generator all need both."""
    for label, name in enumerate(selection.class_names):
        train, test = int(np.sum(selection.y_train == label)), int(np.sum(selection.y_test == label))
        if train and test:
            continue
        where = Path(labels.location) / name if labels.kind == "folder" else f"{labels.location} (class {name})"
        raise DataError(
            f"{where}: class {name!r} has {train + test} usable image(s) ({train} train, {test} test); "
            "each class needs at least 2, one for each split: add images, or leave it out of data.classes")


# --- the stage ------------------------------------------------------------------------------


def prepare(cfg: DataConfig, seed: int) -> Dataset:
    """Read the configured source and return the prepared train/test split."""
    images = source_images(source_labels(cfg), cfg)
    labels, skipped = images.labels, images.skipped
    report_skipped(skipped)
    selection = select(cfg, labels, seed)
    check_classes(selection, labels)
    return Dataset(
        x_train=fit_size(images.train[selection.train], cfg.image_size), y_train=selection.y_train,
        x_test=fit_size(images.test[selection.test], cfg.image_size), y_test=selection.y_test,
        class_names=selection.class_names, source=labels.location, source_sha256=labels.sha256,
        skipped=skipped,
    )


def report_skipped(skipped: list[str]) -> None:
    for line in skipped[:SHOWN_SKIPS]:
        print(f"skipping {line}", file=sys.stderr)
    if len(skipped) > SHOWN_SKIPS:
        print(f"... and {len(skipped) - SHOWN_SKIPS} more skipped file(s): dataset.json lists them all",
              file=sys.stderr)


# --- shaping ---------------------------------------------------------------------------------


def fit_size(x: np.ndarray, size: int) -> np.ndarray:
    """Pad 28 -> 32 with the background (the study's 32x32 from 28x28); resize other sizes."""
    h, w = x.shape[1:3]
    if (h, w) == (size, size):
        return x
    if h == w and size > h and size - h <= 4:
        before = (size - h) // 2
        return np.pad(x, ((0, 0), (before, size - h - before), (before, size - w - before), (0, 0)))
    out = [
        np.asarray(Image.fromarray(img[..., 0]).resize((size, size), Image.Resampling.LANCZOS))
        for img in x
    ]
    return np.stack(out)[..., None] if out else np.zeros((0, size, size, 1), np.uint8)


# --- the prepared file -----------------------------------------------------------------------


def save_prepared(data: Dataset, array_file: Path, facts_file: Path) -> dict:
    """Write the arrays and their facts; both are written whole under temporary names first and
    then renamed over the last good ones, so a failure (or Ctrl-C) never leaves a half-written
    file, nor new arrays beside the old facts."""
    # A failure or Ctrl-C inside: the last good pair stays, and nothing beside it.
    with replaced(array_file) as tmp, replaced(facts_file) as facts_tmp:
        np.savez(tmp, x_train=data.x_train, y_train=data.y_train, x_test=data.x_test,
                 y_test=data.y_test, class_names=np.array(data.class_names))
        facts = data.facts() | {"dataset_sha256": sha256_files([tmp])}
        facts_tmp.write_text(json_text(facts))
    return facts


def load_prepared(array_file: Path) -> Dataset:
    if not array_file.is_file():
        raise DataError(f"{array_file} does not exist; run the prepare stage first (dvc repro prepare)")
    arrays = read_npz_arrays(array_file, ["x_train", "y_train", "x_test", "y_test", "class_names"])
    return Dataset(
        x_train=arrays["x_train"], y_train=arrays["y_train"], x_test=arrays["x_test"],
        y_test=arrays["y_test"], class_names=[str(n) for n in arrays["class_names"]],
        source=str(array_file), source_sha256=sha256_files([array_file]),
    )


def to_unit_range(x: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] -> float32 [-1, 1], the range of the generators' tanh."""
    return (x.astype(np.float32) - 127.5) / 127.5
