"""Per-epoch checkpoints that let a killed training resume as if it had never stopped.

One file a variant, replaced atomically every epoch: every variable of the GAN (weights,
BatchNorm statistics, the seed generators' states, Dropout's included), both optimisers'
state, the epoch, the history so far, the MLflow run id, and a fingerprint of the settings and
data it belongs to. Data order needs no state: each epoch's order is a function of (seed, epoch).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganlab.atomic import replaced

CHECKPOINT_FILE = "checkpoint.npz"


@dataclass(frozen=True)
class Checkpoint:
    epoch: int  # epochs completed
    run_id: str
    fingerprint: str
    history: list[dict]
    complete: bool


def fingerprint(settings: dict, data_sha256: str) -> str:
    """What a checkpoint must match to be resumed from: the run's settings and its data."""
    payload = json.dumps({"settings": settings, "data": data_sha256}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def state_variables(gan) -> list:
    """Every variable whose value a resumed run needs, in a fixed order."""
    gan.d_optimizer.build(gan.discriminator.trainable_variables)
    gan.g_optimizer.build(gan.generator.trainable_variables)
    return [*gan.variables, *gan.d_optimizer.variables, *gan.g_optimizer.variables]


def save_checkpoint(folder: Path, gan, checkpoint: Checkpoint) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    variables = state_variables(gan)
    meta = {**checkpoint.__dict__, "variables": [[v.path, list(v.shape)] for v in variables]}
    arrays = {f"v{i:04d}": np.asarray(v) for i, v in enumerate(variables)}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    target = folder / CHECKPOINT_FILE
    with replaced(target) as tmp:
        np.savez(tmp, **arrays)
    return target


def read_checkpoint(folder: Path) -> Checkpoint | None:
    """The checkpoint's facts (not its arrays), or None when there is none or it is unreadable."""
    path = folder / CHECKPOINT_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes())
    except Exception:  # a torn or foreign file is no checkpoint: training starts afresh
        return None
    meta.pop("variables", None)
    return Checkpoint(**meta)


def restore_checkpoint(folder: Path, gan) -> None:
    variables = state_variables(gan)
    with np.load(folder / CHECKPOINT_FILE, allow_pickle=False) as npz:
        saved = json.loads(npz["meta"].tobytes())["variables"]
        # Shapes, not names: Keras numbers layer names per process (dense, dense_1, ...).
        if [shape for _, shape in saved] != [list(v.shape) for v in variables]:
            raise ValueError(f"{folder / CHECKPOINT_FILE} was written by a different model; delete it to start afresh")
        for i, variable in enumerate(variables):
            variable.assign(npz[f"v{i:04d}"])
