"""A picture of the report's side-by-side row at one epoch, as a browser shows it (for the
README): headless Chromium renders reports/index.html#epoch=N, the page says where the row lies,
and the screenshot is cut to it.

    python scripts/screenshot_row.py [--epoch N] [--seeds K] [--out docs/side_by_side.png] [--width 1100]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image


def browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        sys.exit("error: no Chromium here: `make browser` installs Debian's")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", default="reports/index.html")
    parser.add_argument("--epoch", type=int, default=None, help="default: the last")
    parser.add_argument("--out", default="docs/side_by_side.png")
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--seeds", type=int, default=1, help="rows (training seeds) to keep; default 1")
    args = parser.parse_args()
    page = Path(args.page).resolve()
    if not page.is_file():
        sys.exit(f"error: {page} does not exist: run `make repro` first")
    url = page.as_uri() + (f"#epoch={args.epoch}" if args.epoch else "")
    with tempfile.TemporaryDirectory() as tmp:
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files", "--hide-scrollbars",
                 "--virtual-time-budget=10000", f"--user-data-dir={tmp}/profile", f"--window-size={args.width},12000"]
        dom = subprocess.run([browser(), *flags, "--dump-dom", url], capture_output=True, text=True, timeout=180)
        rect = re.search(r'id="side-by-side"[^>]*data-rect="(\d+),(\d+),(\d+),(\d+)"', dom.stdout)
        if rect is None:
            sys.exit(f"error: {page} has no side-by-side row (rebuild the report: dvc repro report)")
        left, top, width, height = map(int, rect.groups())
        rows = [tuple(map(int, r)) for r in re.findall(r'<tr data-rect="(\d+),(\d+),(\d+),(\d+)"', dom.stdout)]
        if args.seeds < len(rows):  # down to the bottom of the last row kept
            height = rows[args.seeds - 1][1] + rows[args.seeds - 1][3] - top
        shot = Path(tmp) / "page.png"
        subprocess.run([browser(), *flags, f"--screenshot={shot}", url], capture_output=True, timeout=180, check=True)
        picture = Image.open(shot).convert("RGB").crop((left, top, left + width, top + height))
        picture.quantize(64).save(args.out, optimize=True)  # grey grids and a blue slider: 64 colours
    print(f"wrote {args.out} ({width}x{height})")


if __name__ == "__main__":
    main()
