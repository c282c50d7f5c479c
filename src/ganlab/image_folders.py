"""A data source that is a folder of class folders of images: its labels and digest (walking
the folders, with every skipped entry named), then its images as uint8 grey."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image

from ganlab.source_types import IMAGE_SUFFIXES, DataError, SourceLabels


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
