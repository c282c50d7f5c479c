"""A trained run's files have one home (ganlab.trained_run), which dvc.yaml's outputs agree with,
and its generator loads as one callable, whoever reads it."""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest

from conftest import REPO, read_yaml
from ganlab.config import load_config
from ganlab.trained_run import Generator, TrainedRun, classes_in_turn


def stage_paths(entries: list, params: dict, variant: str, seed: int) -> set[str]:
    """A dvc.yaml stage's output paths with ${paths.*} and ${item.*} filled in."""
    values = {**{f"paths.{k}": v for k, v in params["paths"].items()}, "item.variant": variant, "item.seed": seed}
    names = [next(iter(e)) if isinstance(e, dict) else e for e in entries]
    return {re.sub(r"\$\{([^}]+)\}", lambda m: str(values[m.group(1)]), name) for name in names}


def test_dvc_yaml_names_the_files_a_trained_run_writes():
    # A file renamed in one of the two places (dvc.yaml or trained_run.py) fails here: DVC would
    # then track a path nothing writes, and the real output would go untracked.
    stages, params = read_yaml(REPO / "dvc.yaml")["stages"], read_yaml(REPO / "params.yaml")
    cfg = load_config(REPO / "params.yaml")
    run = cfg.trained_run("acgan", 2)

    def relative(*paths):
        return {str(p.relative_to(cfg.root)) for p in paths}

    train, score = stages["train"], stages["score"]
    assert stage_paths(train["outs"], params, "acgan", 2) == relative(run.model_dir)
    assert stage_paths(train["metrics"], params, "acgan", 2) == relative(run.summary_file)
    assert stage_paths(train["plots"], params, "acgan", 2) == relative(run.history_file, run.samples_dir)
    assert stage_paths(score["outs"], params, "acgan", 2) == relative(run.score_file, run.nearest_pairs_file)
    # The checkpoints are deliberately no DVC output (dvc.yaml says why), but live under paths.checkpoints.
    assert run.checkpoint_dir == cfg.path(params["paths"]["checkpoints"]) / "acgan" / "seed2"


def test_every_file_of_a_run_lies_in_its_own_folders(tmp_path):
    run = TrainedRun.under("dcgan", 1, tmp_path / "m", tmp_path / "t", tmp_path / "c", tmp_path / "s")
    assert run.name == "dcgan-seed1"
    for path in (run.generator_file, run.raw_generator_file, run.best_generator_file, run.model_card_file):
        assert path.parent == tmp_path / "m" / "dcgan" / "seed1"
    assert {run.history_file.parent, run.summary_file.parent, run.samples_dir.parent} == {tmp_path / "t" / "dcgan" / "seed1"}
    assert run.grid_file(3).name == "epoch_003.png" and run.grid_file(3).parent == run.samples_dir
    assert run.nearest_pairs_file == tmp_path / "s" / "dcgan" / "seed1_nearest.png"
    other = TrainedRun.under("dcgan", 2, tmp_path / "m", tmp_path / "t", tmp_path / "c", tmp_path / "s")
    assert not {run.model_dir, run.training_dir, run.checkpoint_dir} & {other.model_dir, other.training_dir,
                                                                       other.checkpoint_dir}


def conditional_model(noise_dim: int, num_classes: int) -> keras.Model:
    noise, label = keras.Input((noise_dim,)), keras.Input((num_classes,))
    # An image whose pixels hold the noise's sum and the one-hot label's index: what it was asked for.
    total = keras.layers.Lambda(lambda z: keras.ops.sum(z, axis=1, keepdims=True))(noise)
    index = keras.layers.Lambda(lambda y: keras.ops.argmax(y, axis=1)[:, None])(label)
    out = keras.layers.Concatenate()([total, keras.ops.cast(index, "float32")])
    return keras.Model([noise, label], keras.layers.Reshape((1, 2, 1))(out))


def test_a_conditional_generator_gets_its_labels_one_hot_in_batches():
    generator = Generator(conditional_model(3, 4), 3, ["a", "b", "c", "d"])
    noise = np.random.default_rng(0).standard_normal((1203, 3)).astype(np.float32)
    labels = generator.classes_in_turn(1203)
    assert list(labels[:6]) == [0, 1, 2, 3, 0, 1] and np.array_equal(labels, classes_in_turn(1203, 4))
    images = generator(noise, labels)  # 500, 500 and 203 a call
    assert images.shape == (1203, 1, 2, 1)
    assert np.array_equal(images[:, 0, 1, 0], labels)  # every image made for its own label
    assert np.allclose(images[:, 0, 0, 0], noise.sum(axis=1), atol=1e-5)
    with pytest.raises(ValueError, match="given labels"):
        generator(noise)


def test_an_unconditional_generator_takes_no_labels():
    noise = keras.Input((3,))
    model = keras.Model(noise, keras.layers.Reshape((1, 3, 1))(noise))
    generator = Generator.from_card(model, {"noise_dim": 3, "conditional": False, "class_names": ["x", "y"]})
    assert generator.class_names is None and generator.classes_in_turn(5) is None
    assert generator.image_bytes() == 3 * 4
    z = np.ones((2, 3), np.float32)
    assert np.array_equal(generator(z), z.reshape(2, 1, 3, 1))
