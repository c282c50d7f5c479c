"""How the MLflow UI opens the project's experiment: as model training, on a saved view of the
runs table (the scores as the first columns, sorted by FID), at an address `ganlab ui` prints.

MLflow 3.17 opens an experiment on its GenAI pages unless the address says otherwise
(`workflowType=machine_learning`); the experiment-kind tag is set too, for a later MLflow that
reads it. The view is a shared view: an experiment tag `mlflow.sharedViewState.<key>` that the UI
loads for `viewStateShareKey=<key>`, so a browser with no saved settings sees it.
"""

from __future__ import annotations

import json
from typing import Any

from ganlab.config import Config
from ganlab.metric_table import METRICS
from ganlab.tracking import EVAL_PREFIX, ensure_experiment, tracking_uri


# The shared view of the runs table that `ganlab ui` opens (an experiment tag, read by the UI).
RUNS_VIEW = "ganlab-runs"
SHARED_VIEW_TAG = "mlflow.sharedViewState."


def runs_view() -> dict[str, Any]:
    """The runs table as a user comparing variants wants it: training runs by FID, the
    headline scores, the variant, seed, health (ganlab.watch) and data set as columns, grouped by variant (a row per
    variant holding its seeds' runs, the charts drawing each group's mean and band over seeds)."""
    column = "{}.`{}`".format
    scores = [column("metrics", EVAL_PREFIX + m.key) for m in METRICS]
    columns = [*scores, column("metrics", "train_seconds"), column("tags", "variant"), column("tags", "seed"),
               column("tags", "health"), column("attributes", "Dataset"), column("attributes", "Models")]
    return {
        "searchFilter": "",
        "orderByKey": column("metrics", EVAL_PREFIX + "fid"),
        "orderByAsc": True,
        "selectedColumns": columns,
        "columnOrder": columns,  # the scores first, where the table opens
        "columnWidths": {c: 110 for c in scores},
        # MLflow's run grouping (the runs table's "Group by" menu): by the `variant` tag, the
        # group's values the seeds' average, and the charts drawing the groups, not the runs
        "groupBy": {"aggregateFunction": "average", "groupByKeys": [{"mode": "tag", "groupByData": "variant"}]},
        "useGroupedValuesInCharts": True,
    }


def describe_experiment(experiment_id: str) -> None:
    """Tags that make the UI open the experiment as model training (a later MLflow reads the
    kind; 3.17 takes it from the link) with the runs view `ganlab ui` links to. Written only
    when they differ, so concurrent stages do not rewrite them."""
    import mlflow

    wanted = {"mlflow.experimentKind": "custom_model_development",
              SHARED_VIEW_TAG + RUNS_VIEW: json.dumps(runs_view(), sort_keys=True)}
    tags = mlflow.get_experiment(experiment_id).tags
    for key, value in wanted.items():
        if tags.get(key) != value:
            mlflow.MlflowClient().set_experiment_tag(experiment_id, key, value)


def ui_url(experiment_id: str, host: str = "127.0.0.1", port: int = 5000) -> str:
    """The UI's address that lands on the experiment's runs table (Model training navigation,
    the runs view's columns) in a browser with no saved settings: MLflow 3.17 picks the GenAI
    pages unless the link says workflowType=machine_learning."""
    return (f"http://{host}:{port}/#/experiments/{experiment_id}/runs"
            f"?workflowType=machine_learning&viewStateShareKey={RUNS_VIEW}")


def describe(cfg: Config) -> str:
    """The project's training experiment (created if missing) with the UI's tags; its id."""
    experiment_id = ensure_experiment(cfg.mlflow.experiment, tracking_uri(cfg))
    describe_experiment(experiment_id)
    return experiment_id
