"""Keras model files that are byte-identical for identical models.

A `.keras` file is a zip whose weights entry carries the time it was written, whose
metadata.json carries `date_saved`, and whose config.json numbers shared objects (the layers'
dtype policy) by their Python id(), an address that differs from process to process: saved twice,
the same model gives two hashes, and DVC reruns every stage that reads the file (a forced judge
rerun retrained all six variants). Here all three are fixed, so the hash changes only when the
model does.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import keras

from ganlab.atomic import replaced
from ganlab.fused_norm import with_keras_layers

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the zip format's earliest date, as Keras uses for its other entries


def _renumber_shared_objects(value, numbers: dict[int, int]):
    """The config with every `shared_object_id` replaced by its order of first appearance: the
    same objects stay shared (Keras matches equal ids on load), the numbers no longer vary."""
    if isinstance(value, dict):
        out = {}
        for key, inner in value.items():
            if key == "shared_object_id" and isinstance(inner, int):
                out[key] = numbers.setdefault(inner, len(numbers) + 1)
            else:
                out[key] = _renumber_shared_objects(inner, numbers)
        return out
    if isinstance(value, list):
        return [_renumber_shared_objects(inner, numbers) for inner in value]
    return value


def save_model(model: keras.Model, path: Path) -> None:
    """model.save(path), then the zip rewritten without timestamps and with Keras' own layer
    classes; replaced atomically."""
    path = Path(path)
    raw = path.with_name(path.stem + ".unsorted.keras")
    with_keras_layers(model).save(raw)
    try:
        with replaced(path) as tmp, zipfile.ZipFile(raw) as source, zipfile.ZipFile(tmp, "w") as target:
            for info in sorted(source.infolist(), key=lambda i: i.filename):
                payload = source.read(info)
                if info.filename == "metadata.json":
                    metadata = json.loads(payload)
                    metadata.pop("date_saved", None)
                    payload = json.dumps(metadata, sort_keys=True).encode()
                elif info.filename == "config.json":
                    payload = json.dumps(_renumber_shared_objects(json.loads(payload), {})).encode()
                entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
                entry.compress_type = info.compress_type
                entry.external_attr = 0o644 << 16
                target.writestr(entry, payload)
    finally:
        raw.unlink(missing_ok=True)
