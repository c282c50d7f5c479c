"""The claims' forest plot: what each verdict rests on, one row per claim. Each row shows the
per-seed values its interval was computed from (paired differences, or values against a
target) as dots, the 95 % interval as a bar, and the line it is read against; every row has its
own scale, since the claims measure different things."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ganlab.claims import FAILS, HOLDS, Answer  # noqa: E402

COLOURS = {HOLDS: "tab:green", FAILS: "tab:red"}  # "cannot tell": grey
ROW_INCHES = 0.95


def rows(answers: list[Answer]) -> list[Answer]:
    """The claims that have an interval to draw (one seed gives none)."""
    return [a for a in answers if a.interval is not None and a.interval[1] is not None]


def draw(answers: list[Answer], path: Path) -> Path | None:
    """The forest plot of `answers` to path; None when no claim has an interval."""
    fig = figure(answers)
    if fig is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def figure(answers: list[Answer]):
    """The forest plot's figure, one axis per row of rows(answers) in their order."""
    drawn = rows(answers)
    if not drawn:
        return None
    fig, axes = plt.subplots(len(drawn), 1, figsize=(8.5, ROW_INCHES * len(drawn) + 0.4), squeeze=False)
    for ax, answer in zip(axes[:, 0], drawn):
        centre, half = answer.interval
        colour = COLOURS.get(answer.verdict, "tab:gray")
        ax.axvline(answer.line, color="black", linestyle="--", linewidth=0.8)
        ax.errorbar([centre], [0], xerr=[half], fmt="D", color=colour, capsize=4, markersize=5)
        if answer.values:
            ax.scatter(answer.values, [0.25] * len(answer.values), s=16, color=colour, alpha=0.7, zorder=3)
        ax.set_yticks([])
        ax.set_ylim(-0.5, 0.6)
        ax.set_title("\n".join(textwrap.wrap(f"{answer.label}: {answer.claim}", 120)), loc="left", fontsize=7)
        ax.set_xlabel(answer.axis, fontsize=7, labelpad=1)
        ax.tick_params(labelsize=7)
        ax.spines[["left", "top", "right"]].set_visible(False)
    fig.suptitle("The claims: per-seed values (dots), 95 % interval (bar), the line it is read against (dashed)",
                 fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    return fig
