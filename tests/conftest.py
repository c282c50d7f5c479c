"""Shared fixtures: tiny generated data sets and a params dict like the project's own."""

from __future__ import annotations

import copy
import gzip
import os
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from ruamel.yaml import YAML

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]


def read_yaml(path: Path) -> dict:
    return YAML(typ="safe", pure=True).load(path.read_text())


def write_yaml(data: dict, path: Path) -> Path:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    with open(path, "w") as fh:
        yaml.dump(data, fh)
    return path


def data_settings(**changes):
    """The project's data settings with every class and image of the source kept (what a test of
    a source wants), changed by `changes`: the schema takes no setting as given."""
    from ganlab.config import DataConfig

    return DataConfig(**{**read_yaml(REPO / "params.yaml")["data"], "classes": None, "per_class": None, **changes})


@pytest.fixture(autouse=True)
def float32_policy_after_each_test():
    """A run in mixed precision (`precision: auto` on a CPU with native bfloat16) sets Keras' global
    dtype policy; the next test in the worker would build its layers in bfloat16."""
    yield
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.mixed_precision.set_global_policy("float32")


def config_with_variants(variants: dict):
    """The project's params.yaml with only these variants, as a Config: the schema takes no
    setting as given, so a test that cares only for a variant still states the rest."""
    from ganlab.config import config_from_dict

    return config_from_dict({**read_yaml(REPO / "params.yaml"), "variants": variants})


@pytest.fixture(scope="session")
def default_params() -> dict:
    return read_yaml(REPO / "params.yaml")


@pytest.fixture
def params(default_params) -> dict:
    """A fresh, mutable copy of the project's params.yaml."""
    return copy.deepcopy(default_params)


def blob_images(labels: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """uint8 (N, size, size) images whose bright square's position depends on the label, so
    classes differ visibly and a generator has something to learn."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, size=(len(labels), size, size), dtype=np.uint8)
    side = max(2, size // 3)
    for i, label in enumerate(labels):
        offset = (int(label) * side // 2) % (size - side)
        x[i, offset:offset + side, offset:offset + side] = 220
    return x


def write_idx(path: Path, array: np.ndarray) -> Path:
    """An IDX file as Yann LeCun's format defines it: magic 0x0000 08 <ndim>, big-endian dims."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())
    return path


@pytest.fixture
def idx_folder(tmp_path) -> Path:
    """A Fashion-MNIST-shaped folder: 10 classes, 28x28, 12 train and 3 test images a class."""
    folder = tmp_path / "idx"
    folder.mkdir()
    for split, per_class in (("train", 12), ("t10k", 3)):
        y = np.repeat(np.arange(10), per_class)
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", blob_images(y, 28))
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", y)
    return folder


@pytest.fixture
def npz_file(tmp_path) -> Path:
    """Three classes (labels 2, 5, 9) of 28x28 images, 40 each."""
    y = np.repeat(np.array([2, 5, 9]), 40)
    path = tmp_path / "own.npz"
    np.savez(path, x=blob_images(y, 28), y=y)
    return path


def tiny_params(params: dict, data_file: Path, epochs: int = 1, batch_size: int = 16) -> dict:
    """The project's params, shrunk to seconds: a small npz, a short run, a small grid."""
    params["data"].update(source="npz", path=str(data_file), classes=None, per_class=None)
    params["train"].update(epochs=epochs, batch_size=batch_size, grid_size=3, fid_every=0, fid_samples=40)
    params["judge"].update(epochs=2, batch_size=16)
    params["evaluate"].update(samples=40, kid_subsets=5, kid_subset_size=20)
    params["seeds"] = [0]  # one training seed (the default's three would triple every run); tests of several set them
    for variant in params["variants"].values():  # a variant's own budget would outlast `epochs`
        variant.pop("epochs", None)
        variant.pop("batch_size", None)
    return params


@pytest.fixture(autouse=True, scope="session")
def _no_stray_mlflow_store(tmp_path_factory):
    """A library call that falls back to MLflow's default store would create mlflow.db in the
    working directory (the project itself); point that fallback at a throwaway store."""
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'stray.db'}"
    yield
    if previous is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous
