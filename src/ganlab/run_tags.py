"""What every MLflow run of the project carries to say where it came from: the variant, seeds,
data and params digests, the commit and DVC's stage variables, and which process trains it (so a
run left RUNNING by a `kill -9` is found and ended)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

from ganlab.config import Config


def project_root(cfg: Config) -> Path:
    return Path(os.environ.get("DVC_ROOT") or cfg.root).resolve()


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"data": {"source": "npz"}} -> {"data.source": "npz"}; lists become their repr."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _git(root: Path, *args: str) -> str:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def run_tags(cfg: Config, variant: str, seed: int, data_facts: dict) -> dict[str, str]:
    root = project_root(cfg)
    tags = {
        "variant": variant,
        "family": cfg.variant(variant).family,
        "seed": str(seed),
        "data_seed": str(cfg.seed),
        "git_dirty": str(bool(_git(root, "status", "--porcelain", "--untracked-files=no"))).lower(),
        "data_sha256": data_facts.get("dataset_sha256", "unknown"),
        "source_sha256": data_facts.get("source_sha256", "unknown"),
        "params_sha256": params_hash(cfg),
    }
    return tags | provenance_tags(cfg)


def process_tags() -> dict[str, str]:
    """Which process trains the run: how a later run tells a run left RUNNING by a `kill -9`."""
    return {"host": socket.gethostname(), "pid": str(os.getpid())}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def end_abandoned_runs(experiment_id: str, run_name: str, resuming: str | None = None) -> list[str]:
    """Runs of this name still RUNNING although the process of this machine that trained them is
    gone (a `kill -9`, a power cut, a lost node) are ended KILLED; their ids. A run trained
    elsewhere, or by a process that still lives, is left alone."""
    from mlflow.tracking import MlflowClient

    client, host = MlflowClient(), socket.gethostname()
    ended = []
    for run in client.search_runs([experiment_id], f"attributes.run_name = '{run_name}' "
                                                   "and attributes.status = 'RUNNING'"):
        tags = run.data.tags
        if run.info.run_id != resuming and tags.get("host") == host and tags.get("pid", "").isdigit() and not _alive(int(tags["pid"])):
            client.set_terminated(run.info.run_id, status="KILLED")
            ended.append(run.info.run_id)
    return ended


def provenance_tags(cfg: Config) -> dict[str, str]:
    """The commit, and DVC's own variables for the stage it runs: the link from a DVC
    experiment to its runs (every run a stage logs carries them)."""
    tags = {"git_commit": _git(project_root(cfg), "rev-parse", "HEAD") or "unknown"}
    for env, tag in (("DVC_STAGE", "dvc_stage"), ("DVC_EXP_NAME", "dvc_exp_name"),
                     ("DVC_EXP_BASELINE_REV", "dvc_exp_baseline_rev")):
        if os.environ.get(env):
            tags[tag] = os.environ[env]
    return tags


def params_hash(cfg: Config) -> str:
    """sha256 of every param (canonical JSON): runs with this tag ran the same params.yaml
    content, whichever DVC experiment or commit they came from."""
    canonical = json.dumps(cfg.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def flat_key(name: str) -> str:
    """A class name as an MLflow metric key (letters, digits, _ - . / and spaces only)."""
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in name)
