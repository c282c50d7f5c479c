"""The report page's prose, kept in prose.txt beside this module (a reader edits words there,
not in Python strings): each block's section title and its text, filled in with string.Template."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from string import Template

PROSE_FILE = Path(__file__).with_name("prose.txt")
HEADER = re.compile(r"^\[(?P<key>[a-z_]+)\](?: (?P<title>.+))?$")


@cache
def blocks(path: Path = PROSE_FILE) -> dict[str, tuple[str, Template]]:
    """key -> (section title or "", text) of every block in the file."""
    found: dict[str, tuple[str, list[str]]] = {}
    key = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("#") or (not line.strip() and key is None):
            continue
        if match := HEADER.match(line):
            key = match["key"]
            if key in found:
                raise ValueError(f"{path}:{number}: block [{key}] is defined twice")
            found[key] = (match["title"] or "", [])
        elif key is None:
            raise ValueError(f"{path}:{number}: text before the first [block] line")
        elif line.strip():
            found[key][1].append(line.strip())
    return {k: (title, Template(" ".join(lines))) for k, (title, lines) in found.items()}


def text(key: str, **values) -> str:
    """A block's text with its $names filled in (a name left unfilled is an error)."""
    return blocks()[key][1].substitute(values)


def title(key: str) -> str:
    return blocks()[key][0]
