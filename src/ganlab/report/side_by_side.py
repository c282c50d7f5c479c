"""The report's side-by-side row: every variant's fixed-noise grid at the same epoch, one slider
for all of them, one row per training seed. Plain HTML and a few lines of script, no network.

The grids are copied beside the page (reports/figures/epochs/<run>/) so that the page stays
self-contained: MLflow keeps a copy of reports/ with the comparison run, where ../training is not.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from pathlib import Path

from ganlab.trained_run import run_name

FRAMES_DIR = "epochs"  # under the figures folder

# Shows every variant's grid at the slider's epoch; a variant that trained fewer epochs shows its
# last grid and says so. `#epoch=N` in the page's address opens the row at epoch N.
SCRIPT = """(function () {
  var slider = document.getElementById('epoch-slider'), shown = document.getElementById('epoch-shown');
  function show() {
    var epoch = Number(slider.value);
    shown.textContent = epoch;
    document.querySelectorAll('#side-by-side img[data-frames]').forEach(function (img) {
      var frames = JSON.parse(img.getAttribute('data-frames')), i = Math.min(epoch, frames.length) - 1;
      img.src = frames[i];
      img.setAttribute('data-epoch', i + 1);
      img.nextElementSibling.textContent = 'epoch ' + (i + 1) + (epoch > frames.length ? ' (its last)' : '');
    });
  }
  slider.addEventListener('input', show);
  var asked = /epoch=(\\d+)/.exec(window.location.hash);
  if (asked) { slider.value = asked[1]; }
  show();
  // Where the row lies on the page, for a screenshot of it (scripts/screenshot_row.py).
  window.addEventListener('load', function () {
    document.querySelectorAll('#side-by-side, #side-by-side tbody tr').forEach(function (el) {
      var r = el.getBoundingClientRect();
      el.setAttribute('data-rect', [r.left, r.top + window.scrollY, r.width, r.height].map(Math.round).join(','));
    });
  });
})();"""


def copy_frames(grids: dict[str, dict[int, list[Path]]], figures_dir: Path) -> dict[str, dict[int, list[Path]]]:
    """Every run's per-epoch grids copied to figures_dir/epochs/<run>/ (stale ones removed):
    variant -> seed -> the copies, by epoch."""
    root = figures_dir / FRAMES_DIR
    shutil.rmtree(root, ignore_errors=True)
    copies: dict[str, dict[int, list[Path]]] = {}
    for variant, by_seed in grids.items():
        for seed, frames in by_seed.items():
            folder = root / run_name(variant, seed)
            folder.mkdir(parents=True)
            copies.setdefault(variant, {})[seed] = [Path(shutil.copy2(frame, folder / frame.name)) for frame in frames]
    return copies


def html_block(frames: dict[str, dict[int, list[Path]]], page_dir: Path,
               flagged: dict[str, dict[int, str]] | None = None) -> str:
    """The slider and a table: a column per variant, a row per seed, each cell the grid at the
    slider's epoch, an unhealthy run's (flagged: variant -> seed -> status) outlined and named.
    Opens at the last epoch any variant reached."""
    flagged = flagged or {}
    seeds = sorted({seed for by_seed in frames.values() for seed in by_seed})
    last = max(len(f) for by_seed in frames.values() for f in by_seed.values())
    head = "".join(f"<th>{html.escape(variant)}</th>" for variant in frames)
    rows = []
    for seed in seeds:
        cells = []
        for variant, by_seed in frames.items():
            paths = [Path(os.path.relpath(p, page_dir)).as_posix() for p in by_seed.get(seed, [])]
            if not paths:
                cells.append("<td></td>")
                continue
            status = flagged.get(variant, {}).get(seed)
            mark = (f' class="flagged-run" data-health="{html.escape(status)}"', f'<div class="flagged">{html.escape(status)}'
                    " (left out of the means)</div>") if status else ("", "")
            cells.append(f'<td{mark[0]}><img src="{html.escape(paths[-1])}" alt="{html.escape(run_name(variant, seed))}" '
                         f"data-frames='{html.escape(json.dumps(paths), quote=True)}' data-epoch=\"{len(paths)}\">"
                         f'<div class="epoch-caption">epoch {len(paths)}</div>{mark[1]}</td>')
        rows.append(f"<tr><th>seed {seed}</th>{''.join(cells)}</tr>")
    return (f'<div id="side-by-side"><label>epoch <input type="range" id="epoch-slider" min="1" max="{last}" '
            f'value="{last}" step="1"> <output id="epoch-shown">{last}</output> of {last}</label>\n'
            f'<table class="side-by-side"><thead><tr><th></th>{head}</tr></thead>\n<tbody>\n'
            + "\n".join(rows) + f"\n</tbody></table>\n<script>{SCRIPT}</script></div>\n")

