"""DVC stage `score@<variant>-<seed>`: one trained run scored by the judge (its own stage, so an
experiment on one variant scores that variant only)."""

from ganlab.cli import run_stage, variant_and_seed


def main(cfg, argv):
    variant, seed = variant_and_seed(cfg, argv, "score.py")
    from ganlab.atomic import write_json
    from ganlab.scoring import evaluate_run
    from ganlab.mlflow_ui import describe
    from ganlab.registry import register_generator
    from ganlab.tracking import EVAL_PREFIX, log_scores

    result = evaluate_run(cfg, variant, seed)
    write_json(cfg.trained_run(variant, seed).score_file, result)
    headline = log_scores(cfg, result)
    if headline:
        from mlflow.tracking import MlflowClient

        register_generator(MlflowClient(), result["mlflow_run_id"], headline, fid_key=EVAL_PREFIX + "fid")
    if result.get("mlflow_run_id"):
        describe(cfg)  # the UI's runs view, now that the runs have the scores it shows


if __name__ == "__main__":
    run_stage(main)
