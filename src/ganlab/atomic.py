"""Files replaced whole: written under a temporary name, then renamed over the old one, so a
failure (or Ctrl-C) never leaves half a file where the last good one was."""

from __future__ import annotations

import json
import math
from pathlib import Path


def write_text(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(target)


def finite(content):
    """content with every NaN or infinite float as None: JSON has no NaN, and Python's `NaN`
    makes a file other readers (and `dvc metrics`) refuse."""
    if isinstance(content, float) and not math.isfinite(content):
        return None
    if isinstance(content, dict):
        return {k: finite(v) for k, v in content.items()}
    if isinstance(content, (list, tuple)):
        return [finite(v) for v in content]
    return content


def write_json(target: Path, content: dict) -> None:
    write_text(target, json.dumps(finite(content), indent=2, allow_nan=False) + "\n")
