"""DVC stage `judge`: train the classifier whose features every metric uses."""

from ganlab.cli import run_stage


def main(cfg, argv):
    from ganlab.data import load_prepared
    from ganlab.judge import save_judge, train_judge
    from ganlab.tracking import log_judge

    data = load_prepared(cfg.prepared_dataset)
    model, accuracy = train_judge(data, cfg.judge.epochs, cfg.judge.batch_size, cfg.seed)
    facts = save_judge(model, accuracy, data.class_names, cfg.judge_model_file, cfg.judge_facts_file)
    run_id = log_judge(cfg, facts, cfg.judge_dir)
    print(f"judge: test accuracy {accuracy:.4f} on {len(data.y_test)} images; MLflow run {run_id}")


if __name__ == "__main__":
    run_stage(main)
