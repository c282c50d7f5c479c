"""reports/index.html: one self-contained page (relative links only) with the results table,
every figure and a short text per section."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path

from ganlab.metric_table import METRICS, format_cell

from ganlab.results import health_note



@dataclass
class Section:
    title: str
    text: str                                   # HTML (already escaped where it holds data)
    images: list[Path] = field(default_factory=list)
    videos: list[Path] = field(default_factory=list)
    html_block: str = ""                        # HTML after the paragraph (a list, a table)


def html_results_table(evaluation: dict) -> str:
    """The metrics file as an HTML table: variants by FID, then the two references."""
    rows = sorted(evaluation["variants"].items(), key=lambda item: item[1]["fid"])
    rows += [(f"{name} (reference)", ref) for name, ref in evaluation["references"].items()]
    head = "".join(f"<th>{html.escape(m.label)}</th>" for m in METRICS)
    body = "\n".join(
        f'<tr data-variant="{html.escape(name)}"><th>{html.escape(name)}'
        + (f' <span class="flagged">({len(values["left_out"])} run(s) left out)</span>' if values.get("left_out") else "")
        + "</th>"
        + "".join(f'<td data-metric="{m.key}">{format_cell(values, m.key, "&plusmn;", "&ndash;")}</td>'
                  for m in METRICS) + "</tr>"
        for name, values in rows
    )
    note = health_note(evaluation["variants"])
    return (f'<table id="results"><thead><tr><th>variant</th>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>'
            + (f'<p class="flagged">{html.escape(note.strip())}</p>' if note else ""))


def provenance_block(evaluation: dict) -> str:
    """The scores' provenance card (ganlab.provenance) below the table: what all share, and what
    differs between the runs compared; "" for metrics written before cards existed."""
    card = evaluation.get("provenance")
    if not card:
        return ""
    rows = [(k, str(v)) for k, v in card["shared"].items()]
    rows += [(k, ", ".join(v) + " (differs between the runs compared)") for k, v in card["differs"].items()]
    body = "".join(f'<tr data-entry="{html.escape(k)}"><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>'
                   for k, v in rows)
    return ('<details id="provenance"><summary>How every score was computed (its provenance card)</summary>'
            f"<table>{body}</table></details>")


def _media(section: Section, root: Path) -> str:
    parts = []
    for image in section.images:
        rel = Path(os.path.relpath(image, root)).as_posix()
        parts.append(f'<figure><img src="{html.escape(rel)}" alt="{html.escape(image.stem)}">'
                     f"<figcaption>{html.escape(image.name)}</figcaption></figure>")
    for video in section.videos:
        rel = Path(os.path.relpath(video, root)).as_posix()
        parts.append(f'<figure><video src="{html.escape(rel)}" controls loop muted></video>'
                     f"<figcaption>{html.escape(video.name)}</figcaption></figure>")
    return "\n".join(parts)


STYLE = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:0.9em}th,td{padding:0.3em 0.6em;border-bottom:1px solid #ddd;text-align:right}
th:first-child{text-align:left}figure{display:inline-block;margin:0.5em}img,video{max-width:100%}
figcaption,.epoch-caption{font-size:0.8em;color:#666}
.side-by-side img{width:150px;image-rendering:pixelated}.side-by-side td,.side-by-side thead th{text-align:center}#epoch-slider{width:20em}.broken{outline:3px solid red}
.flagged-run img{outline:3px solid #c60}.flagged{color:#c60;font-size:0.9em}"""

# Marks an image that does not load (a red outline) and records the counts on <html>, where a
# headless browser (tests/test_pipeline.py) or a person with the inspector can read them.
CHECK_IMAGES = """window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images), ok = 0;
  imgs.forEach(function (im) { if (im.complete && im.naturalWidth > 0) { ok++; } else { im.className += ' broken'; } });
  document.documentElement.setAttribute('data-images', ok + '/' + imgs.length);
});"""


def render_page(title: str, intro: str, table: str, sections: list[Section], root: Path) -> str:
    body = "\n".join(
        f'<section id="s{i}"><h2>{html.escape(s.title)}</h2>\n<p>{s.text}</p>\n{s.html_block}{_media(s, root)}\n</section>'
        for i, s in enumerate(sections, 1)
    )
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head>\n<body>\n<h1>{html.escape(title)}</h1>\n<p>{intro}</p>\n"
            f"<h2>Results</h2>\n{table}\n{body}\n<script>{CHECK_IMAGES}</script>\n</body></html>\n")


def write_page(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path
