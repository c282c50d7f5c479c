"""Hostile and concurrent use of a real DVC project (issue 29): params values never reach a
shell, and a second `dvc repro` in the same workspace is refused by DVC's lock, damaging nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import blob_images, read_yaml, tiny_params, write_yaml
from test_pipeline import dvc, dvc_env, project_copy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    """A tiny project whose data is prepared and judge trained: the train stages' deps exist."""
    root = tmp_path_factory.mktemp("hostile")
    project = project_copy(root / "project")
    y = np.repeat(np.array([0, 1, 2]), 30)
    np.savez(root / "own.npz", x=blob_images(y, 28), y=y)
    params = tiny_params(read_yaml(project / "params.yaml"), root / "own.npz")
    params["variants"] = {"dcgan": params["variants"]["dcgan"]}
    write_yaml(params, project / "params.yaml")
    dvc(project, "repro", "judge")
    return project, params


@pytest.mark.parametrize("change", ["seed", "variant"])
def test_params_values_never_run_as_commands(judged, change):
    # `-s` skips the check stage, which would refuse these values: they must be harmless anyway
    project, params = judged
    hostile = dict(params, seeds=list(params["seeds"]), variants=dict(params["variants"]))
    if change == "seed":
        hostile["seeds"] = ["1;touch INJECTED;echo"]
    else:
        hostile["variants"] = {"$(touch INJECTED)": {"family": "dcgan"}}
    write_yaml(hostile, project / "params.yaml")
    try:
        result = subprocess.run([str(Path(sys.executable).parent / "dvc"), "repro", "-s", "train"], cwd=project,
                                env=dvc_env(), capture_output=True, text=True, timeout=300)
    finally:
        write_yaml(params, project / "params.yaml")
    assert not (project / "INJECTED").exists(), result.stdout + result.stderr
    assert result.returncode != 0 and "error: " in result.stderr, result.stdout + result.stderr


def test_a_second_repro_is_refused_by_dvcs_lock_and_nothing_is_damaged(judged):
    # DVC locks what a running stage reads and writes (.dvc/tmp/rwlock): a second `dvc repro`
    # gets as far as the first path in use and stops there, naming the process that holds it.
    project, _ = judged
    kept = [project / "data" / "prepared" / "dataset.npz", project / "data" / "prepared" / "dataset.json",
            project / "data" / "source.json"]
    before = {path: path.read_bytes() for path in kept}
    first = subprocess.Popen([str(Path(sys.executable).parent / "dvc"), "repro", "-f", "-s", "judge"], cwd=project,
                             env=dvc_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in first.stdout:
        if "Running stage 'judge'" in line:
            break
    second = subprocess.run([str(Path(sys.executable).parent / "dvc"), "repro"], cwd=project, env=dvc_env(),
                            capture_output=True, text=True, timeout=120)
    rest = first.communicate(timeout=300)[0]
    refusal = second.stdout + second.stderr
    assert second.returncode != 0 and "is being blocked by" in refusal and "repro -f -s judge" in refusal, refusal
    assert "Running stage 'prepare'" not in refusal and "Running stage 'judge'" not in refusal
    assert first.returncode == 0, rest
    assert {path: path.read_bytes() for path in kept} == before
    status = dvc(project, "status", "judge")
    assert "changed" not in status.stdout, status.stdout
