"""DVC stage `train@<variant>-<seed>`: train one variant of params.yaml's `variants` at one
of its `seeds`."""

import sys

from ganlab.cli import INTERRUPTED_TRAINING, run_stage, variant_and_seed


def main(cfg, argv):
    variant, seed = variant_and_seed(cfg, argv, "train.py")
    from ganlab.training import train

    summary = train(cfg, variant, seed)
    unhealthy = f", unhealthy ({summary['health']}: see the warning above)" if summary["health"] != "healthy" else ""
    print(f"{cfg.trained_run(variant, seed).name}: done in {summary['train_seconds']:.0f}s{unhealthy}; "
          f"MLflow run {summary['mlflow_run_id']}", file=sys.stderr)


if __name__ == "__main__":
    run_stage(main, interrupted=INTERRUPTED_TRAINING)
