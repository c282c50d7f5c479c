"""Bad input that only shows at run time (an MLflow store that cannot be used, an output folder
that cannot be written) is refused before any work; an interrupted training leaves a KILLED
MLflow run and an intact checkpoint, and the next run resumes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, tiny_params, write_yaml
from ganlab.preflight import check_tracking_store


def stage(script: str, project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "DVC_ROOT")}
    return subprocess.run([sys.executable, str(REPO / "pipeline" / script), *args], cwd=project,
                          env={**base, "GANLAB_PARAMS": str(project / "params.yaml"), **(env or {})},
                          capture_output=True, text=True, timeout=300)


def refused(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.fixture
def project(tmp_path, params, npz_file):
    write_yaml(tiny_params(params, npz_file), tmp_path / "params.yaml")
    return tmp_path


def test_unreachable_mlflow_server_is_refused_before_work(project):
    result = stage("prepare.py", project, env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"})
    refused(result, "http://127.0.0.1:9", "cannot be reached", "MLFLOW_TRACKING_URI")
    assert not (project / "data").exists()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_stores_password_is_never_shown():
    from ganlab.config import ConfigError
    from ganlab.preflight import masked

    assert masked("postgresql://bob:s3cret@db.example:5432/ml") == "postgresql://bob:***@db.example:5432/ml"
    assert masked("see https://bob:pa:ss@host/x and http://host:80/") == "see https://bob:***@host/x and http://host:80/"
    with pytest.raises(ConfigError) as refusal:
        check_tracking_store(f"http://bob:s3cret@127.0.0.1:{_free_port()}", timeout=2)
    assert "s3cret" not in str(refusal.value) and "bob:***@" in str(refusal.value)


def test_an_unreachable_database_store_is_refused_before_the_train_stage_empties_anything(project):
    # issue 29: the train stage emptied its outputs, waited 115 s and printed a 210-line traceback
    (project / "models" / "dcgan" / "seed0").mkdir(parents=True)
    (project / "models" / "dcgan" / "seed0" / "generator.keras").write_text("the last good generator")
    uri = f"postgresql://bob:s3cret@127.0.0.1:{_free_port()}/mlflow"
    result = stage("train.py", project, "dcgan", env={"MLFLOW_TRACKING_URI": uri})
    refused(result, "postgresql server at 127.0.0.1", "cannot be reached", "bob:***@")
    assert "s3cret" not in result.stderr
    assert (project / "models" / "dcgan" / "seed0" / "generator.keras").read_text() == "the last good generator"


def test_unusable_sqlite_store_is_refused_and_nothing_is_written(project):
    (project / "blocker").write_text("a file where the store's folder should be")
    result = stage("prepare.py", project, env={"MLFLOW_TRACKING_URI": f"sqlite:///{project}/blocker/mlflow.db"})
    refused(result, "blocker is a file", "MLFLOW_TRACKING_URI")
    assert not (project / "data").exists()


def test_output_folder_that_cannot_be_created_is_named(project, params, npz_file):
    raw = tiny_params(params, npz_file)
    raw["paths"]["models"] = "params.yaml/models"
    write_yaml(raw, project / "params.yaml")
    refused(stage("prepare.py", project), "paths.models", "is a file")


def without_permission_override() -> list[str]:
    """A command prefix under which file permissions bind. CI runs as root, whom they do not bind:
    there, drop the capabilities that override them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) with
    util-linux's setpriv. (Switching to an unprivileged user would not do: this Python lives under
    /root, mode 700.)"""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root without setpriv (util-linux): cannot test permission refusals")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_read_only_folder_is_named(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    code = ("import sys\nfrom ganlab.config import ConfigError\nfrom ganlab.preflight import check_writable\n"
            "try:\n    check_writable(__import__('pathlib').Path(sys.argv[1]) / 'out', 'paths.models')\n"
            "except ConfigError as exc:\n    print(exc)\n    sys.exit(2)\n")
    try:
        result = subprocess.run([*without_permission_override(), sys.executable, "-c", code, str(folder)],
                                capture_output=True, text=True, timeout=60)
    finally:
        folder.chmod(0o700)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "paths.models" in result.stdout and "is not writable" in result.stdout


def test_a_stage_refuses_a_read_only_output_folder_before_work(project, params, npz_file):
    raw = tiny_params(params, npz_file)
    (project / "locked").mkdir()
    raw["paths"]["prepared"] = "locked/prepared"
    write_yaml(raw, project / "params.yaml")
    (project / "locked").chmod(0o500)
    base = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "DVC_ROOT")}
    try:
        result = subprocess.run([*without_permission_override(), sys.executable, str(REPO / "pipeline" / "check.py")],
                                cwd=project, env={**base, "GANLAB_PARAMS": str(project / "params.yaml")},
                                capture_output=True, text=True, timeout=120)
    finally:
        (project / "locked").chmod(0o700)
    refused(result, "paths.prepared", "is not writable")
    assert not (project / "locked" / "prepared").exists() and not (project / "data").exists()


def test_local_stores_that_can_be_created_pass(tmp_path):
    check_tracking_store(f"sqlite:///{tmp_path}/new/mlflow.db")
    check_tracking_store(str(tmp_path / "mlruns"))


def train_until_epoch_2(project: Path, params: dict, npz_file: Path, stop) -> tuple[dict, subprocess.Popen]:
    """A tiny 4-epoch DCGAN training started as DVC starts it; stop(proc) once its second epoch
    has ended. Its params and the process."""
    raw = tiny_params(params, npz_file, epochs=4, batch_size=8)
    raw["variants"] = {"dcgan": {"family": "dcgan"}}
    write_yaml(raw, project / "params.yaml")
    assert stage("prepare.py", project).returncode == 0
    base = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "DVC_ROOT")}
    proc = subprocess.Popen([sys.executable, str(REPO / "pipeline" / "train.py"), "dcgan"], cwd=project,
                            env={**base, "GANLAB_PARAMS": str(project / "params.yaml"), "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if "epoch   2/4" in line:
            stop(proc)
            break
    return raw, proc


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_training_is_killed_cleanly_and_resumes(project, params, npz_file, sig):
    from mlflow.tracking import MlflowClient

    from ganlab.checkpoints import read_checkpoint

    raw, proc = train_until_epoch_2(project, params, npz_file, lambda proc: proc.send_signal(sig))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err

    stopped = read_checkpoint(project / "checkpoints" / "dcgan" / "seed0")
    assert stopped is not None and 2 <= stopped.epoch < 4  # intact, and a real epoch
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    run = client.get_run(stopped.run_id)
    assert run.info.status == "KILLED"

    if sig == signal.SIGTERM:  # (one resume is enough; test_resume.py covers it in depth)
        resumed = stage("train.py", project, "dcgan")
        assert resumed.returncode == 0 and f"resuming after epoch {stopped.epoch}" in resumed.stdout
        assert client.get_run(stopped.run_id).info.status == "FINISHED"


@pytest.mark.slow
def test_a_run_killed_by_sigkill_is_ended_killed_by_the_next_run(project, params, npz_file):
    # issue 29: after a kill -9 and a rerun with changed params, the old run stayed RUNNING forever
    import time

    from mlflow.tracking import MlflowClient

    raw, proc = train_until_epoch_2(project, params, npz_file, lambda proc: proc.kill())
    proc.communicate(timeout=60)
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    [killed] = client.search_runs([client.get_experiment_by_name(raw["mlflow"]["experiment"]).experiment_id])
    assert killed.info.status == "RUNNING"  # what a kill -9 leaves
    pid = int(killed.data.tags.get("pid", 0))
    for _ in range(100 if pid else 0):  # the relayed child dies with its parent (PR_SET_PDEATHSIG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)

    raw["variants"]["dcgan"]["learning_rate"] = 3e-4  # changed params: a new run, not a resume
    write_yaml(raw, project / "params.yaml")
    assert stage("train.py", project, "dcgan").returncode == 0
    assert client.get_run(killed.info.run_id).info.status == "KILLED"
    statuses = sorted(r.info.status for r in client.search_runs([killed.info.experiment_id]))
    assert statuses == ["FINISHED", "KILLED"]


def _stage_module(script: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(script.removesuffix(".py") + "_stage", REPO / "pipeline" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ctrl_c_while_prepare_writes_leaves_the_last_good_pair(project, params, npz_file, monkeypatch, capsys):
    # issue 29: prepare replaced the npz, then wrote dataset.json in place: a Ctrl-C between
    # them left new arrays beside the old facts; and its message spoke of an epoch's checkpoint
    from ganlab.cli import run_stage

    monkeypatch.setenv("GANLAB_PARAMS", str(project / "params.yaml"))
    monkeypatch.setenv("GANLAB_RELAYED", "1")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(project)
    prepare = _stage_module("prepare.py")
    run_stage(prepare.main, [])
    prepared = project / "data" / "prepared"
    before = {name: (prepared / name).read_bytes() for name in ("dataset.npz", "dataset.json")}

    raw = tiny_params(params, npz_file)
    raw["data"]["image_size"] = 16  # other arrays and facts
    write_yaml(raw, project / "params.yaml")
    real_write_text = Path.write_text

    def interrupted_at_the_facts(path, *args, **kwargs):
        if path.name.startswith("dataset") and path.suffix == ".json":  # the facts, under any temporary name
            raise KeyboardInterrupt
        return real_write_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", interrupted_at_the_facts)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        run_stage(prepare.main, [])
    assert exited.value.code == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted:") and "checkpoint" not in err and "epoch" not in err
    assert {name: (prepared / name).read_bytes() for name in before} == before
    assert sorted(p.name for p in prepared.iterdir()) == ["dataset.json", "dataset.npz"]  # no temporary left
