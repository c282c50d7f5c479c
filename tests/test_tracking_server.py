"""A team's tracking set-up, for real: PostgreSQL as MLflow's backend store, `mlflow server` with
proxied artifact storage (--serve-artifacts) on loopback, the pipeline's train stage pointed at
it by MLFLOW_TRACKING_URI, three trainings at once, and everything checked through the REST API.

Skipped where PostgreSQL is not installed (`make postgres` installs Debian's package)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, tiny_params, write_yaml
from ganlab.config import load_config
from ganlab.data import prepare, save_prepared
from ganlab.tracking import DATASET_ATTEMPTS

pytestmark = pytest.mark.slow

VARIANTS = ("dcgan", "smoothed", "acgan")  # trained at the same time against one server


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_db_user(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: as root, run it as Debian's `postgres` user.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def wait_for(url: str, seconds: float, process: subprocess.Popen) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer in {seconds} s")


@pytest.fixture(scope="module")
def postgres():
    bin_dir = postgres_bin()
    if bin_dir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        pytest.skip("PostgreSQL is not installed (make postgres installs Debian's package)")
    # Not pytest's tmp_path: the postgres user must reach it, and pytest's is private to root.
    folder = Path(tempfile.mkdtemp(prefix="ganlab-pg-"))
    os.chmod(folder, 0o777)
    data, port = folder / "data", free_port()
    subprocess.run(as_db_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "ganlab", "--auth=trust",
                               "-E", "UTF8", "--no-sync"]), check=True, capture_output=True)
    subprocess.run(as_db_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"),
                               "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"]),
                   check=True, capture_output=True)
    try:
        subprocess.run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "ganlab", "mlflow"],
                       check=True, capture_output=True)
        yield f"postgresql://ganlab@127.0.0.1:{port}/mlflow"
    finally:
        subprocess.run(as_db_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def server(postgres, tmp_path_factory):
    """`mlflow server` on the PostgreSQL store, artifacts proxied (clients never see the path)."""
    artifacts = tmp_path_factory.mktemp("artifacts")
    port = free_port()
    log = open(tmp_path_factory.mktemp("server") / "server.log", "w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "server", "--backend-store-uri", postgres,
         "--serve-artifacts", "--artifacts-destination", str(artifacts),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", 120, process)
        yield f"http://127.0.0.1:{port}", artifacts
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def rest(base: str, endpoint: str, body: dict | None = None, **query) -> dict:
    url = f"{base}/api/2.0/mlflow/{endpoint}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def trained(server, tmp_path_factory):
    """Three train stages at once, each its own process, all logging to the server."""
    from conftest import blob_images, read_yaml

    import numpy as np

    uri, _ = server
    root = tmp_path_factory.mktemp("team")
    y = np.repeat(np.array([0, 1, 2]), 30)
    np.savez(root / "own.npz", x=blob_images(y, 28), y=y)
    params = tiny_params(read_yaml(REPO / "params.yaml"), root / "own.npz", epochs=2)
    params["variants"] = {name: params["variants"][name] for name in VARIANTS}
    params["mlflow"]["experiment"] = "team"
    params_file = write_yaml(params, root / "params.yaml")
    cfg = load_config(params_file)
    save_prepared(prepare(cfg.data, cfg.seed), cfg.prepared_dataset, cfg.prepared_facts)

    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "GANLAB_PARAMS": str(params_file), "TF_CPP_MIN_LOG_LEVEL": "2"}
    stages = [subprocess.Popen([sys.executable, str(REPO / "pipeline" / "train.py"), variant, "0"], cwd=root,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for variant in VARIANTS]
    outputs = [stage.communicate(timeout=600) for stage in stages]
    for stage, (stdout, stderr) in zip(stages, outputs):
        assert stage.returncode == 0, f"{stage.args}:\n{stdout[-2000:]}\n{stderr[-3000:]}"
    return uri, cfg


def test_concurrent_trainings_all_land_in_the_server(trained):
    uri, cfg = trained
    experiment = rest(uri, "experiments/get-by-name", experiment_name="team")["experiment"]
    runs = rest(uri, "runs/search", {"experiment_ids": [experiment["experiment_id"]], "max_results": 100})["runs"]
    by_name = {run["info"]["run_name"]: run for run in runs}
    assert set(by_name) == {f"{v}-seed0" for v in VARIANTS}  # one run each: none lost, none doubled
    for variant in VARIANTS:
        run = by_name[f"{variant}-seed0"]
        assert run["info"]["status"] == "FINISHED"
        tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        assert tags["variant"] == variant
        summary = json.loads(cfg.trained_run(variant, 0).summary_file.read_text())
        assert run["info"]["run_id"] == summary["mlflow_run_id"]
        for metric in ("g_loss", "d_loss", "d_acc_real", "d_acc_fake"):
            history = rest(uri, "metrics/get-history", run_id=run["info"]["run_id"], metric_key=metric)["metrics"]
            assert sorted(m["step"] for m in history) == [1, 2], (variant, metric)
        last = max(rest(uri, "metrics/get-history", run_id=run["info"]["run_id"], metric_key="g_loss")["metrics"],
                   key=lambda m: m["step"])
        assert last["value"] == pytest.approx(summary["g_loss"])


def test_images_and_models_are_served_through_the_proxy(trained, server):
    uri, _ = trained
    _, artifact_root = server
    experiment = rest(uri, "experiments/get-by-name", experiment_name="team")["experiment"]
    assert experiment["artifact_location"].startswith("mlflow-artifacts:")  # proxied, not a server path
    runs = rest(uri, "runs/search", {"experiment_ids": [experiment["experiment_id"]]})["runs"]
    run_id = next(r["info"]["run_id"] for r in runs if r["info"]["run_name"] == "acgan-seed0")
    listed = {f["path"] for f in rest(uri, "artifacts/list", run_id=run_id)["files"]}
    assert {"images", "model_card.json", "history.csv"} <= listed
    images = [f["path"] for f in rest(uri, "artifacts/list", run_id=run_id, path="images")["files"]]
    pngs = [p for p in images if p.endswith(".png")]
    assert len(pngs) >= 2  # the `samples` grid of each of the two epochs
    query = urllib.parse.urlencode({"path": pngs[0], "run_uuid": run_id})
    with urllib.request.urlopen(f"{uri}/get-artifact?{query}", timeout=30) as response:
        assert response.read(8) == b"\x89PNG\r\n\x1a\n"
    assert any(artifact_root.rglob("*.png"))  # stored by the server, where it was told


RACER = """
import sys, time
from pathlib import Path
import mlflow
from mlflow.data.meta_dataset import MetaDataset
from mlflow.data.sources import LocalArtifactDatasetSource
from ganlab.tracking import ensure_experiment, log_dataset

uri, gate, attempts = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
with mlflow.start_run(experiment_id=ensure_experiment("race", uri)) as run:
    (gate / run.info.run_id).touch()  # started, and ready
    while not (gate / "go").exists():
        time.sleep(0.01)
    start = float((gate / "go").read_text())
    while time.time() < start:  # all at once, to the microsecond
        pass
    log_dataset(MetaDataset(LocalArtifactDatasetSource("/data/prepared.npz"), name="npz: 3 classes x 30",
                            digest="0123456789abcdef"), {"source": "own.npz"}, attempts=attempts)
"""


def test_trainings_that_start_together_all_log_their_data_set(server, tmp_path):
    """MLflow's store looks a data set up, then inserts it: runs that log one data set at the same
    moment race for it (CI failed so on 2026-11-29: three trainings against this server). With
    attempts=1, i.e. MLflow's own log_input, seven of the eight racers failed, in each of 3 runs."""
    uri, _ = server
    racers = [subprocess.Popen([sys.executable, "-c", RACER, uri, str(tmp_path), str(DATASET_ATTEMPTS)],
                               env={**os.environ, "MLFLOW_TRACKING_URI": uri},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)]
    deadline = time.time() + 120
    while len(list(tmp_path.iterdir())) < len(racers) and time.time() < deadline:
        if any(racer.poll() is not None for racer in racers):
            break  # one died before the gate: its error is reported below
        time.sleep(0.05)
    (tmp_path / "go.tmp").write_text(str(time.time() + 0.5))
    (tmp_path / "go.tmp").rename(tmp_path / "go")
    errors = [racer.communicate(timeout=120)[1] for racer in racers]
    lost = [stderr for racer, stderr in zip(racers, errors) if racer.returncode != 0]
    assert not lost, f"{len(lost)} of {len(racers)} racers failed:\n{lost[0][-2000:]}"
    experiment = rest(uri, "experiments/get-by-name", experiment_name="race")["experiment"]
    runs = rest(uri, "runs/search", {"experiment_ids": [experiment["experiment_id"]]})["runs"]
    assert len(runs) == 8
    for run in runs:
        inputs = run["inputs"]["dataset_inputs"]
        assert [(i["dataset"]["name"], i["dataset"]["digest"]) for i in inputs] == [
            ("npz: 3 classes x 30", "0123456789abcdef")]
