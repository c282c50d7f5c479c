"""Fill the README's generated sections, the results table and the study's claims answered
(run by `make repro`)."""

import sys
from pathlib import Path

from ganlab.config import load_config
from ganlab.results import splice_results


def main(readme: Path = Path("README.md")) -> None:
    cfg = load_config()
    text = readme.read_text()
    for section, source, stage in (("results", cfg.results_table_file, "evaluate"), ("claims", cfg.claims_file, "report")):
        if not source.is_file():
            sys.exit(f"error: {source} does not exist; run the {stage} stage first (dvc repro {stage})")
        text = splice_results(text, source.read_text().strip(), section)
    readme.write_text(text)
    print(f"updated the results table and the claims in {readme}")


if __name__ == "__main__":
    main()
