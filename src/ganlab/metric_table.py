"""The scores every run is given, for people and for files: each headline metric's key (as in
the metrics files and MLflow), label and direction, the format of a table cell, and the sizes of
the memorisation check's record. No TensorFlow: the report and the UI set-up read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str  # as in the metrics files and MLflow (eval_<key>)
    label: str  # for people: tables and figures
    lower_is_better: bool


# The headline scores of every run, in the order every table and figure lists them: the one
# place their names and labels are written (class_accuracy, cas: conditional variants only).
METRICS = (
    Metric("fid", "FID", True),
    Metric("kid", "KID", True),
    Metric("precision", "precision", False),
    Metric("recall", "recall", False),
    Metric("density", "density", False),
    Metric("coverage", "coverage", False),
    Metric("classifier_score", "classifier score", False),
    Metric("recognisable", "recognisable", False),
    Metric("class_entropy", "class entropy", False),
    Metric("class_accuracy", "class accuracy", False),
    Metric("cas", "CAS", False),
)
HEADLINE = tuple(m.key for m in METRICS)


# The memorisation check's distances (judge features) are kept as these quantiles per run.
NEAREST_QUANTILES = tuple(i / 100 for i in range(101))
NEAREST_PAIRS = 8  # the samples nearest the training set, shown beside their training images


def format_cell(values: dict, key: str, plus_minus: str = "±", missing: str = "-") -> str:
    """A metric's mean, with its 95 % interval's half-width when there is one."""
    if key not in values:
        return missing
    half = values.get(f"{key}_ci95")
    return f"{values[key]:.3f}" + (f" {plus_minus} {half:.3f}" if half is not None else "")
