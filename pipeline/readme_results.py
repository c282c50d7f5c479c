"""Fill the README's generated sections (run by `make repro`, `make beyond`): the default run's
results table and the study's claims answered, and for each kept profile run
(results/<profile>/, scripts/run_profile.py) whose markers the README has, its table and claims."""

import sys
from pathlib import Path

from ganlab.config import load_config
from ganlab.results import markers, splice_results


def main(readme: Path = Path("README.md")) -> None:
    cfg = load_config()
    text = readme.read_text()
    for section, source, stage in (("results", cfg.results_table_file, "evaluate"), ("claims", cfg.claims_file, "report")):
        if not source.is_file():
            sys.exit(f"error: {source} does not exist; run the {stage} stage first (dvc repro {stage})")
        text = splice_results(text, source.read_text().strip(), section)
    profiles = []
    for folder in sorted(Path("results").glob("*/")):
        if markers(folder.name)[0] in text and (folder / cfg.results_table_file.name).is_file():
            parts = [(folder / cfg.results_table_file.name).read_text().strip()]
            if (folder / cfg.claims_file.name).is_file():
                parts.append((folder / cfg.claims_file.name).read_text().strip())
            text = splice_results(text, "\n\n".join(parts), folder.name)
            profiles.append(folder.name)
    readme.write_text(text)
    print(f"updated the results table and the claims in {readme}" + "".join(f", and {p}'s" for p in profiles))


if __name__ == "__main__":
    main()
