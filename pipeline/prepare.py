"""DVC stage `prepare`: the configured data source -> data/prepared/dataset.{npz,json}."""

from ganlab.cli import run_stage
from ganlab.data import prepare, save_prepared


def main(cfg, argv):
    data = prepare(cfg.data, cfg.seed)
    facts = save_prepared(data, cfg.prepared_dataset, cfg.prepared_facts)
    counts = ", ".join(f"{c['name']} {c['train']}/{c['test']}" for c in facts["classes"])
    print(f"prepared {facts['train_images']} train and {facts['test_images']} test images "
          f"({facts['image_size']}x{facts['image_size']}) from {facts['source']}: {counts}")
    if data.skipped:
        print(f"left out {len(data.skipped)} file(s), each named above and in {cfg.prepared_facts}")


if __name__ == "__main__":
    run_stage(main)
