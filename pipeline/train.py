"""DVC stage `train@<variant>`: train one variant of params.yaml's `variants`."""

import sys

from ganlab.cli import run_stage
from ganlab.config import ConfigError


def main(cfg, argv):
    if len(argv) != 1:
        raise ConfigError(f"usage: python pipeline/train.py VARIANT (one of {', '.join(cfg.variants)})")
    cfg.variant(argv[0])  # an unknown name fails here, before TensorFlow is imported
    from ganlab.training import train

    summary = train(cfg, argv[0])
    print(f"{argv[0]}: done in {summary['train_seconds']:.0f}s; MLflow run {summary['mlflow_run_id']}",
          file=sys.stderr)


if __name__ == "__main__":
    run_stage(main)
