"""Data sources -> one prepared array file.

Sources: Fashion-MNIST or MNIST (IDX files, from the first place that has them), a folder of
class folders of images, or an .npz with arrays `x` and `y`. Whatever the source, the result is
uint8 images of shape (N, S, S, 1), labels 0..K-1 in the order of `data.classes`, a train and a
test split, and the class names. No TensorFlow here: preparing data should not pay for it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ganlab.config import DataConfig

FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


class DataError(ValueError):
    """Data that cannot be used; the message says what is wrong and how to fix it."""


@dataclass
class Dataset:
    x_train: np.ndarray  # uint8 (N, S, S, 1)
    y_train: np.ndarray  # int64 (N,), 0..K-1
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: str  # what was read, for people: a path or a description
    source_sha256: str
    skipped: list[str] = field(default_factory=list)  # unreadable files, with the reason

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


# --- reading sources -------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not): the format of the MNIST family's files."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"{path}: holds {body.size} bytes, its header promises {tuple(dims)}")
    return body.reshape(dims)


def _keras_cache() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "datasets"


def _idx_folders(source: str, path: str | None) -> list[Path]:
    if path:
        return [Path(path)]
    if source == "fashion_mnist":
        return [_keras_cache() / "fashion-mnist", DEBIAN_FASHION_MNIST]
    return [_keras_cache()]


def _read_idx_folder(folder: Path) -> dict[str, np.ndarray] | None:
    found = {}
    for key, name in IDX_FILES.items():
        for candidate in (folder / name, folder / name.removesuffix(".gz")):
            if candidate.is_file():
                found[key] = candidate
                break
    if len(found) < len(IDX_FILES):
        return None
    return {key: read_idx(p) for key, p in found.items()} | {"_files": list(found.values())}


def _read_mnist_npz(path: Path) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        return None
    with np.load(path) as npz:
        return {k: npz[k] for k in IDX_FILES} | {"_files": [path]}


def _download_with_keras(source: str) -> None:
    print(f"{source}: not found locally; downloading with Keras ...", file=sys.stderr)
    import keras  # imported only here: preparing data otherwise never needs TensorFlow

    loader = keras.datasets.fashion_mnist if source == "fashion_mnist" else keras.datasets.mnist
    loader.load_data()


def load_idx_source(source: str, path: str | None, allow_download: bool = True) -> Dataset:
    """Fashion-MNIST or MNIST from data.path, Keras's cache, Debian's package, or a download."""
    tried: list[str] = []
    for attempt in range(2):
        for folder in _idx_folders(source, path):
            arrays = _read_idx_folder(folder) if folder.is_dir() else None
            if arrays is None and source == "mnist":
                npz = folder if folder.suffix == ".npz" else folder / "mnist.npz"
                arrays = _read_mnist_npz(npz)
            if arrays is not None:
                files = arrays.pop("_files")
                names = FASHION_MNIST_CLASSES if source == "fashion_mnist" else [str(d) for d in range(10)]
                return Dataset(
                    x_train=arrays["x_train"], y_train=arrays["y_train"].astype(np.int64),
                    x_test=arrays["x_test"], y_test=arrays["y_test"].astype(np.int64),
                    class_names=names, source=str(folder), source_sha256=_sha256_files(files),
                )
            tried.append(str(folder))
        if path or attempt or not allow_download:
            break
        try:
            _download_with_keras(source)
        except Exception as exc:  # offline, proxy, disk: the user needs the options, not a trace
            tried.append(f"a Keras download ({type(exc).__name__}: {exc})")
            break
    hint = (
        "set data.path to a folder holding the four IDX .gz files"
        + (" (or mnist.npz)" if source == "mnist" else "")
        + (", install the Debian package dataset-fashion-mnist" if source == "fashion_mnist" else "")
        + ", or go online once so Keras can download and cache them"
    )
    raise DataError(f"{source} not found; looked in: {', '.join(dict.fromkeys(tried))}. To fix: {hint}")


def load_folder_source(root: Path, image_size: int) -> tuple[np.ndarray, np.ndarray, list[str], list[str], str]:
    """One sub-folder per class; images of any size and mode become S x S grey."""
    if not root.is_dir():
        raise DataError(f"data.path {root} is not a folder; point it at a folder of class folders")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DataError(f"{root} has no class sub-folders; put each class's images in its own folder")
    images, labels, names, skipped = [], [], [], []
    digest = hashlib.sha256()
    for label, class_dir in enumerate(class_dirs):
        names.append(class_dir.name)
        for file in sorted(p for p in class_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
            payload = file.read_bytes()
            try:
                with Image.open(file) as img:
                    grey = img.convert("L").resize((image_size, image_size), Image.Resampling.LANCZOS)
            except (OSError, UnidentifiedImageError, ValueError) as exc:
                skipped.append(f"{file}: {exc}")
                print(f"skipping unreadable image {file}: {exc}", file=sys.stderr)
                continue
            digest.update(str(file.relative_to(root)).encode() + b"\0" + payload)
            images.append(np.asarray(grey, dtype=np.uint8))
            labels.append(label)
    if not images:
        raise DataError(f"{root}: no readable images ({', '.join(sorted(IMAGE_SUFFIXES))}) in its class folders")
    return np.stack(images)[..., None], np.asarray(labels, np.int64), names, skipped, digest.hexdigest()


def load_npz_source(path: Path) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    if not path.is_file():
        raise DataError(f"data.path {path} does not exist; point it at an .npz file with arrays x and y")
    try:
        npz = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from exc
    with npz:
        missing = [k for k in ("x", "y") if k not in npz.files]
        if missing:
            raise DataError(
                f"{path}: missing array(s) {', '.join(missing)} (has {', '.join(npz.files) or 'none'}); "
                "save it with np.savez(path, x=images, y=labels)"
            )
        x, y = npz["x"], npz["y"]
        names = [str(n) for n in npz["class_names"]] if "class_names" in npz.files else None
    if len(x) != len(y):
        raise DataError(f"{path}: x has {len(x)} images but y has {len(y)} labels; they must match")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{path}: y must be a 1-D array of integer labels, got {y.dtype} {y.shape}")
    labels = sorted(int(v) for v in np.unique(y))
    if names is None or len(names) != len(labels):
        names = [str(v) for v in labels]
    return x, y.astype(np.int64), names, _sha256_files([path])


def to_grey_uint8(x: np.ndarray, source: str) -> np.ndarray:
    """(N,H,W), (N,H,W,1|3|4), uint8 or float in [0,1], [-1,1] or [0,255] -> uint8 (N,H,W,1)."""
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
        raise DataError(f"{source}: images must be (N,H,W) or (N,H,W,C) with C in 1,3,4; got {x.shape}")
    x = x[..., :3]
    if x.dtype != np.uint8:
        x = x.astype(np.float64)
        lo, hi = float(x.min()), float(x.max())
        if lo >= -1 and hi <= 1:
            x = (x + 1) * 127.5 if lo < 0 else x * 255
        x = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    if x.shape[-1] == 3:  # ITU-R 601 luma, as PIL's convert("L")
        x = np.rint(x @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[..., None]
    return x


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
    return np.stack(out)[..., None]


def select_classes(
    x: np.ndarray, y: np.ndarray, names: list[str], wanted: list[int | str] | None, label_values: list
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Keep the wanted classes and renumber them 0..K-1 in the order given."""
    if wanted is None:
        wanted = list(label_values)
    lookup = {str(v): i for i, v in enumerate(label_values)}
    absent = [w for w in wanted if str(w) not in lookup]
    if absent:
        raise DataError(
            f"data.classes {absent} not present in the data; it has {[v for v in label_values]}. "
            "Fix data.classes in params.yaml (or set it to null for all classes)"
        )
    # Labels are ints (IDX, npz) or folder names; compare them as text so both work.
    remap = {str(w): i for i, w in enumerate(wanted)}
    y_text = np.asarray(y).astype(str)
    keep = np.isin(y_text, list(remap))
    y_new = np.array([remap[v] for v in y_text[keep]], dtype=np.int64)
    return x[keep], y_new, [names[lookup[str(w)]] for w in wanted]


def stratified_split(y: np.ndarray, test_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    train, test = [], []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(len(idx) * test_fraction)) if len(idx) > 1 else 0
        n_test = min(max(n_test, 1 if len(idx) > 1 else 0), len(idx) - 1)
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def cap_per_class(y: np.ndarray, per_class: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices keeping at most per_class images of each class (a random, seeded subset)."""
    if per_class is None:
        return np.arange(len(y))
    keep = [rng.permutation(np.flatnonzero(y == label))[:per_class] for label in np.unique(y)]
    return np.sort(np.concatenate(keep))


# --- the stage ------------------------------------------------------------------------------


def prepare(cfg: DataConfig, seed: int) -> Dataset:
    """Read the configured source and return the prepared train/test split."""
    rng = np.random.default_rng(seed)
    skipped: list[str] = []
    if cfg.source in ("fashion_mnist", "mnist"):
        raw = load_idx_source(cfg.source, cfg.path)
        label_values = list(range(len(raw.class_names)))
        splits = []
        for x, y in ((raw.x_train, raw.y_train), (raw.x_test, raw.y_test)):
            x, y, names = select_classes(x[..., None], y, raw.class_names, cfg.classes, label_values)
            splits.append((x, y))
        source, sha = raw.source, raw.source_sha256
    else:
        if cfg.source == "folder":
            x, y, all_names, skipped, sha = load_folder_source(Path(cfg.path), cfg.image_size)
            label_values: list = all_names
            y_values = np.array(all_names, dtype=object)[y]  # select by folder name
        else:
            x, y, all_names, sha = load_npz_source(Path(cfg.path))
            x = to_grey_uint8(x, cfg.path)
            label_values = sorted(int(v) for v in np.unique(y))
            y_values = y
        x, y, names = select_classes(x, y_values, all_names, cfg.classes, label_values)
        train_idx, test_idx = stratified_split(y, cfg.test_fraction, rng)
        splits = [(x[train_idx], y[train_idx]), (x[test_idx], y[test_idx])]
        source = str(cfg.path)
    if len(names) < 1 or len(splits[0][1]) == 0:
        raise DataError(f"{source}: no training images left after selecting classes {cfg.classes}")
    capped = []
    for x, y in splits:
        idx = cap_per_class(y, cfg.per_class, rng)
        capped.append((fit_size(x[idx], cfg.image_size), y[idx]))
    (x_train, y_train), (x_test, y_test) = capped
    return Dataset(x_train, y_train, x_test, y_test, names, source, sha, skipped)


def save_prepared(data: Dataset, array_file: Path, facts_file: Path) -> dict:
    """Write the arrays and their facts; written to a temporary name first, so a failure
    never leaves a half-written file where the last good one was."""
    array_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = array_file.with_name(array_file.stem + ".tmp.npz")
    np.savez(tmp, x_train=data.x_train, y_train=data.y_train, x_test=data.x_test,
             y_test=data.y_test, class_names=np.array(data.class_names))
    facts = data.facts() | {"dataset_sha256": _sha256_files([tmp])}
    tmp.replace(array_file)
    facts_file.write_text(json.dumps(facts, indent=2) + "\n")
    return facts


def load_prepared(array_file: Path) -> Dataset:
    if not array_file.is_file():
        raise DataError(f"{array_file} does not exist; run the prepare stage first (dvc repro prepare)")
    with np.load(array_file, allow_pickle=False) as npz:
        return Dataset(
            x_train=npz["x_train"], y_train=npz["y_train"], x_test=npz["x_test"],
            y_test=npz["y_test"], class_names=[str(n) for n in npz["class_names"]],
            source=str(array_file), source_sha256=_sha256_files([array_file]),
        )


def to_unit_range(x: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] -> float32 [-1, 1], the range of the generators' tanh."""
    return (x.astype(np.float32) - 127.5) / 127.5


def _sha256_files(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
