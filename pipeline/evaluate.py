"""DVC stage `evaluate`: score every trained variant and the references with the judge."""

from ganlab.cli import run_stage


def main(cfg, argv):
    from ganlab.evaluation import evaluate, results_table, write_evaluation
    from ganlab.tracking import log_evaluation

    results = evaluate(cfg)
    write_evaluation(results, cfg.evaluation_file, cfg.evaluation_by_seed_file)
    cfg.evaluation_file.with_name("results.md").write_text(results_table(results) + "\n")
    log_evaluation(cfg, results)
    print(f"wrote {cfg.evaluation_file} in {results['seconds']:.0f}s")


if __name__ == "__main__":
    run_stage(main)
