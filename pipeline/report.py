"""DVC stage `report`: what training and evaluation wrote -> reports/index.html, its figures,
the curves table for `dvc plots`, and an MLflow `comparison` run."""

from ganlab.cli import run_stage


def main(cfg, argv):
    from ganlab.report import build_report
    from ganlab.tracking import log_report

    report = build_report(cfg)
    for path in [report.page, *report.files]:
        print(f"wrote {path}")
    if report.frames:
        print(f"wrote {len(report.frames)} grids for the side-by-side row under {report.frames[0].parent.parent}")
    own = {name: files for name, files in report.animations.items() if name in report.run_ids}
    run_id = log_report(cfg, report.page, [*report.files, *report.frames], report.run_ids, own, report.headline)
    print(f"MLflow comparison run {run_id}")


if __name__ == "__main__":
    run_stage(main)
