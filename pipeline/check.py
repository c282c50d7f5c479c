"""DVC stage `check` (always run, first): every setting checked against the others and against
the data source's size, before any stage deletes or rewrites an output; writes the source's
digest, the dependency through which DVC sees a changed image, label or IDX file."""

from ganlab.cli import run_stage
from ganlab.data import check_classes, select, source_labels
from ganlab.atomic import write_json
from ganlab.plan import SplitSizes, check_plan, evaluate_samples


def main(cfg, argv):
    labels = source_labels(cfg.data)
    selection = select(cfg.data, labels, cfg.seed)
    check_classes(selection, labels)
    sizes = SplitSizes.of(selection.class_names, selection.y_train, selection.y_test)
    check_plan(cfg, sizes)
    # Only what the data is, never where it lies: the same files on another machine (Keras's
    # cache instead of Debian's package) are the same source.
    write_json(cfg.source_facts, {"source": labels.kind, "sha256": labels.sha256, "labels": int(len(labels.train))
                                  + (0 if labels.test is None else int(len(labels.test)))})
    left_out = f"; {len(labels.skipped)} file(s) left out (prepare names them)" if labels.skipped else ""
    print(f"check: settings fit the data: {labels.kind} at {labels.location} (sha256 {labels.sha256[:12]}), "
          f"{sizes.train_images} train and {sizes.test_images} test images of {len(sizes.class_names)} classes "
          f"planned, evaluate.samples {evaluate_samples(cfg.evaluate.samples, sizes.train_images)}{left_out}")


if __name__ == "__main__":
    run_stage(main)
