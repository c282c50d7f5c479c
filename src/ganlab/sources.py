"""Reading a data source: Fashion-MNIST or MNIST (IDX files, from the first place that has
them), a folder of class folders of images, or an .npz with arrays `x` and `y`.

In two steps: the source's labels and a digest of its bytes (cheap: what the check stage needs
to plan the splits and to tell DVC when the source changed), then the images. A damaged file is
refused with a DataError naming its path; entries that are no images of a class (hidden files,
other files, empty files, links in a loop) are skipped with their path named.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganlab.config import DataConfig
from ganlab.image_folders import folder_images, folder_labels
from ganlab.source_types import READ_ERRORS, DataError, SourceLabels

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
# --- files ---------------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    """A file's bytes, gunzipped when it ends in .gz; a damaged file is a DataError naming it."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except READ_ERRORS as exc:
        raise DataError(f"{path}: cannot be read ({type(exc).__name__}: {exc}); replace it with an intact "
                        "copy (re-download or re-install it)") from None


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not): the format of the MNIST family's files."""
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    if ndim < 1 or len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: its IDX header is cut short (it promises {ndim} dimensions)")
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"{path}: holds {body.size} bytes, its header promises {tuple(int(d) for d in dims)}")
    return body.reshape(dims)


def sha256_files(files: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for f in files:
        try:
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as exc:
            raise DataError(f"{f}: cannot be read ({exc.strerror or exc})") from None
    return digest.hexdigest()


# --- IDX sources (Fashion-MNIST, MNIST) ------------------------------------------------------


def _keras_cache() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "datasets"


def _idx_folders(source: str, path: str | None) -> list[Path]:
    if path:
        return [Path(path)]
    if source == "fashion_mnist":
        return [_keras_cache() / "fashion-mnist", DEBIAN_FASHION_MNIST]
    return [_keras_cache()]


def _idx_files(folder: Path) -> dict[str, Path] | None:
    found = {}
    for key, name in IDX_FILES.items():
        for candidate in (folder / name, folder / name.removesuffix(".gz")):
            if candidate.is_file():
                found[key] = candidate
                break
    return found if len(found) == len(IDX_FILES) else None


def _mnist_npz(folder: Path) -> Path | None:
    npz = folder if folder.suffix == ".npz" else folder / "mnist.npz"
    return npz if npz.is_file() else None


def _download_with_keras(source: str) -> None:
    print(f"{source}: not found locally; downloading with Keras ...", file=sys.stderr)
    import keras  # imported only here: preparing data otherwise never needs TensorFlow

    loader = keras.datasets.fashion_mnist if source == "fashion_mnist" else keras.datasets.mnist
    loader.load_data()


def locate_idx_source(source: str, path: str | None, allow_download: bool = True) -> dict[str, Path] | Path:
    """The four IDX files (or MNIST's mnist.npz) from data.path, Keras's cache, Debian's
    package, or a download."""
    tried: list[str] = []
    for attempt in range(2):
        for folder in _idx_folders(source, path):
            files = _idx_files(folder) if folder.is_dir() else None
            if files is not None:
                return files
            if source == "mnist" and (npz := _mnist_npz(folder)) is not None:
                return npz
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


def read_npz_arrays(path: Path, keys: Iterable[str]) -> dict[str, np.ndarray]:
    """Arrays of an .npz file; a damaged file or a missing array is a DataError naming the path."""
    keys = list(keys)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DataError(
                    f"{path}: missing array(s) {', '.join(missing)} (has {', '.join(npz.files) or 'none'}); "
                    f"save it with np.savez(path, {', '.join(f'{k}=...' for k in keys)})")
            return {k: npz[k] for k in keys}
    except DataError:
        raise
    except READ_ERRORS as exc:
        raise DataError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc}); "
                        "write it again with np.savez") from None


def idx_labels(source: str, path: str | None) -> SourceLabels:
    found = locate_idx_source(source, path)
    names = FASHION_MNIST_CLASSES if source == "fashion_mnist" else [str(d) for d in range(10)]
    if isinstance(found, Path):  # MNIST as Keras caches it
        arrays = read_npz_arrays(found, ["y_train", "y_test"])
        y_train, y_test, files, location = arrays["y_train"], arrays["y_test"], [found], found
    else:
        y_train, y_test = read_idx(found["y_train"]), read_idx(found["y_test"])
        files, location = list(found.values()), found["x_train"].parent
    return SourceLabels(kind=source, location=str(location), sha256=sha256_files(files),
                        train=y_train.astype(np.int64), test=y_test.astype(np.int64),
                        values=list(range(len(names))), names=names)


def idx_images(source: str, path: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(train images, test images), uint8 (N, H, W, 1), checked against their label files."""
    found = locate_idx_source(source, path, allow_download=False)
    if isinstance(found, Path):
        arrays = read_npz_arrays(found, IDX_FILES)
        pairs = [(found, arrays["x_train"], arrays["y_train"]), (found, arrays["x_test"], arrays["y_test"])]
    else:
        pairs = [(found[x], read_idx(found[x]), read_idx(found[y])) for x, y in (("x_train", "y_train"),
                                                                                 ("x_test", "y_test"))]
    out = []
    for where, x, y in pairs:
        if x.ndim != 3 or len(x) != len(y):
            raise DataError(f"{where}: {x.shape} images do not fit {len(y)} labels; the IDX files do not "
                            "belong together: replace them with one intact set")
        out.append(x[..., None])
    return out[0], out[1]


# --- an .npz file ----------------------------------------------------------------------------


def npz_labels(path: Path) -> SourceLabels:
    """An .npz source: arrays x (images) and y (integer labels), optionally class_names."""
    if not path.is_file():
        raise DataError(f"data.path {path} does not exist; point it at an .npz file with arrays x and y")
    arrays = read_npz_arrays(path, ["x", "y"])
    x, y = arrays["x"], arrays["y"]
    if len(x) != len(y):
        raise DataError(f"{path}: x has {len(x)} images but y has {len(y)} labels; they must match")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{path}: y must be a 1-D array of integer labels, got {y.dtype} {y.shape}")
    values = sorted(int(v) for v in np.unique(y))
    names = [str(v) for v in values]
    with np.load(path, allow_pickle=False) as npz:
        has_names = "class_names" in npz.files
    if has_names:
        given = [str(n) for n in read_npz_arrays(path, ["class_names"])["class_names"]]
        names = given if len(given) == len(values) else names
    return SourceLabels(kind="npz", location=str(path), sha256=sha256_files([path]), train=y.astype(np.int64),
                        test=None, values=values, names=names, images=to_grey_uint8(x, str(path)))


def to_grey_uint8(x: np.ndarray, source: str) -> np.ndarray:
    """(N,H,W), (N,H,W,1|3|4), uint8 or float in [0,1], [-1,1] or [0,255] -> uint8 (N,H,W,1)."""
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
        raise DataError(f"{source}: images must be (N,H,W) or (N,H,W,C) with C in 1,3,4; got {x.shape}")
    x = x[..., :3]
    if x.dtype != np.uint8:
        x = x.astype(np.float64)
        bad = int(np.count_nonzero(~np.isfinite(x)))
        if bad:  # NaN would turn into black pixels, silently
            images = int(np.count_nonzero(~np.isfinite(x).reshape(len(x), -1).all(axis=1)))
            raise DataError(f"{source}: {bad} pixel values in {images} images are NaN or infinite; "
                            "replace them (or drop those images) before training on the file")
        lo, hi = float(x.min()), float(x.max())
        if lo >= -1 and hi <= 1:
            x = (x + 1) * 127.5 if lo < 0 else x * 255
        x = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    if x.shape[-1] == 3:  # ITU-R 601 luma, as PIL's convert("L")
        x = np.rint(x @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[..., None]
    return x


def source_labels(cfg: DataConfig) -> SourceLabels:
    """The configured source's labels and digest, without decoding its images."""
    if cfg.source in ("fashion_mnist", "mnist"):
        return idx_labels(cfg.source, cfg.path)
    if cfg.source == "folder":
        return folder_labels(Path(cfg.path))
    return npz_labels(Path(cfg.path))


@dataclass
class SourceImages:
    """A source's images, pool by pool as its labels are (the labels pruned of files that did
    not decode), and the files left out: what every source reads into."""

    labels: SourceLabels
    train: np.ndarray  # uint8 (N, H, W, 1), one image per labels.train entry
    test: np.ndarray  # one per labels.test entry; the train pool again when the source has no split
    skipped: list[str]


def source_images(labels: SourceLabels, cfg: DataConfig) -> SourceImages:
    """Decode the images of the source whose labels were read (the one contract of every source)."""
    skipped = list(labels.skipped)
    if labels.kind in ("fashion_mnist", "mnist"):
        train, test = idx_images(labels.kind, cfg.path)
        return SourceImages(labels, train, test, skipped)
    if labels.kind == "folder":
        images, kept, unreadable = folder_images(labels, cfg.image_size)
        labels.train, labels.files = labels.train[kept], [labels.files[i] for i in kept]
        return SourceImages(labels, images, images, skipped + unreadable)
    return SourceImages(labels, labels.images, labels.images, skipped)
