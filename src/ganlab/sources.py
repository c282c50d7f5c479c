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
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

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
# What a damaged gzip, zip (.npz) or array file raises while it is read.
READ_ERRORS = (OSError, EOFError, zlib.error, zipfile.BadZipFile, ValueError, KeyError)


class DataError(ValueError):
    """Data that cannot be used; the message says what is wrong and how to fix it."""


@dataclass
class SourceLabels:
    """A source as seen before any image is decoded: its labels, the bytes' digest, and where
    its images are (files, or arrays still to be read)."""

    kind: str
    location: str  # for people: the path read
    sha256: str  # of the source's bytes: changes whenever an image or a label does
    train: np.ndarray  # label values (ints, or class-folder names) of the train pool
    test: np.ndarray | None  # of the own test split; None: split train by data.test_fraction
    values: list  # every label value, in class order
    names: list[str]  # the class name of each value
    files: list[Path] = field(default_factory=list)  # folder sources: one image file per label
    images: np.ndarray | None = None  # npz sources: read with the labels (one file, checked whole)
    skipped: list[str] = field(default_factory=list)


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


# --- a folder of class folders -----------------------------------------------------------------


def _is_hidden(name: str) -> bool:
    # .DS_Store, macOS's ._x.png resource forks, .git, .ipynb_checkpoints: never images of a class
    return name.startswith(".")


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _walk_images(class_dir: Path, root: Path, skipped: list[str]) -> list[Path]:
    """Image files under a class folder, nested folders included, in a fixed order. Hidden
    entries, other files, empty files and links that lead nowhere (or in a loop) are skipped,
    and so are folder links into the data folder outside this class (another class's images)."""
    images: list[Path] = []
    seen_dirs: set[str] = set()
    real_class, real_root = os.path.realpath(class_dir), os.path.realpath(root)
    for folder, dirnames, filenames in os.walk(class_dir, followlinks=True):
        real = os.path.realpath(folder)
        # A link back up the tree (to this class's folder or above it): walking on would never
        # end, or would take in every class's images as this one's.
        if real in seen_dirs or (folder != str(class_dir) and _inside(real_class, real)):
            skipped.append(f"{folder}: a folder link in a loop; left out")
            dirnames.clear()
            continue
        if _inside(real, real_root) and not _inside(real, real_class):
            skipped.append(f"{folder}: a folder link into another class's folder; left out")
            dirnames.clear()
            continue
        seen_dirs.add(real)
        for name in sorted(dirnames):
            if _is_hidden(name):
                skipped.append(f"{Path(folder) / name}: hidden folder; left out")
        dirnames[:] = sorted(d for d in dirnames if not _is_hidden(d))
        for name in sorted(filenames):
            file = Path(folder) / name
            reason = None
            if _is_hidden(name):
                reason = "hidden file"
            elif file.suffix.lower() not in IMAGE_SUFFIXES:
                reason = f"not an image file (images end in {', '.join(sorted(IMAGE_SUFFIXES))})"
            else:
                try:
                    if file.stat().st_size == 0:
                        reason = "empty file (0 bytes)"
                except OSError as exc:  # a dangling link, a link loop
                    reason = f"cannot be opened ({exc.strerror or exc})"
            if reason:
                skipped.append(f"{file}: {reason}; left out")
            else:
                images.append(file)
    return images


def folder_labels(root: Path) -> SourceLabels:
    """One sub-folder per class (its name is the class); images in any nested folder below it."""
    if not root.is_dir():
        raise DataError(f"data.path {root} is not a folder; point it at a folder of class folders")
    skipped: list[str] = []
    class_dirs = []
    for entry in sorted(root.iterdir()):
        if _is_hidden(entry.name):
            skipped.append(f"{entry}: hidden; left out")
        elif entry.is_dir():
            class_dirs.append(entry)
        else:
            skipped.append(f"{entry}: not in a class folder; left out")
    if not class_dirs:
        raise DataError(f"{root} has no class sub-folders; put each class's images in its own folder")
    files, labels = [], []
    digest = hashlib.sha256()
    for class_dir in class_dirs:
        for file in _walk_images(class_dir, root, skipped):
            try:
                payload = file.read_bytes()
            except OSError as exc:
                skipped.append(f"{file}: cannot be read ({exc.strerror or exc}); left out")
                continue
            digest.update(str(file.relative_to(root)).encode() + b"\0" + payload + b"\0")
            files.append(file)
            labels.append(class_dir.name)
    names = [d.name for d in class_dirs]
    return SourceLabels(kind="folder", location=str(root), sha256=digest.hexdigest(),
                        train=np.array(labels, dtype=object).astype(str), test=None, values=names,
                        names=names, files=files, skipped=skipped)


def read_image(path: Path, size: int) -> np.ndarray:
    """One image file -> uint8 (size, size) grey. Transparent pixels become the background
    (black, as in Fashion-MNIST); 16-bit images keep their range (scaled to 8 bits)."""
    with Image.open(path) as img:
        img.load()
        if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
            values = np.asarray(img, dtype=np.float64)
            # 16-bit PNGs open as I;16 or I: scale 0..65535 to 0..255 rather than clip at 255.
            if img.mode.startswith("I;16") or values.max() > 255:
                values = values / 257.0
            grey = Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")
        elif img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
            grey = Image.alpha_composite(background, rgba).convert("L")
        else:
            grey = img.convert("L")
        if grey.size != (size, size):
            grey = grey.resize((size, size), Image.Resampling.LANCZOS)
        return np.asarray(grey, dtype=np.uint8)


def folder_images(labels: SourceLabels, size: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode every listed file: (images (N, S, S, 1), the index of each in labels.files, skipped)."""
    images, kept, skipped = [], [], []
    for i, file in enumerate(labels.files):
        try:
            images.append(read_image(file, size))
        except Exception as exc:  # PIL raises OSError, ValueError, SyntaxError, DecompressionBombError...
            skipped.append(f"{file}: not a readable image ({type(exc).__name__}: {exc}); left out")
            continue
        kept.append(i)
    if not images:
        raise DataError(f"{labels.location}: no readable images ({', '.join(sorted(IMAGE_SUFFIXES))}) "
                        "in its class folders")
    return np.stack(images)[..., None], np.asarray(kept, dtype=np.int64), skipped


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
