"""DVC stage `report`: what training wrote -> figures under reports/figures."""

from ganlab.cli import run_stage


def main(cfg, argv):
    from ganlab.report import build_report

    for path in build_report(cfg):
        print(f"wrote {path}")


if __name__ == "__main__":
    run_stage(main)
