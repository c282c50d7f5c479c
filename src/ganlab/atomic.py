"""Files replaced whole: written under a temporary name, then renamed over the old one, so a
failure (or Ctrl-C) never leaves half a file where the last good one was."""

from __future__ import annotations

import json
from pathlib import Path


def write_text(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(target)


def write_json(target: Path, content: dict) -> None:
    write_text(target, json.dumps(content, indent=2) + "\n")
