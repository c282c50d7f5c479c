"""The health check while a run trains (ganlab.watch): NaN stops it with one error line and a
FAILED MLflow run, the last finite checkpoint kept; other findings warn, tag and are recorded."""

from __future__ import annotations

import importlib.util
import json

import keras
import numpy as np
import pytest

from conftest import REPO, tiny_params, write_yaml
from ganlab.checkpoints import read_checkpoint
from ganlab.config import load_config
from ganlab.data import load_prepared, prepare, save_prepared
from ganlab.watch import HealthWatch, TrainingDiverged


def rows(**curves) -> list[dict]:
    epochs = len(next(iter(curves.values())))
    return [{"epoch": e + 1, "g_loss": 1.0, "d_loss": 1.0, "g_grad_norm": 5.0,
             **{k: v[e] for k, v in curves.items()}} for e in range(epochs)]


def test_non_finite_losses_raise_naming_the_epoch_the_rate_and_the_checkpoint():
    tags = {}
    watch = HealthWatch("dcgan-seed0", (50.0, 50.0), False, tag=tags.__setitem__)
    watch.check_losses(1, {"g_loss": 4e13, "d_loss": 1.0, "d_acc_real": float("nan")}, last_checkpoint=0)
    with pytest.raises(TrainingDiverged) as raised:
        watch.check_losses(3, {"g_loss": float("nan"), "d_loss": 1.0}, last_checkpoint=2)
    message = str(raised.value)
    assert "dcgan-seed0" in message and "epoch 3" in message and "g_loss nan" in message
    assert "learning rate (50" in message and "checkpoint of epoch 2" in message
    assert tags == {"health": "diverged"}


def test_a_finding_warns_once_tags_and_stops_only_when_asked(capsys):
    tags = {}
    watch = HealthWatch("wgan-seed1", (5e-5, 5e-5), False, tag=tags.__setitem__)
    assert watch.check(rows(g_grad_norm=[5.0, 4.0])) is False and watch.status == "healthy"
    assert capsys.readouterr().err == "" and tags == {"health": "healthy"}
    assert watch.check(rows(g_grad_norm=[5.0, 4.0, 0.0])) is False
    assert watch.check(rows(g_grad_norm=[5.0, 4.0, 0.0, 0.0])) is False
    warnings = capsys.readouterr().err.splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("warning: wgan-seed1 epoch 3: vanishing:")
    assert "train.stop_unhealthy" in warnings[0] and tags == {"health": "vanishing"}
    assert watch.summary() == {"health": "vanishing", "health_findings": [
        "epoch 3: vanishing: G's gradient norm 0 is under 0.001x the first epoch's (5)"]}

    stopping = HealthWatch("wgan-seed1", (5e-5, 5e-5), True)
    assert stopping.check(rows(g_loss=[1.0, 2e6])) is True
    assert stopping.summary()["stopped_at_epoch"] == 2 and stopping.status == "diverged"


@pytest.fixture
def tiny_config(params, npz_file, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)

    def make(epochs=2, **dcgan):
        p = tiny_params(params, npz_file, epochs=epochs)
        p["variants"]["dcgan"].update(dcgan)
        cfg = load_config(write_yaml(p, tmp_path / "params.yaml"))
        save_prepared(prepare(cfg.data, cfg.seed), cfg.prepared_dataset, cfg.prepared_facts)
        return cfg
    return make


def run_train_stage(cfg, monkeypatch, argv=("dcgan", "0"), script="train.py"):
    """pipeline/<script>'s main through the stage shell, as DVC runs it (without the relay)."""
    from ganlab.cli import run_stage

    spec = importlib.util.spec_from_file_location(script.removesuffix(".py") + "_stage", REPO / "pipeline" / script)
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    monkeypatch.setenv("GANLAB_PARAMS", str(cfg.root / "params.yaml"))
    monkeypatch.setenv("GANLAB_RELAYED", "1")
    monkeypatch.chdir(cfg.root)
    with pytest.raises(SystemExit) as exited:
        run_stage(stage.main, list(argv))
        raise SystemExit(0)
    return exited.value.code


class PoisonAt(keras.callbacks.Callback):
    """Sets D's weights to NaN when the given (0-based) epoch begins: that epoch's losses are NaN."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            for weight in self.model.discriminator.trainable_weights:
                weight.assign(np.full(weight.shape, np.nan, dtype=weight.dtype))


def test_a_planted_nan_stops_with_an_error_line_a_failed_run_and_the_last_finite_checkpoint(
        tiny_config, monkeypatch, capsys):
    import mlflow

    from ganlab import training

    cfg = tiny_config(epochs=3)
    original = training.progress_callbacks
    monkeypatch.setattr(training, "progress_callbacks", lambda settings, steps: [*original(settings, steps),
                                                                                  PoisonAt(1)])
    assert run_train_stage(cfg, monkeypatch) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "training diverged at epoch 2" in errors[0], err
    assert "Traceback" not in err
    checkpoint = read_checkpoint(cfg.trained_run("dcgan", 0).checkpoint_dir)
    assert checkpoint.epoch == 1 and all(np.isfinite(checkpoint.history[-1][k]) for k in ("g_loss", "d_loss"))
    assert not cfg.trained_run("dcgan", 0).summary_file.exists()  # a diverged run is never recorded as done
    mlflow.set_tracking_uri(f"sqlite:///{cfg.root / 'mlflow.db'}")
    [run] = mlflow.search_runs(experiment_names=[cfg.mlflow.experiment], output_format="list")
    assert run.info.status == "FAILED" and run.data.tags["health"] == "diverged"


def test_the_learning_rate_50_dcgan_names_its_divergence(tiny_config, monkeypatch, capsys):
    cfg = tiny_config(epochs=2, learning_rate=50.0)
    # The losses stay finite, as in issue 29's run (4e13, then 3e14): ~1e12 after the first epoch
    assert run_train_stage(cfg, monkeypatch) == 0
    err = capsys.readouterr().err
    summary = json.loads(cfg.trained_run("dcgan", 0).summary_file.read_text())
    assert summary["health"] == "diverged" and summary["health_findings"][0].startswith("epoch 1: diverged")
    assert any(line.startswith("warning: dcgan-seed0 epoch 1: diverged") for line in err.splitlines()), err
    assert "dcgan-seed0: done in" in err and "unhealthy (diverged:" in err


def test_stop_unhealthy_saves_the_remaining_epochs(tiny_config, monkeypatch, capsys):
    cfg = tiny_config(epochs=3, learning_rate=50.0)
    params = cfg.root / "params.yaml"
    params.write_text(params.read_text().replace("stop_unhealthy: false", "stop_unhealthy: true"))
    assert run_train_stage(load_config(params), monkeypatch) == 0
    summary = json.loads(cfg.trained_run("dcgan", 0).summary_file.read_text())
    assert summary["health"] == "diverged" and summary["stopped_at_epoch"] == 1
    assert sorted(p.name for p in cfg.trained_run("dcgan", 0).samples_dir.iterdir()) == ["epoch_001.png"]
    assert "stopping it (train.stop_unhealthy)" in capsys.readouterr().err


@pytest.mark.parametrize("fid_every", [1, 0])
def test_a_learning_rate_of_1e20_ends_in_one_error_line(tiny_config, monkeypatch, capsys, fid_every):
    # issue 29: a LinAlgError traceback (fid_every 1), or exit 0 with bare NaN in summary.json (0)
    from ganlab.judge import save_judge, train_judge

    cfg = tiny_config(epochs=2, learning_rate=1e20)
    params = cfg.root / "params.yaml"
    params.write_text(params.read_text().replace("fid_every: 0", f"fid_every: {fid_every}"))
    if fid_every:
        data = load_prepared(cfg.prepared_dataset)
        model, accuracy = train_judge(data, epochs=1, batch_size=16, seed=0)
        save_judge(model, accuracy, data.class_names, cfg.judge_model_file, cfg.judge_facts_file)
    assert run_train_stage(load_config(params), monkeypatch) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "training diverged at epoch 1" in errors[0] and "Traceback" not in err, err
    assert not cfg.trained_run("dcgan", 0).summary_file.exists()


def test_scoring_a_generator_that_makes_nan_is_one_error_line(tiny_config, monkeypatch, capsys):
    # issue 29: the score stage of a diverged run's generator ended in a LinAlgError traceback
    from ganlab.judge import save_judge, train_judge
    from ganlab.model_files import save_model

    cfg = tiny_config(epochs=1)
    data = load_prepared(cfg.prepared_dataset)
    model, accuracy = train_judge(data, epochs=1, batch_size=16, seed=0)
    save_judge(model, accuracy, data.class_names, cfg.judge_model_file, cfg.judge_facts_file)
    assert run_train_stage(cfg, monkeypatch) == 0
    generator = keras.models.load_model(cfg.trained_run("dcgan", 0).generator_file)
    kernel = next(w for w in generator.weights if "kernel" in w.path)
    kernel.assign(np.full(kernel.shape, np.nan, dtype=kernel.dtype))
    save_model(generator, cfg.trained_run("dcgan", 0).generator_file)
    capsys.readouterr()
    assert run_train_stage(cfg, monkeypatch, script="score.py") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: dcgan-seed0: its generator makes NaN or infinite images") and "Traceback" not in err
    assert not cfg.trained_run("dcgan", 0).score_file.exists()
