"""Files replaced whole: written under a temporary name, then renamed over the old one, so a
failure (or Ctrl-C) never leaves half a file where the last good one was."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replaced(target: Path) -> Iterator[Path]:
    """A temporary path beside target to write the new file to (same suffix: numpy and Keras
    keep the name as given). When the block ends it is flushed to disk and renamed over target;
    when the block fails or is interrupted it is removed and target stays as it was. Every file
    the pipeline replaces whole goes through here."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.stem}.tmp{target.suffix}")
    try:
        yield tmp
        with open(tmp, "rb") as fh:  # on disk before it replaces the last good one
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(target)


def write_text(target: Path, text: str) -> None:
    with replaced(target) as tmp:
        tmp.write_text(text)


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


def json_text(content: dict) -> str:
    """content as the pipeline's JSON files hold it: indented, NaN and infinities as null."""
    return json.dumps(finite(content), indent=2, allow_nan=False) + "\n"


def write_json(target: Path, content: dict) -> None:
    write_text(target, json_text(content))
