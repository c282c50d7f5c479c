"""Fill the README's results section from the results table (run by `make repro`)."""

import sys
from pathlib import Path

from ganlab.config import load_config
from ganlab.results import splice_results


def main(readme: Path = Path("README.md")) -> None:
    table = load_config().results_table_file
    if not table.is_file():
        sys.exit(f"error: {table} does not exist; run the evaluate stage first (dvc repro evaluate)")
    readme.write_text(splice_results(readme.read_text(), table.read_text().strip()))
    print(f"updated the results table in {readme}")


if __name__ == "__main__":
    main()
