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


# Tolerances: float summation order differs between one device and two replicas. The DCGAN
# family and WGAN keep within float noise; AC-GAN (BatchNorm synchronised across replicas:
# E[x^2] - E[x]^2) and WGAN-GP (a second-order penalty) pass that noise through Adam, whose
# normalised step turns a near-zero gradient's tiny difference into a full learning-rate step
# for a few weights: so a bound on the 99.9th percentile and a looser one on the maximum.
# noised: the DCGAN step plus per-replica slices of the pixel noise; acgan: synchronised
# BatchNorm and class labels; wgan: n_critic batches a step laid out per replica, clipping.
TOLERANCE = {"noised": (1e-5, 1e-5), "wgan": (1e-5, 1e-5), "acgan": (2e-4, 2e-3)}


@pytest.mark.parametrize("family", sorted(TOLERANCE))
def test_mirrored_over_two_devices_matches_one_device(family):
    result = last_json(run_helper("compare", family, "2", "8"))
    assert result["replicas"] == [1, 2]
    p999, worst = TOLERANCE[family]
    assert result["p999_abs_weight_diff"] <= p999 and result["max_abs_weight_diff"] <= worst, result
    for name in ("g_loss", "d_loss"):
        assert result["curves_two"][name] == pytest.approx(result["curves_one"][name], rel=1e-3, abs=1e-4)


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
    for worker, (stdout, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr[-3000:]
    chief, other = (json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs)
    assert (chief["replicas"], chief["chief"], other["chief"], single["replicas"]) == (2, True, False, 1)
    assert not (tmp_path / "worker1.npz").exists()  # only the chief writes
    one, two = np.load(tmp_path / "single.npz"), np.load(tmp_path / "worker0.npz")
    assert max(float(np.abs(one[k] - two[k]).max()) for k in one.files) <= 1e-5
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
    assert json.loads(cfg.summary_file("wgan", 0).read_text()) == summary
    assert sorted(p.name for p in cfg.samples_dir("wgan", 0).iterdir()) == ["epoch_001.png"]
    assert (cfg.model_dir("wgan", 0) / "generator.keras").is_file()
    from ganlab.checkpoints import read_checkpoint

    assert read_checkpoint(cfg.checkpoint_dir("wgan", 0)).complete


def test_a_batch_that_does_not_split_over_the_replicas_is_refused(mirrored_project):
    raw = load_config(mirrored_project).model_dump(mode="json")
    raw["variants"]["wgan"]["batch_size"] = 15
    write_yaml(raw, mirrored_project)
    result = run_helper("stage", str(mirrored_project), "wgan")
    assert result.returncode != 0
    assert "batch_size 15" in result.stderr and "multiple of 2" in result.stderr
