"""tf.distribute runs that match a one-device run: MirroredStrategy over two logical CPU devices
and MultiWorkerMirroredStrategy with two worker processes on loopback (each in fresh processes:
logical devices and TF_CONFIG must be set before TensorFlow starts; see distributed_run.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, tiny_params, write_yaml
from ganlab.config import load_config
from ganlab.data import prepare, save_prepared

HELPER = Path(__file__).parent / "distributed_run.py"


def run_helper(*args, timeout=300) -> subprocess.CompletedProcess:
    # The project's default store (mlflow.db next to params.yaml), not the session's stray one.
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.run([sys.executable, str(HELPER), *args], capture_output=True, text=True, timeout=timeout,
                          env={**env, "TF_CPP_MIN_LOG_LEVEL": "2"}, cwd=REPO)


def last_json(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# How far the two-replica run may end from the one-device run, as a share of how far the one-device
# run moved the weights (plain SGD; see distributed_run.py), and after how many steps. Measured
# (`python tests/distributed_run.py compare FAMILY STEPS 8 [MISTAKE]`, relative weight difference):
#
#   family   steps  correct   no_loss_division  shared_noise
#   noised     8    6.2e-8    7.9e-3            1.3e-2     the DCGAN step, latent and pixel noise
#   wgan       8    1.8e-8    1.1e-3            1.0e-2     n_critic batches per replica, clipping
#   wgan_gp    8    8.2e-8    3.4e-2            1.8e-2     the penalty's interpolation draws
#   acgan      2    2.5e-6    9.5e-1            9.1e-1     synchronised BatchNorm, class labels
#
# So each bound sits >= 30x above float noise and >= 100x below either mistake. AC-GAN is compared
# after 2 steps: from the third on, its synchronised BatchNorm (batch statistics as E[x^2] - E[x]^2
# over 4 images a replica) amplifies float noise ~100x a step under SGD at 0.01 (2e-2 at 4 steps).
COMPARISON = {"noised": (8, 1e-5), "wgan": (8, 1e-5), "wgan_gp": (8, 1e-5), "acgan": (2, 1e-4)}
BATCH = 8


def compared(family: str, mistake: str = "none") -> dict:
    steps, _ = COMPARISON[family]
    result = last_json(run_helper("compare", family, str(steps), str(BATCH), mistake))
    assert result["replicas"] == [1, 2] and result["moved"] > 0.1  # both trained, and the weights moved
    return result


@pytest.mark.parametrize("family", sorted(COMPARISON))
def test_mirrored_over_two_devices_matches_one_device(family):
    result = compared(family)
    assert result["relative_weight_diff"] <= COMPARISON[family][1], result
    for name in ("g_loss", "d_loss"):
        assert result["curves_two"][name] == pytest.approx(result["curves_one"][name], rel=1e-4, abs=1e-5)


# The bounds above must catch a broken distributed step: each planted mistake, on the families
# where it shows least (the WGAN's clipping and the DCGAN step's) or where it matters most.
@pytest.mark.parametrize("family, mistake", [("noised", "no_loss_division"), ("noised", "shared_noise"),
                                             ("wgan", "no_loss_division"), ("acgan", "shared_noise")])
def test_the_comparison_catches_a_planted_mistake(family, mistake):
    result = compared(family, mistake)
    assert result["relative_weight_diff"] > 100 * COMPARISON[family][1], result


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_on_loopback_match_one_worker(tmp_path):
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    workers = [
        subprocess.Popen(
            [sys.executable, str(HELPER), "worker", "wgan", "3", "8", str(tmp_path / f"worker{i}.npz")],
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
                 "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})},
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    single = last_json(run_helper("single", "wgan", "3", "8", str(tmp_path / "single.npz")))
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (_, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr[-3000:]
    chief, other = (json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs)
    assert (chief["replicas"], chief["chief"], other["chief"], single["replicas"]) == (2, True, False, 1)
    assert not (tmp_path / "worker1.npz").exists()  # only the chief writes
    one, two = np.load(tmp_path / "single.npz"), np.load(tmp_path / "worker0.npz")
    start, end_one, end_two = (np.concatenate([np.ravel(f[k]) for k in sorted(f.files) if k.startswith(prefix)])
                               for f, prefix in ((one, "initial"), (one, "weights"), (two, "weights")))
    # SGD, so a wrong loss scaling would show (the bound of the mirrored comparisons, same family).
    assert np.linalg.norm(end_two - end_one) <= 1e-5 * np.linalg.norm(end_one - start)
    assert chief["curves"]["g_loss"] == pytest.approx(single["curves"]["g_loss"], rel=1e-3, abs=1e-4)


@pytest.fixture
def mirrored_project(params, npz_file, tmp_path):
    params = tiny_params(params, npz_file, epochs=1, batch_size=16)
    params["train"]["distribute"] = "mirrored"
    params["variants"] = {"wgan": params["variants"]["wgan"]}
    path = write_yaml(params, tmp_path / "params.yaml")
    cfg = load_config(path)
    save_prepared(prepare(cfg.data, cfg.seed), cfg.prepared_dataset, cfg.prepared_facts)
    return path


def test_the_train_stage_runs_under_mirrored_strategy(mirrored_project):
    result = run_helper("stage", str(mirrored_project), "wgan")
    summary = last_json(result)
    assert "mirrored (2 replicas)" in result.stdout
    cfg = load_config(mirrored_project)
    assert json.loads(cfg.trained_run("wgan", 0).summary_file.read_text()) == summary
    assert sorted(p.name for p in cfg.trained_run("wgan", 0).samples_dir.iterdir()) == ["epoch_001.png"]
    assert (cfg.trained_run("wgan", 0).model_dir / "generator.keras").is_file()
    from ganlab.checkpoints import read_checkpoint

    assert read_checkpoint(cfg.trained_run("wgan", 0).checkpoint_dir).complete


def test_a_batch_that_does_not_split_over_the_replicas_is_refused(mirrored_project):
    raw = load_config(mirrored_project).model_dump(mode="json")
    raw["variants"]["wgan"]["batch_size"] = 15
    write_yaml(raw, mirrored_project)
    result = run_helper("stage", str(mirrored_project), "wgan")
    assert result.returncode != 0
    assert "batch_size 15" in result.stderr and "multiple of 2" in result.stderr
