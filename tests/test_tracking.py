"""A training run's start in MLflow: its data set input survives trainings that start together,
and a run whose start fails ends FAILED rather than staying RUNNING forever."""

from __future__ import annotations

import pytest

from conftest import tiny_params, write_yaml
from ganlab import tracking
from ganlab.config import load_config

# What PostgreSQL said when three trainings logged one data set at once (CI, 2026-11-29).
RACE = ('BAD_REQUEST: (psycopg.errors.UniqueViolation) duplicate key value violates unique constraint '
        '"dataset_pk"\nDETAIL:  Key (experiment_id, name, digest)=(1, npz: 3 classes x 27, 9f06) already exists.')
FACTS = {"dataset_sha256": "ab" * 32, "classes": [{"name": "a", "train": 27}, {"name": "b", "train": 27}]}


@pytest.fixture
def cfg(tmp_path, params, npz_file, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setattr(tracking.time, "sleep", lambda seconds: None)
    return load_config(write_yaml(tiny_params(params, npz_file), tmp_path / "params.yaml"))


def failing_first(times: int, message: str, monkeypatch) -> list[int]:
    """mlflow.log_input raising `message` on its first `times` calls, then logging for real."""
    import mlflow
    from mlflow.exceptions import MlflowException

    real, calls = mlflow.log_input, []

    def log_input(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise MlflowException(message)
        return real(*args, **kwargs)

    monkeypatch.setattr(mlflow, "log_input", log_input)
    return calls


def the_run(cfg):
    from mlflow.tracking import MlflowClient

    runs = MlflowClient(tracking.tracking_uri(cfg)).search_runs(
        [tracking.ensure_experiment(cfg.mlflow.experiment, tracking.tracking_uri(cfg))])
    assert len(runs) == 1
    return runs[0]


def test_a_training_that_loses_the_race_for_the_data_set_still_logs_it(cfg, monkeypatch):
    calls = failing_first(2, RACE, monkeypatch)
    with tracking.training_run(cfg, "dcgan", 0, FACTS):
        pass
    run = the_run(cfg)
    assert len(calls) == 3  # two lost races, then the look-up finds the data set
    assert run.info.status == "FINISHED"
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["npz: 2 classes x 27"]


@pytest.mark.parametrize("message, calls_made", [
    ("RESOURCE_DOES_NOT_EXIST: no such experiment", 1),  # not a race: raised at once
    (RACE, tracking.DATASET_ATTEMPTS),  # a race that never ends: raised after the last attempt
])
def test_a_run_whose_start_fails_ends_failed(cfg, monkeypatch, message, calls_made):
    from mlflow.exceptions import MlflowException

    calls = failing_first(99, message, monkeypatch)
    with pytest.raises(MlflowException):
        with tracking.training_run(cfg, "dcgan", 0, FACTS):
            pytest.fail("the run's block ran although its start failed")
    assert len(calls) == calls_made
    assert the_run(cfg).info.status == "FAILED"  # was RUNNING: the UI showed it as training forever


@pytest.mark.parametrize("words, duplicate", [
    (RACE, True),
    ("(sqlite3.IntegrityError) UNIQUE constraint failed: datasets.experiment_id", True),
    ("(pymysql.err.IntegrityError) (1062, \"Duplicate entry '1-x-y' for key 'PRIMARY'\")", True),
    ("database is locked", False),
    ("INVALID_PARAMETER_VALUE: digest too long", False),
])
def test_duplicate_keys_are_told_from_other_errors(words, duplicate):
    assert tracking.is_duplicate_key(Exception(words)) is duplicate


def test_a_run_is_tagged_with_how_it_computes_and_a_resume_with_where_it_finished(cfg):
    facts = {"precision": "mixed_bfloat16", "device": "CPU", "cpu": "Intel Xeon", "cpu_bfloat16": "amx"}
    with tracking.training_run(cfg, "dcgan", 0, FACTS, execution=facts):
        pass
    run = the_run(cfg)
    assert {k: run.data.tags[k] for k in facts} == facts
    moved = facts | {"cpu": "AMD EPYC", "cpu_bfloat16": "none"}
    with tracking.training_run(cfg, "dcgan", 0, FACTS, run_id=run.info.run_id, execution=moved):
        pass
    assert {k: the_run(cfg).data.tags[k] for k in moved} == moved
