"""Training for real, on tiny data: a step moves the weights; a run leaves every output."""

from __future__ import annotations

import csv
import json

import keras
import numpy as np
import pytest

from conftest import tiny_params, write_yaml
from ganlab.config import config_from_dict, load_config
from ganlab.data import prepare, save_prepared
from ganlab.gans.build import build_gan
from ganlab.family_settings import DataSpec
from ganlab.training import fixed_noise, make_dataset


@pytest.fixture
def tiny_config(params, npz_file, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    cfg = load_config(write_yaml(tiny_params(params, npz_file, epochs=2), tmp_path / "params.yaml"))
    data = prepare(cfg.data, cfg.seed)
    save_prepared(data, cfg.prepared_dataset, cfg.prepared_facts)
    return cfg


def test_one_train_step_changes_both_networks(params, npz_file):
    cfg = config_from_dict(tiny_params(params, npz_file))
    data = prepare(cfg.data, cfg.seed)
    gan = build_gan(cfg.variant("dcgan"), DataSpec(32, 1, data.num_classes), noise_dim=100, seed=0)
    before = {w.path: np.array(w) for net in (gan.generator, gan.discriminator) for w in net.trainable_weights}

    dataset, _ = make_dataset(data, 16, seed=0, conditional=False, first_epoch=0, epochs=1)
    batch = next(iter(dataset))
    logs = gan.train_on_batch(batch, return_dict=True)

    assert set(logs) == {"g_loss", "d_loss", "d_acc_real", "d_acc_fake", "g_grad_norm", "d_saturation"}
    assert all(np.isfinite(v) for v in logs.values())
    for net in (gan.generator, gan.discriminator):
        for w in net.trainable_weights:
            if "kernel" in w.path or "gamma" in w.path:
                assert not np.allclose(before[w.path], np.array(w)), f"{w.path} did not move"


def test_fixed_noise_is_fixed():
    assert np.array_equal(fixed_noise(0, 4, 10), fixed_noise(0, 4, 10))
    assert not np.array_equal(fixed_noise(0, 4, 10), fixed_noise(1, 4, 10))


def test_a_run_writes_model_samples_history_and_summary(tiny_config, capsys):
    from ganlab.training import train

    cfg = tiny_config
    summary = train(cfg, "dcgan", 0)

    out = capsys.readouterr().out
    assert "dcgan-seed0 epoch   1/2" in out and "img/s" in out and "ETA" in out

    samples = sorted(p.name for p in cfg.trained_run("dcgan", 0).samples_dir.iterdir())
    assert samples == ["epoch_001.png", "epoch_002.png"]
    with open(cfg.trained_run("dcgan", 0).history_file) as fh:
        rows = list(csv.DictReader(fh))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"g_loss", "d_loss", "d_acc_real", "d_acc_fake", "images_per_sec"} <= set(rows[0])

    assert json.loads(cfg.trained_run("dcgan", 0).summary_file.read_text()) == summary
    assert summary["g_loss"] == pytest.approx(float(rows[-1]["g_loss"]))

    generator = keras.models.load_model(cfg.trained_run("dcgan", 0).model_dir / "generator.keras")
    assert generator.predict(fixed_noise(0, 2, 100), verbose=0).shape == (2, 32, 32, 1)
    card = json.loads((cfg.trained_run("dcgan", 0).model_dir / "model_card.json").read_text())
    assert card["class_names"] == ["2", "5", "9"] and card["mlflow_run_id"] == summary["mlflow_run_id"]
    assert (cfg.root / "mlflow.db").is_file()  # the default store: at the project root


def test_batch_larger_than_the_data_is_refused_before_training(tiny_config):
    from ganlab.config import ConfigError
    from ganlab.training import train

    raw = tiny_config.model_dump()
    raw["train"]["batch_size"] = 10_000
    cfg = config_from_dict(raw, root=tiny_config.root)
    with pytest.raises(ConfigError, match=r"variant dcgan takes 10000 images a step \(train.batch_size 10000\) but the training split has"):
        train(cfg, "dcgan", 0)
    assert not (cfg.root / "mlflow.db").exists()


def test_epoch_order_depends_on_seed_and_epoch_only(npz_file, params):
    from ganlab.training import epoch_order

    first = epoch_order(100, seed=0, epoch=3)
    assert np.array_equal(first, epoch_order(100, seed=0, epoch=3))
    assert sorted(first) == list(range(100))  # a permutation: every image once an epoch
    assert not np.array_equal(first, epoch_order(100, seed=0, epoch=4))
    assert not np.array_equal(first, epoch_order(100, seed=1, epoch=3))

    data = prepare(config_from_dict(tiny_params(params, npz_file)).data, 0)
    full, steps = make_dataset(data, 16, seed=0, conditional=False, first_epoch=0, epochs=3)
    tail, _ = make_dataset(data, 16, seed=0, conditional=False, first_epoch=2, epochs=3)
    batches = [b.numpy() for b in full]
    assert len(batches) == 3 * steps
    # Starting at epoch 2 (a resume) gives exactly the batches the full run had in epoch 2.
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(batches[2 * steps:], tail, strict=True))


def test_the_input_pipeline_is_not_autotuned(params, npz_file):
    """tf.data's autotuning made whole epochs ~1.5x slower in about half of its iterators on 2
    cores (tools/bench; README "Performance"): the pipeline runs with fixed, small parallelism."""
    data = prepare(config_from_dict(tiny_params(params, npz_file)).data, 0)
    dataset, _ = make_dataset(data, 16, seed=0, conditional=True, first_epoch=0, epochs=1)
    assert dataset.options().autotune.enabled is False
    images, labels = next(iter(dataset))
    assert images.shape == (16, 32, 32, 1) and labels.shape == (16,)


@pytest.mark.parametrize("steps, expected", [(78, 6), (15, 5), (30, 6), (7, 7), (11, 1), (64, 8)])
def test_a_traced_call_runs_whole_divisors_of_an_epoch(steps, expected):
    """Several steps per call, never across an epoch's end: with 6 steps an epoch and 5 a call,
    Keras ran 10 steps in the first 'epoch' and 2 in the second (same weights, wrong curves)."""
    from ganlab.training import steps_per_call

    assert steps_per_call(steps) == expected
    assert steps % steps_per_call(steps) == 0
