"""The many-seed runs of the study's claims (`make claims`, results/claims/<regime>/): the report
lists their verdicts below the default's and links their files. dvc.yaml's report stage depends on
CLAIMS_RUNS, so a new regime's results rerun the report."""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

CLAIMS_RUNS = Path("results") / "claims"
# profiles/claims/<regime>.yaml, in the order the report shows them
REGIMES = {"beta09": "Adam beta_1 0.9, as the study's code ran it",
           "beta05": "Adam beta_1 0.5, the default's"}


def verdicts(claims_md: Path) -> list[str]:
    """The claim lines of a claims.md (`- **holds**: ...`), without the list marker."""
    return [line[2:] for line in claims_md.read_text().splitlines() if line.startswith("- ")]


def inline_html(markdown: str) -> str:
    """A claim line as HTML: escaped, its **verdict** in bold."""
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(markdown))


def html_block(root: Path, page_dir: Path) -> str:
    """Each regime that has run: its seeds, its verdicts and links to its files; "" when none has."""
    parts = []
    for regime, label in REGIMES.items():
        folder = root / CLAIMS_RUNS / regime
        if not (folder / "claims.md").is_file():
            continue
        metrics = folder / "metrics.json"
        seeds = len(json.loads(metrics.read_text()).get("seeds", [])) if metrics.is_file() else None
        link = Path(os.path.relpath(folder / "claims.md", page_dir)).as_posix()
        heading = f"{label}" + (f", {seeds} training seeds" if seeds else "")
        items = "".join(f"<li>{inline_html(line)}</li>" for line in verdicts(folder / "claims.md"))
        parts.append(f'<h3>{html.escape(heading)} (<a href="{html.escape(link)}">{html.escape(regime)}/claims.md</a>)'
                     f"</h3>\n<ul>{items}</ul>")
    return "\n".join(parts)
