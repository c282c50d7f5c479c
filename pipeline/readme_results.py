"""Fill the generated sections of the README and the docs (run by `make repro`, `make beyond`):
the default run's results table and the study's claims answered, and for each kept profile run
(results/<profile>/, scripts/run_profile.py) its table and claims, wherever a page has the
section's markers."""

import sys
from pathlib import Path

from ganlab.config import load_config
from ganlab.readme_splice import markers, splice_results

REQUIRED = ("results", "claims")  # the default run's: the README must show them


def sections(cfg) -> dict[str, str]:
    """Section name -> the text between its markers."""
    out = {}
    for section, source, stage in (("results", cfg.results_table_file, "results"),
                                   ("claims", cfg.claims_file, "report")):
        if not source.is_file():
            sys.exit(f"error: {source} does not exist; run the {stage} stage first (dvc repro {stage})")
        out[section] = source.read_text().strip()
    for table in sorted(Path("results").rglob(cfg.results_table_file.name)):
        folder = table.parent  # results/beyond, results/claims/beta09: sections beyond, claims/beta09
        parts = [table.read_text().strip()]
        if (folder / cfg.claims_file.name).is_file():
            parts.append((folder / cfg.claims_file.name).read_text().strip())
        out[folder.relative_to("results").as_posix()] = "\n\n".join(parts)
    return out


def fill(pages: list[Path], texts: dict[str, str]) -> dict[str, Path]:
    """Every page's marked sections replaced by their texts; section -> the page it went to."""
    filled = {}
    for page in pages:
        text = page.read_text()
        new = text
        for section, body in texts.items():
            if markers(section)[0] in new:
                new = splice_results(new, body, section)
                filled[section] = page
        if new != text:
            page.write_text(new)
    return filled


def main(readme: Path = Path("README.md"), docs: Path = Path("docs")) -> None:
    filled = fill([readme, *sorted(docs.glob("*.md"))], sections(load_config()))
    missing = [s for s in REQUIRED if s not in filled]
    if missing:
        sys.exit(f"error: no page has the markers of {', '.join(missing)} ({markers(missing[0])[0]})")
    print("updated " + ", ".join(f"{section} in {page}" for section, page in filled.items()))


if __name__ == "__main__":
    main()
