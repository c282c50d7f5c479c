"""DVC stage `references`: real test images (the floor) and uniform noise (the ceiling) scored
the way every run is."""

from ganlab.cli import run_stage


def main(cfg, argv):
    from ganlab.atomic import write_json
    from ganlab.scoring import evaluate_references

    write_json(cfg.references_file, evaluate_references(cfg))


if __name__ == "__main__":
    run_stage(main)
