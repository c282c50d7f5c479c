"""Keras files whose bytes depend on the model only (ganlab.model_files)."""

from __future__ import annotations

import json
import zipfile

import keras
import numpy as np

from ganlab.model_files import FIXED_TIME, save_model


def small_model(seed: int) -> keras.Model:
    keras.backend.clear_session()  # layer names restart, as in a fresh process
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4), keras.layers.BatchNormalization(),
                              keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_the_same_model_built_twice_saves_to_the_same_bytes(tmp_path):
    # Two builds are two sets of Python objects: plain model.save() numbers their shared dtype
    # policy by id(), so the files differed (and carry their save times).
    save_model(small_model(0), tmp_path / "a.keras")
    save_model(small_model(0), tmp_path / "b.keras")
    assert (tmp_path / "a.keras").read_bytes() == (tmp_path / "b.keras").read_bytes()
    save_model(small_model(1), tmp_path / "c.keras")  # other weights: another file
    assert (tmp_path / "c.keras").read_bytes() != (tmp_path / "a.keras").read_bytes()


def test_the_file_carries_no_time_and_loads_back(tmp_path):
    model = small_model(0)
    save_model(model, tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert {info.date_time for info in archive.infolist()} == {FIXED_TIME}
        assert "date_saved" not in json.loads(archive.read("metadata.json"))
    loaded = keras.models.load_model(tmp_path / "m.keras")
    x = np.random.default_rng(0).standard_normal((3, 6)).astype("float32")
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]  # no temporary files left


def test_the_fused_batchnorm_is_saved_as_keras_own(tmp_path):
    # The project's layer would otherwise be written under its module, and the file would load
    # only where ganlab is importable.
    from ganlab.fused_norm import BatchNormalization

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4), BatchNormalization()])
    save_model(model, tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
    norm = config["config"]["layers"][-1]
    assert (norm["module"], norm["class_name"], norm["registered_name"]) == ("keras.layers", "BatchNormalization", None)
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.layers[-1]) is keras.layers.BatchNormalization
    x = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    np.testing.assert_array_equal(loaded(x, training=False), model(x, training=False))
