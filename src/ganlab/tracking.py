"""Everything MLflow: where the store is, one run per training, what each run logs (its tags: run_tags).

The default store is SQLite `mlflow.db` at the project root with artifacts in `mlartifacts/`
beside it, both as absolute paths: `dvc exp run --temp/--queue` runs stages in a temporary
copy, and a relative path would write the runs there and lose them. DVC sets DVC_ROOT to the
real project for such runs, so the store is resolved against it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np

from ganlab.config import Config
from ganlab.run_tags import (end_abandoned_runs, flat_key, flatten, process_tags, project_root,
                             provenance_tags, run_tags)
from ganlab.trained_run import MODEL_CARD, TrainedRun, run_name


def tracking_uri(cfg: Config) -> str:
    """MLFLOW_TRACKING_URI if set, else mlflow.tracking_uri, else sqlite at the project root."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or cfg.mlflow.tracking_uri
    root = project_root(cfg)
    if not uri:
        return f"sqlite:///{root / 'mlflow.db'}"
    if uri.startswith("sqlite:///") and not uri.removeprefix("sqlite:///").startswith("/"):
        return f"sqlite:///{(root / uri.removeprefix('sqlite:///')).resolve()}"
    return uri


def artifact_location(uri: str) -> str | None:
    """Artifacts beside a local SQLite store; a server or other store decides for itself."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").as_uri()
    return None


def ensure_experiment(name: str, uri: str) -> str:
    import mlflow

    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return mlflow.create_experiment(name, artifact_location=artifact_location(uri))
    except MlflowException:
        # Concurrent stages (dvc queue -j N, several trainings against one server) race to
        # create it: the loser uses the winner's.
        experiment = mlflow.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


# The score stage's scores on each training run: eval_fid, eval_recognisable, ...
EVAL_PREFIX = "eval_"


def reports_experiment(cfg: Config) -> str:
    """Where the judge and the comparison runs go: beside the training experiment, not in it, so
    that its runs table, charts and compare view hold only training runs (which all have the
    same metrics), whichever stages a `dvc repro` or `dvc exp run` ran."""
    return f"{cfg.mlflow.experiment}-reports"


def dataset_input(cfg: Config, data_facts: dict):
    """The prepared data set as an MLflow dataset (the runs table's Dataset column): named by its
    source and classes, with the prepared file's digest, and the images per class as tags."""
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.data.sources import LocalArtifactDatasetSource

    classes = data_facts.get("classes", [])
    counts = sorted({c["train"] for c in classes})
    per_class = f" x {counts[0]}" if len(counts) == 1 else ""
    name = f"{cfg.data.source}: {len(classes)} classes{per_class}" if classes else cfg.data.source
    # MLflow keeps at most 36 characters of a digest; 16 hex digits of the sha256 tell files apart.
    digest = data_facts.get("dataset_sha256", "unknown")[:16]
    dataset = MetaDataset(LocalArtifactDatasetSource(str(cfg.prepared_dataset)), name=name, digest=digest)
    tags = {"source": str(data_facts.get("source", cfg.data.path or cfg.data.source)),
            "train_images": str(data_facts.get("train_images", "")),
            "class_counts": ", ".join(f"{c['name']}: {c['train']}" for c in classes)}
    return dataset, tags


DATASET_ATTEMPTS = 4


def log_dataset(dataset, tags: dict[str, str], attempts: int = DATASET_ATTEMPTS) -> None:
    """The data set as the active run's training input. MLflow's SQL store looks the data set up
    and then inserts it, in two steps: trainings of one experiment that start together (dvc repro
    of several stages against one server, dvc queue -j N) can all miss it, and all but the first
    insert then break its unique key. Tried again, the look-up finds the first one's."""
    import mlflow
    from mlflow.exceptions import MlflowException

    for attempt in range(1, attempts + 1):
        try:
            mlflow.log_input(dataset, context="training", tags=tags)
            return
        except MlflowException as error:
            if attempt == attempts or not is_duplicate_key(error):
                raise
            time.sleep(0.1 * attempt)


def is_duplicate_key(error: Exception) -> bool:
    # PostgreSQL: "duplicate key value violates unique constraint"; SQLite: "UNIQUE constraint
    # failed"; MySQL: "Duplicate entry". MLflow passes the database's words on, not a code.
    words = str(error).lower()
    return "unique constraint" in words or "duplicate entry" in words or "duplicate key" in words


def run_params(cfg: Config, variant: str, seed: int) -> dict[str, Any]:
    settings = cfg.run_settings(variant, seed).model_dump()
    return flatten({
        **settings,
        "data": cfg.data.model_dump(),
        "options": cfg.variant(variant).model_dump(exclude={"family", "epochs", "batch_size"}),
    })


class RunLogger:
    """What a training loop logs, per epoch and at the end."""

    def __init__(self, run_id: str):
        self.run_id = run_id

    def log_epoch(self, epoch: int, metrics: dict[str, float], grid: np.ndarray) -> None:
        import mlflow

        # One log_batch call for all curves: per-call cost dominates on SQLite.
        # NaN marks an epoch without a value (fid is computed every train.fid_every epochs).
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if not np.isnan(v)}, step=epoch)
        mlflow.log_image(grid, key="samples", step=epoch)

    def catch_up(self, history: list[dict], files: TrainedRun) -> None:
        """After a resume: log the checkpointed epochs the killed process had not logged yet."""
        from mlflow.tracking import MlflowClient

        logged = MlflowClient().get_metric_history(self.run_id, "g_loss")
        last = max((m.step for m in logged), default=0)
        for row in history:
            if row["epoch"] > last:
                grid = iio.imread(files.grid_file(row["epoch"]))
                self.log_epoch(row["epoch"], {k: v for k, v in row.items() if k != "epoch"}, grid)

    def log_generator(self, generator, model_card: dict, example_input, example_output: np.ndarray) -> None:
        import mlflow
        from mlflow.models import infer_signature

        # The signature from a known (noise -> images) pair: MLflow would otherwise warn, or run
        # the model itself to infer one.
        mlflow.keras.log_model(generator, name="generator", pip_requirements=_keras_requirements(),
                               signature=infer_signature(example_input, example_output))
        mlflow.log_dict(model_card, MODEL_CARD)

    def set_tag(self, key: str, value: str) -> None:
        from mlflow.tracking import MlflowClient

        MlflowClient().set_tag(self.run_id, key, value)

    def log_files(self, paths: list[Path], artifact_dir: str | None = None) -> None:
        import mlflow

        for path in paths:
            mlflow.log_artifact(str(path), artifact_dir)


class NullLogger(RunLogger):
    """What a non-chief worker of a multi-worker run logs: nothing (the chief logs the run)."""

    def __init__(self):
        super().__init__(run_id="")

    def log_epoch(self, epoch, metrics, grid) -> None:
        pass

    def catch_up(self, history, files) -> None:
        pass

    def log_generator(self, generator, model_card, example_input, example_output) -> None:
        pass

    def set_tag(self, key, value) -> None:
        pass

    def log_files(self, paths, artifact_dir=None) -> None:
        pass


def _keras_requirements() -> list[str]:
    # Stated, not inferred: MLflow's inference imports and times the model, for a known answer.
    from importlib.metadata import version

    reqs = [f"keras=={version('keras')}"]
    for dist in ("tensorflow-cpu", "tensorflow"):
        try:
            reqs.append(f"{dist}=={version(dist)}")
            break
        except Exception:
            continue
    return reqs


@contextmanager
def training_run(cfg: Config, variant: str, seed: int, data_facts: dict,
                 run_id: str | None = None, extends: str | None = None,
                 execution: dict[str, str] | None = None) -> Iterator[RunLogger]:
    """An MLflow run named after the variant and seed (or, resuming, the run it started; a run
    trained on for more epochs names the one it extends), tagged with how it computes
    (`execution`: precision, device); KILLED if the block is interrupted, FAILED if it raises."""
    import mlflow

    uri = tracking_uri(cfg)
    experiment_id = ensure_experiment(cfg.mlflow.experiment, uri)
    end_abandoned_runs(experiment_id, run_name(variant, seed), resuming=run_id)
    if run_id is not None:
        run = mlflow.start_run(run_id=run_id)
    else:
        run = mlflow.start_run(experiment_id=experiment_id, run_name=run_name(variant, seed),
                               tags=run_tags(cfg, variant, seed, data_facts) | ({"extends": extends} if extends else {}))
    try:
        mlflow.set_tags((execution or {}) | process_tags())  # on a resume: where it finished
        if run_id is not None:
            mlflow.set_tag("resumed", "true")
        else:
            mlflow.log_params(run_params(cfg, variant, seed))
            log_dataset(*dataset_input(cfg, data_facts))
        yield RunLogger(run.info.run_id)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM turned into one by ganlab.cli
        mlflow.end_run(status="KILLED")
        raise
    except BaseException:
        mlflow.end_run(status="FAILED")
        raise
    mlflow.end_run(status="FINISHED")


def log_scores(cfg: Config, result: dict) -> dict[str, float]:
    """One run's scores as metrics of its own training run, so the UI's compare view can sort
    the stabilisers (and seeds) by FID; returns the headline ones as logged (none without a run)."""
    run_id = result.get("mlflow_run_id")
    if not run_id:
        return {}
    import mlflow
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(tracking_uri(cfg))
    client = MlflowClient()
    now = int(time.time() * 1000)
    numbers = {f"{EVAL_PREFIX}{k}": float(v) for k, v in result.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "seconds"}
    numbers |= {f"{EVAL_PREFIX}share_{flat_key(name)}": share for name, share in result["class_share"].items()}
    client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in numbers.items()])
    client.set_tag(run_id, "judge_sha256", result["judge_sha256"])
    for key, value in result.get("provenance", {}).items():  # how the scores were computed (ganlab.provenance)
        client.set_tag(run_id, f"provenance.{key}", str(value))
    return {k: v for k, v in numbers.items() if not k.startswith(f"{EVAL_PREFIX}share_")}


def log_report(cfg: Config, page: Path, files: list[Path], run_ids: dict[str, str],
               own_files: dict[str, list[Path]], metrics: dict[str, float]) -> str:
    """A `comparison` run holding the page and every figure, tagged with the runs it compares;
    each training run also gets its own figures (its progress animation)."""
    import mlflow
    from mlflow.tracking import MlflowClient

    experiment_id = ensure_experiment(reports_experiment(cfg), tracking_uri(cfg))
    tags = {"role": "comparison", "compares": ",".join(run_ids.values()), **provenance_tags(cfg)}
    tags |= {f"run.{name}": run_id for name, run_id in run_ids.items()}
    with mlflow.start_run(experiment_id=experiment_id, run_name="comparison", tags=tags) as run:
        mlflow.log_metrics(metrics)
        mlflow.log_artifact(str(page), "report")
        for path in files:  # where the page links it, so that MLflow's copy of the page works too
            mlflow.log_artifact(str(path), Path("report", os.path.relpath(path.parent, page.parent)).as_posix())
        comparison_id = run.info.run_id
    client = MlflowClient()
    for name, paths in own_files.items():
        for path in paths:
            client.log_artifact(run_ids[name], str(path), "figures")
        client.set_tag(run_ids[name], "comparison_run", comparison_id)
    return comparison_id


def log_judge(cfg: Config, facts: dict, folder: Path) -> str:
    """The judge as a run of its own (tag role=judge): its accuracy and the model file."""
    import mlflow

    experiment_id = ensure_experiment(reports_experiment(cfg), tracking_uri(cfg))
    tags = {"role": "judge", **provenance_tags(cfg)}
    with mlflow.start_run(experiment_id=experiment_id, run_name="judge", tags=tags) as run:
        mlflow.log_params(flatten({"judge": cfg.judge.model_dump(), "seed": cfg.seed}))
        mlflow.log_metric("test_accuracy", facts["test_accuracy"])
        mlflow.log_artifacts(str(folder), "judge")
        return run.info.run_id
