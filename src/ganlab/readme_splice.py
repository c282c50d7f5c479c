"""The README's generated sections (the results table, the claims): found by their markers
and replaced whole, the rest of the README kept as it is."""

from __future__ import annotations


def markers(section: str) -> tuple[str, str]:
    """The README's start and end markers of a generated section ("results", "claims")."""
    return f"<!-- {section}:start -->", f"<!-- {section}:end -->"


RESULTS_START, RESULTS_END = markers("results")


def splice_results(readme: str, table: str, section: str = "results") -> str:
    """README text with the part between a section's markers replaced by the text."""
    start, end = markers(section)
    if start not in readme or end not in readme:
        raise ValueError(f"README has no {start} ... {end} section to fill")
    head, rest = readme.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{table}\n{end}{tail}"
