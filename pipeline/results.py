"""DVC stage `results`: every run's scores and the references gathered into the metrics files
(means and 95 % intervals over seeds) and the results table. No TensorFlow: seconds."""

from ganlab.atomic import write_text
from ganlab.cli import run_stage
from ganlab.results import gather, results_table, write_evaluation


def main(cfg, argv):
    results = gather(cfg)
    write_evaluation(results, cfg.evaluation_file, cfg.evaluation_by_seed_file)
    write_text(cfg.results_table_file, results_table(results) + "\n")
    print(f"wrote {cfg.evaluation_file}, {cfg.evaluation_by_seed_file} and {cfg.results_table_file}")


if __name__ == "__main__":
    run_stage(main)
