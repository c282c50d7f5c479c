"""What every data source reader shares: the error a bad source raises, what a source looks like
before its images are decoded, and the file errors that mean "damaged"."""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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
