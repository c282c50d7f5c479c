"""DVC stage `train@<variant>-<seed>`: train one variant of params.yaml's `variants` at one
of its `seeds`."""

import sys

from ganlab.cli import run_stage
from ganlab.config import ConfigError


def main(cfg, argv):
    if len(argv) not in (1, 2) or (len(argv) == 2 and not argv[1].isdigit()):
        raise ConfigError(f"usage: python pipeline/train.py VARIANT [SEED] (variants: {', '.join(cfg.variants)}; "
                          f"seeds: {cfg.seeds}; SEED defaults to the first)")
    variant, seed = argv[0], int(argv[1]) if len(argv) == 2 else cfg.seeds[0]
    cfg.variant(variant)  # an unknown name or seed fails here, before TensorFlow is imported
    cfg.check_seed(seed)
    from ganlab.training import train

    summary = train(cfg, variant, seed)
    print(f"{cfg.run_name(variant, seed)}: done in {summary['train_seconds']:.0f}s; "
          f"MLflow run {summary['mlflow_run_id']}", file=sys.stderr)


if __name__ == "__main__":
    run_stage(main)
